package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Video statuses.
const (
	StatusUploading  = "uploading"
	StatusQueued     = "queued"
	StatusProcessing = "processing"
	StatusReady      = "ready"
	StatusFailed     = "failed"
	StatusRemoved    = "removed"
)

// Visibilities.
const (
	Public   = "public"
	Unlisted = "unlisted"
	Private  = "private"
)

// Video is one video row with its owner's public fields.
type Video struct {
	ID              string
	OwnerID         int64
	OwnerUsername   string
	OwnerName       string
	OwnerAvatar     string
	Title           string
	Description     string
	Tags            []string
	Visibility      string
	Status          string
	FailureReason   string
	DurationSeconds *float64
	Rungs           []string
	PosterKey       string
	StoryboardKey   string
	JobID           string
	SourceFilename  string
	SourceSize      int64
	UploadID        string // the multipart upload; "" for a single PUT
	PartSize        int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	PublishedAt     *time.Time
	Views           int64
	Likes           int64
	Dislikes        int64
	Comments        int64
	Moderation      string // ModerationOK, ModerationHeld or ModerationRestricted
	HeldReason      string
	HeldAt          *time.Time
	ContentWarnings []string
	// PlayableAt is when the farm first reported the video's master playlist written.
	PlayableAt *time.Time
	// Screening is what the automated checks concluded: ScreeningPending until the publisher
	// ran them, then ScreeningPassed or ScreeningHeld.
	Screening string
	// ScreenedChunks and ScreenedSeconds say how much of a video in flight has been screened
	// (its first chunks, and where they end on the timeline): others watch it up to there.
	ScreenedChunks  int
	ScreenedSeconds float64
	// ScreenedAt is when screening first passed: when others could start watching.
	ScreenedAt *time.Time
	// SubmitDueAt is set while the video's job is yet to be submitted to the farm (the
	// outbox): when it may next be tried.
	SubmitDueAt *time.Time
}

// Moderation states (removal is StatusRemoved).
const (
	ModerationOK         = "ok"
	ModerationHeld       = "held"
	ModerationRestricted = "restricted"
)

// Hidden reports whether only the owner and moderators may see the video: held for review or
// removed.
func (v Video) Hidden() bool { return v.Moderation == ModerationHeld || v.Status == StatusRemoved }

// InFlight reports whether the farm is (or should be) working on the video.
func (v Video) InFlight() bool { return v.Status == StatusQueued || v.Status == StatusProcessing }

// AwaitsJob reports whether the video is queued but the farm has not taken its job yet.
func (v Video) AwaitsJob() bool { return v.Status == StatusQueued && v.JobID == "" }

const videoColumns = `v.id, v.owner_id, u.username, u.display_name, u.avatar_url, v.title, v.description,
	v.tags, v.visibility, v.status, v.failure_reason, v.duration_seconds, v.rungs, v.poster_key,
	v.storyboard_key, v.job_id, v.source_filename, v.source_size, v.upload_id, v.part_size,
	v.created_at, v.updated_at, v.published_at, v.view_count, v.like_count, v.dislike_count,
	v.comment_count, v.moderation, v.held_reason, v.held_at, v.content_warnings, v.playable_at,
	v.submit_due_at, v.screening, v.screened_chunks, v.screened_seconds, v.screened_at`

const videoFrom = ` FROM videos v JOIN users u ON u.id = v.owner_id `

// videoDest is where a row of videoColumns scans into.
func videoDest(v *Video) []any {
	return []any{&v.ID, &v.OwnerID, &v.OwnerUsername, &v.OwnerName, &v.OwnerAvatar, &v.Title,
		&v.Description, &v.Tags, &v.Visibility, &v.Status, &v.FailureReason, &v.DurationSeconds,
		&v.Rungs, &v.PosterKey, &v.StoryboardKey, &v.JobID, &v.SourceFilename, &v.SourceSize,
		&v.UploadID, &v.PartSize, &v.CreatedAt, &v.UpdatedAt, &v.PublishedAt, &v.Views, &v.Likes,
		&v.Dislikes, &v.Comments, &v.Moderation, &v.HeldReason, &v.HeldAt, &v.ContentWarnings, &v.PlayableAt,
		&v.SubmitDueAt, &v.Screening, &v.ScreenedChunks, &v.ScreenedSeconds, &v.ScreenedAt}
}

func scanVideo(row pgx.Row) (Video, error) {
	var v Video
	return v, notFound(row.Scan(videoDest(&v)...))
}

// NewVideo is what an upload declares.
type NewVideo struct {
	ID             string
	OwnerID        int64
	Title          string
	Description    string
	Tags           []string
	Visibility     string
	SourceFilename string
	SourceSize     int64
	UploadID       string
	PartSize       int64
	// HeldReason, when set, creates the video held for review (the term policy).
	HeldReason string
}

// CreateVideo inserts a video in status uploading; ErrConflict if the id is taken.
func (s *Store) CreateVideo(ctx context.Context, n NewVideo) error {
	if n.Tags == nil {
		n.Tags = []string{}
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO videos (id, owner_id, title, description, tags, visibility, source_filename,
			source_size, upload_id, part_size, moderation, held_reason, held_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			CASE WHEN $11 <> '' THEN 'held' ELSE 'ok' END, $11, CASE WHEN $11 <> '' THEN now() END)`,
		n.ID, n.OwnerID, n.Title, n.Description, n.Tags, n.Visibility, n.SourceFilename,
		n.SourceSize, n.UploadID, n.PartSize, n.HeldReason)
	if isUniqueViolation(err) {
		return fmt.Errorf("video %q: %w", n.ID, ErrConflict)
	}
	return err
}

// Video finds a video by id.
func (s *Store) Video(ctx context.Context, id string) (Video, error) {
	return scanVideo(s.pool.QueryRow(ctx, `SELECT `+videoColumns+videoFrom+`WHERE v.id = $1`, id))
}

// VideosByID reads the videos of ids that exist, in one round trip, keyed by id.
func (s *Store) VideosByID(ctx context.Context, ids []string) (map[string]Video, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+videoColumns+videoFrom+`WHERE v.id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Video{}
	for rows.Next() {
		var v Video
		if err := rows.Scan(videoDest(&v)...); err != nil {
			return nil, err
		}
		out[v.ID] = v
	}
	return out, rows.Err()
}

// Watch is what the watch page shows besides the video: the viewer's rating and the caption
// tracks (language, label and source only).
type Watch struct {
	Rating   int // RatingLike, RatingDislike or RatingNone
	Captions []Caption
}

// VideoToWatch reads a video with viewer's rating (viewer 0: anonymous) and its caption tracks
// in one round trip: the watch page's request is the most frequent after the home page.
func (s *Store) VideoToWatch(ctx context.Context, id string, viewer int64) (Video, Watch, error) {
	var v Video
	var w Watch
	var langs, labels, sources []string
	err := s.pool.QueryRow(ctx, `SELECT `+videoColumns+`,
			coalesce((SELECT value FROM likes WHERE user_id = $2 AND video_id = v.id), 0),
			coalesce(c.langs, '{}'), coalesce(c.labels, '{}'), coalesce(c.sources, '{}')`+videoFrom+`
		LEFT JOIN LATERAL (SELECT array_agg(language ORDER BY language) AS langs,
				array_agg(label ORDER BY language) AS labels, array_agg(source ORDER BY language) AS sources
			FROM captions WHERE video_id = v.id) c ON true
		WHERE v.id = $1`, id, viewer).Scan(append(videoDest(&v), &w.Rating, &langs, &labels, &sources)...)
	if err != nil {
		return v, w, notFound(err)
	}
	for i, lang := range langs {
		w.Captions = append(w.Captions, Caption{VideoID: v.ID, Language: lang, Label: labels[i], Source: sources[i]})
	}
	return v, w, nil
}

// Cursor is a position in a newest-first listing: the sort time and id of the last item seen.
type Cursor struct {
	Time time.Time
	ID   string
}

// ListPublic lists public ready videos by publication, newest first, after the cursor (nil for
// the first page), leaving out videos held for review. It reads the videos_public_newest index
// in order.
func (s *Store) ListPublic(ctx context.Context, after *Cursor, limit int) ([]Video, error) {
	if after == nil {
		return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
			WHERE v.visibility = 'public' AND v.status = 'ready' AND v.moderation <> 'held'
			ORDER BY v.published_at DESC, v.id DESC LIMIT $1`, limit)
	}
	return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
		WHERE v.visibility = 'public' AND v.status = 'ready' AND v.moderation <> 'held'
			AND (v.published_at, v.id) < ($2, $3)
		ORDER BY v.published_at DESC, v.id DESC LIMIT $1`, limit, after.Time, after.ID)
}

// ListByOwner lists every video of one owner by creation, newest first.
func (s *Store) ListByOwner(ctx context.Context, ownerID int64, after *Cursor, limit int) ([]Video, error) {
	if after == nil {
		return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
			WHERE v.owner_id = $2 ORDER BY v.created_at DESC, v.id DESC LIMIT $1`, limit, ownerID)
	}
	return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
		WHERE v.owner_id = $2 AND (v.created_at, v.id) < ($3, $4)
		ORDER BY v.created_at DESC, v.id DESC LIMIT $1`, limit, ownerID, after.Time, after.ID)
}

// InFlight lists the videos whose job the farm has (queued or processing), at most limit of
// them in order of id after the id after ("" from the first). Those still waiting for their
// job to be submitted are the outbox's (ClaimSubmission).
func (s *Store) InFlight(ctx context.Context, after string, limit int) ([]Video, error) {
	return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
		WHERE v.status IN ('queued', 'processing') AND v.job_id <> '' AND v.id > $1 ORDER BY v.id LIMIT $2`, after, limit)
}

func (s *Store) queryVideos(ctx context.Context, sql string, args ...any) ([]Video, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	return scanAll(rows, err, scanVideo)
}

// VideoPatch is an owner's edit; nil fields stay as they are.
type VideoPatch struct {
	Title       *string
	Description *string
	Tags        *[]string
	Visibility  *string
}

// UpdateVideo applies an edit and returns the video after it.
func (s *Store) UpdateVideo(ctx context.Context, id string, p VideoPatch) (Video, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET
			title = coalesce($2, title),
			description = coalesce($3, description),
			tags = coalesce($4, tags),
			visibility = coalesce($5, visibility),
			updated_at = now()
		WHERE id = $1`, id, p.Title, p.Description, p.Tags, p.Visibility)
	if err := changedOne(tag, err); err != nil {
		return Video{}, err
	}
	return s.Video(ctx, id)
}

// DeleteVideo deletes a video row and, by cascade, its comments, likes and views.
func (s *Store) DeleteVideo(ctx context.Context, id string) error {
	return changedOne(s.pool.Exec(ctx, `DELETE FROM videos WHERE id = $1`, id))
}

// MarkUploaded queues a video whose upload is complete and records in the same UPDATE that
// its job is due: the outbox, written before anyone calls the farm, so that no failure
// between the two leaves the video without a job. The caller tries the submission at once;
// the outbox's next try (ClaimSubmission) comes firstRetry later. It reports false when the
// video had already left uploading (a concurrent complete won).
func (s *Store) MarkUploaded(ctx context.Context, id string, firstRetry time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET status = 'queued', upload_id = '', submit_attempts = 1,
			submit_due_at = now() + make_interval(secs => $2), updated_at = now()
		WHERE id = $1 AND status = 'uploading'`, id, firstRetry.Seconds())
	return tag.RowsAffected() == 1, err
}

// ClaimSubmission takes the video whose job submission is the most overdue, if any, and puts
// its next try off by a backoff that doubles with every try, from minWait up to maxWait. The
// claim is what spreads the outbox over replicas: a video one of them is trying is not due
// for the others. ok is false when no submission is due.
func (s *Store) ClaimSubmission(ctx context.Context, minWait, maxWait time.Duration) (id string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
		UPDATE videos SET submit_attempts = submit_attempts + 1,
			submit_due_at = now() + make_interval(secs => least($1 * power(2, submit_attempts), $2))
		WHERE id = (SELECT id FROM videos
			WHERE submit_due_at <= now() AND status = 'queued' AND job_id = ''
			ORDER BY submit_due_at LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id`, minWait.Seconds(), maxWait.Seconds()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// JobSpec is what the API asked of a video's job.
type JobSpec struct {
	// Segments is the job's segment container, "fmp4" or "ts".
	Segments string
	// AV1 says the job encodes AV1 rungs itself (the policy "all"), which records the video's
	// AV1 request as made and sent.
	AV1 bool
}

// RecordJob records the job the farm made for a video whose submission was due, and what it
// was asked, which closes the submission. It reports whether the video holds that job now:
// false when the video no longer waits for it (deleted, removed or failed meanwhile) or holds
// another.
func (s *Store) RecordJob(ctx context.Context, id, jobID string, spec JobSpec) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET job_id = $2, submit_due_at = NULL, updated_at = now(), segments = $3,
			av1_requested_at = CASE WHEN $4 THEN coalesce(av1_requested_at, now()) ELSE av1_requested_at END,
			av1_sent_at = CASE WHEN $4 THEN coalesce(av1_sent_at, now()) ELSE av1_sent_at END
		WHERE id = $1 AND status IN ('queued', 'processing') AND job_id IN ('', $2)`, id, jobID, spec.Segments, spec.AV1)
	return tag.RowsAffected() == 1, err
}

// Published is what a finished job produced, and what the automated checks concluded.
type Published struct {
	DurationSeconds float64
	Rungs           []string
	PosterKey       string
	StoryboardKey   string
	// HeldReason, when set, holds the video for review as it is published.
	HeldReason string
	// ContentWarnings restrict the video: viewers confirm them before playback.
	ContentWarnings []string
}

// MarkReady publishes a video whose job finished, with the automated checks' verdict: held
// (and held for review) when p has a hold reason or a chunk was held while it transcoded,
// passed otherwise, in the one UPDATE, so no
// reader ever sees a ready video whose screening is still pending. Only a video still in flight changes, so a
// late or repeated notice never resurrects a deleted or failed video; it reports whether the
// video changed.
func (s *Store) MarkReady(ctx context.Context, id string, p Published) (bool, error) {
	if p.Rungs == nil {
		p.Rungs = []string{}
	}
	if p.ContentWarnings == nil {
		p.ContentWarnings = []string{}
	}
	// hold: the checks found something and no moderator has reviewed the video meanwhile (a
	// moderator may pass a video held while it transcoded; the same checks must not hold it
	// again).
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET status = 'ready', duration_seconds = $2, rungs = $3, poster_key = $4,
			storyboard_key = $5, failure_reason = '', updated_at = now(), published_at = now(),
			moderation = CASE WHEN c.hold THEN 'held'
				WHEN cardinality($7::text[]) > 0 AND moderation = 'ok' THEN 'restricted' ELSE moderation END,
			held_reason = CASE WHEN c.hold THEN $6 ELSE held_reason END,
			held_at = CASE WHEN c.hold THEN now() ELSE held_at END,
			content_warnings = CASE WHEN cardinality($7::text[]) > 0 THEN $7 ELSE content_warnings END,
			screening = CASE WHEN c.hold OR screening = 'held' THEN 'held' ELSE 'passed' END,
			screened_at = CASE WHEN c.hold OR screening = 'held' THEN screened_at ELSE coalesce(screened_at, now()) END
		FROM (SELECT $6 <> '' AND NOT screening_reviewed AS hold FROM videos WHERE id = $1) c
		WHERE id = $1 AND status IN ('queued', 'processing')`,
		id, p.DurationSeconds, p.Rungs, p.PosterKey, p.StoryboardKey, p.HeldReason, p.ContentWarnings)
	return tag.RowsAffected() == 1, err
}

// Hold hides a video pending review, recording why; a video already held keeps its first
// reason. It reports whether the video changed.
func (s *Store) Hold(ctx context.Context, id, reason string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET moderation = 'held', held_reason = $2, held_at = now(), updated_at = now()
		WHERE id = $1 AND moderation <> 'held' AND status <> 'removed'`, id, reason)
	return tag.RowsAffected() == 1, err
}

// MarkFailed records why a video in flight could not be transcoded (or why the farm refused
// its job, which closes a due submission); it reports whether the video changed.
func (s *Store) MarkFailed(ctx context.Context, id, reason string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET status = 'failed', failure_reason = $2, submit_due_at = NULL, updated_at = now()
		WHERE id = $1 AND status IN ('queued', 'processing')`, id, reason)
	return tag.RowsAffected() == 1, err
}
