package store

// Upload quotas and the clean-up of uploads (migration 00011): grants that count what each
// user uploads, and the garbage list of objects to delete once due.

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// UploadQuota bounds what one user may upload.
type UploadQuota struct {
	BytesPerDay int64 // declared bytes over any 24 hours
	Concurrent  int   // uploads started and not yet completed
}

// QuotaError says which quota an upload would exceed.
type QuotaError struct {
	// Concurrent is true for the concurrent-uploads quota, false for bytes per day.
	Concurrent bool
	Used       int64 // uploads in progress, or bytes granted in the last 24 hours
	Limit      int64
	// Frees is when the oldest grant of the last 24 hours leaves the window (bytes only).
	Frees time.Time
}

func (e *QuotaError) Error() string {
	if e.Concurrent {
		return "too many uploads in progress"
	}
	return "daily upload quota exceeded"
}

// quotaWindow is the period the byte quota covers.
const quotaWindow = 24 * time.Hour

// GrantUpload admits the upload of video videoID (already created, uploading) by userID of
// bytes at now under quota, or returns a *QuotaError. A lock on the user's row serialises the
// grants of one user, so concurrent uploads cannot all pass a check that only one may pass.
func (s *Store) GrantUpload(ctx context.Context, videoID string, userID, bytes int64, now time.Time, q UploadQuota) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return err
		}
		var inProgress, used int64
		var oldest *time.Time
		err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM upload_grants g JOIN videos v ON v.id = g.video_id
					WHERE g.user_id = $1 AND v.status = 'uploading'),
				coalesce(sum(bytes), 0), min(created_at)
			FROM upload_grants WHERE user_id = $1 AND created_at > $2`,
			userID, now.Add(-quotaWindow)).Scan(&inProgress, &used, &oldest)
		if err != nil {
			return err
		}
		if inProgress >= int64(q.Concurrent) {
			return &QuotaError{Concurrent: true, Used: inProgress, Limit: int64(q.Concurrent)}
		}
		if used+bytes > q.BytesPerDay {
			qe := &QuotaError{Used: used, Limit: q.BytesPerDay}
			if oldest != nil {
				qe.Frees = oldest.Add(quotaWindow)
			}
			return qe
		}
		_, err = tx.Exec(ctx, `INSERT INTO upload_grants (video_id, user_id, bytes, created_at) VALUES ($1, $2, $3, $4)`,
			videoID, userID, bytes, now)
		return err
	})
}

// LockUpload takes a PostgreSQL advisory lock on completing the upload of video id, held on
// one pooled connection until unlock, so that completions of one video run one at a time on
// all replicas.
func (s *Store) LockUpload(ctx context.Context, id string) (unlock func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	const key = `hashtextextended('upload-complete:' || $1, 0)`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`, id); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`, id); err != nil {
			// A session lock outlives a released connection: close it, and the lock with it.
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
	}, nil
}

// DiscardUpload deletes a video that is still uploading (one refused by its quota); false when
// it is not there or no longer uploading.
func (s *Store) DiscardUpload(ctx context.Context, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM videos WHERE id = $1 AND status = 'uploading'`, id)
	return tag.RowsAffected() == 1, err
}

// Garbage is an object to delete once Due has passed; a non-empty UploadID names a multipart
// upload of Key to abort.
type Garbage struct {
	ID       int64
	Key      string
	UploadID string
	Due      time.Time
}

// AddGarbage lists objects to delete once due.
func (s *Store) AddGarbage(ctx context.Context, items ...Garbage) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return addGarbage(ctx, tx, items) })
}

func addGarbage(ctx context.Context, tx pgx.Tx, items []Garbage) error {
	for _, g := range items {
		if _, err := tx.Exec(ctx, `INSERT INTO blob_garbage (key, upload_id, due_at) VALUES ($1, $2, $3)`,
			g.Key, g.UploadID, g.Due); err != nil {
			return err
		}
	}
	return nil
}

// ExpiredUpload is a video deleted because its upload was not completed in time.
type ExpiredUpload struct {
	ID       string
	UploadID string // the multipart upload, or ""
}

// ExpireUploads deletes up to limit videos still uploading that were created before cutoff.
// Each deleted video's objects, as garbage(video) lists them, join the garbage list in the
// same transaction: a replica that dies after the delete leaves them listed, never lost. Each
// video is deleted by one caller only, however many replicas sweep at once.
func (s *Store) ExpireUploads(ctx context.Context, cutoff time.Time, limit int, garbage func(ExpiredUpload) []Garbage) ([]ExpiredUpload, error) {
	var expired []ExpiredUpload
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			DELETE FROM videos WHERE id IN (
				SELECT id FROM videos WHERE status = 'uploading' AND created_at < $1
				ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING id, upload_id`, cutoff, limit)
		if err != nil {
			return err
		}
		expired, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ExpiredUpload])
		if err != nil {
			return err
		}
		for _, e := range expired {
			if err := addGarbage(ctx, tx, garbage(e)); err != nil {
				return err
			}
		}
		return nil
	})
	return expired, err
}

// ClaimGarbage returns up to limit items due at now, each put off until now+lease so other
// replicas leave it alone while the caller deletes it; an item the caller fails to delete (or
// drop) comes due again then.
func (s *Store) ClaimGarbage(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Garbage, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE blob_garbage SET due_at = $2
		WHERE id IN (SELECT id FROM blob_garbage WHERE due_at <= $1
			ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING id, key, upload_id, due_at`, now, now.Add(lease), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Garbage])
}

// DropGarbage removes an item whose object is deleted.
func (s *Store) DropGarbage(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM blob_garbage WHERE id = $1`, id)
	return err
}
