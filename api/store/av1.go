package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// AV1Request is a video whose AV1 rungs the API asks of the farm.
type AV1Request struct {
	VideoID string
	JobID   string
}

// RequestPopularAV1 records the AV1 request of up to limit ready fMP4 videos with at least
// minViews views that have none yet, most viewed first, due to be sent at once, and returns
// them. The UPDATE sets the request only where it is unset, so each video is returned once,
// by one caller, across replicas and restarts.
func (s *Store) RequestPopularAV1(ctx context.Context, minViews int64, limit int) ([]AV1Request, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE videos SET av1_requested_at = now(), av1_send_due_at = now()
		WHERE id IN (SELECT id FROM videos
				WHERE status = 'ready' AND segments = 'fmp4' AND av1_requested_at IS NULL AND view_count >= $1
				ORDER BY view_count DESC LIMIT $2 FOR UPDATE SKIP LOCKED)
			AND av1_requested_at IS NULL
		RETURNING id, job_id`, minViews, limit)
	return scanAll(rows, err, scanAV1Request)
}

// ClaimAV1Sends claims up to limit recorded AV1 requests that are due to be sent, oldest
// first, for lease: no other caller gets them until the lease ends, and one whose sending
// failed (or whose caller died) is due again then.
func (s *Store) ClaimAV1Sends(ctx context.Context, lease time.Duration, limit int) ([]AV1Request, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE videos SET av1_send_due_at = now() + $1::interval
		WHERE id IN (SELECT id FROM videos WHERE av1_send_due_at <= now()
				ORDER BY av1_send_due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			AND av1_send_due_at <= now()
		RETURNING id, job_id`, lease, limit)
	return scanAll(rows, err, scanAV1Request)
}

// MarkAV1Sent records that the farm answered the video's AV1 request (took or refused it),
// which is then due no more.
func (s *Store) MarkAV1Sent(ctx context.Context, videoID string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE videos SET av1_sent_at = now(), av1_send_due_at = NULL WHERE id = $1 AND av1_sent_at IS NULL`, videoID)
	return err
}

func scanAV1Request(row pgx.Row) (AV1Request, error) {
	var r AV1Request
	err := row.Scan(&r.VideoID, &r.JobID)
	return r, err
}

// AV1Sent reports whether the farm took an AV1 request of the video (at submission or since),
// so that an AV1 job may still be encoding for it.
func (s *Store) AV1Sent(ctx context.Context, videoID string) (bool, error) {
	var sent bool
	err := s.pool.QueryRow(ctx, `SELECT av1_sent_at IS NOT NULL FROM videos WHERE id = $1`, videoID).Scan(&sent)
	return sent, notFound(err)
}
