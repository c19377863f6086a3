package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The writes of the publish path (api's publisher): a video's progress while its job runs, and
// the claim that lets one replica alone read, screen and publish a video whose job ended.

// Playable reports whether a player may be offered the video: once ready, and while it is
// processing from the moment the farm reported its master playlist written (PlayableAt).
func (v Video) Playable() bool {
	switch v.Status {
	case StatusReady:
		return true
	case StatusProcessing:
		return v.PlayableAt != nil
	}
	return false
}

// OwnerPlayableAt is when the owner and moderators could first watch the video: when the farm
// reported its first segments published, or, for a video published without that report (an
// audio-only job, or one older than progressive publishing), when it was published.
func (v Video) OwnerPlayableAt() *time.Time {
	if v.PlayableAt != nil {
		return v.PlayableAt
	}
	return v.PublishedAt
}

// PublicPlayableAt is when others could first watch the video: once playable and screened
// (the later of the two moments); nil while they cannot, or once it is held.
func (v Video) PublicPlayableAt() *time.Time {
	playable := v.OwnerPlayableAt()
	switch {
	case playable == nil || v.ScreenedAt == nil || !v.Screened() || !v.Playable():
		return nil
	case v.ScreenedAt.After(*playable):
		return v.ScreenedAt
	}
	return playable
}

// MarkProcessing moves a queued video to processing and records when the farm first reported
// it playable (playableAt, nil while it is not): the first report is kept. It writes only
// when something changes, so the frequent progress reports of a job cost a read each. It
// reports whether this call recorded the playable moment: of the callers that race on a
// video's first report, one alone learns it.
func (s *Store) MarkProcessing(ctx context.Context, id string, playableAt *time.Time) (bool, error) {
	var recorded bool
	err := s.pool.QueryRow(ctx, `
		UPDATE videos SET status = 'processing', playable_at = coalesce(playable_at, $2), updated_at = now()
		FROM (SELECT playable_at IS NULL AS unplayable FROM videos WHERE id = $1) was
		WHERE id = $1 AND status IN ('queued', 'processing')
			AND (status = 'queued' OR (playable_at IS NULL AND $2::timestamptz IS NOT NULL))
		RETURNING was.unplayable AND playable_at IS NOT NULL`, id, playableAt).Scan(&recorded)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return recorded, err
}

// ClaimOutcome is what ClaimPublish found.
type ClaimOutcome int

const (
	// Claimed: the caller holds the claim until it expires or is released.
	Claimed ClaimOutcome = iota
	// ClaimHeld: another caller holds an unexpired claim; the video is still in flight.
	ClaimHeld
	// NotInFlight: the video is no longer queued or processing (already published, failed or
	// deleted), so there is nothing to publish.
	NotInFlight
)

// ClaimPublish gives the caller, named by token, the right to publish a video in flight for
// ttl: taken when nobody holds it or the holder's claim has expired (a replica that died
// while publishing). Expiry is judged on the database's clock, which all replicas share.
func (s *Store) ClaimPublish(ctx context.Context, id, token string, ttl time.Duration) (ClaimOutcome, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET publish_claim = $2, publish_claim_expires = now() + $3::float8 * interval '1 second'
		WHERE id = $1 AND status IN ('queued', 'processing')
			AND (publish_claim_expires IS NULL OR publish_claim_expires <= now())`, id, token, ttl.Seconds())
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() == 1 {
		return Claimed, nil
	}
	var inFlight bool
	err = s.pool.QueryRow(ctx, `SELECT status IN ('queued', 'processing') FROM videos WHERE id = $1`, id).Scan(&inFlight)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return NotInFlight, nil
	case err != nil:
		return 0, err
	case inFlight:
		return ClaimHeld, nil
	}
	return NotInFlight, nil
}

// ReleasePublish gives up the caller's claim, if it still holds it, so that the next attempt
// need not wait for it to expire. A claim another caller took over stays theirs.
func (s *Store) ReleasePublish(ctx context.Context, id, token string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE videos SET publish_claim = '', publish_claim_expires = NULL
		WHERE id = $1 AND publish_claim = $2`, id, token)
	return err
}

// Screening states: what the automated checks concluded about a video (Video.Screening).
const (
	// ScreeningPending: not checked yet (its job has not ended). Its media are served to its
	// owner and moderators only.
	ScreeningPending = "pending"
	// ScreeningPassed: checked and found clean, or held and then approved or restricted by a
	// moderator; its media are served as its visibility says.
	ScreeningPassed = "passed"
	// ScreeningHeld: the checks held it for review (a match with a removed video, or a
	// classifier label over the hold threshold).
	ScreeningHeld = "held"
)

// Screened reports whether the video's media may be served to callers other than its owner and
// moderators (as far as screening goes; visibility and moderation still apply).
func (v Video) Screened() bool { return v.Screening == ScreeningPassed }

// passHeldScreening records a moderator's review as the screening a held video lacked: a
// moderator who approves or restricts it has seen it, so its media may be served to others,
// and the automated checks no longer hold it (a video held while it transcodes is checked
// again as more of it is screened and when its job ends). A video still pending keeps
// waiting for the automated checks.
func passHeldScreening(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, `
		UPDATE videos SET screening = 'passed', screening_reviewed = true, screened_at = coalesce(screened_at, now())
		WHERE id = $1 AND screening = 'held'`, id)
	return err
}

// ScreenedPrefix is what the checks concluded about the first chunks of a video in flight.
type ScreenedPrefix struct {
	Chunks  int
	Seconds float64
	// HeldReason, when set, holds the video for review (unless a moderator has reviewed it).
	HeldReason string
	// ContentWarnings restrict the video, as when it is published.
	ContentWarnings []string
}

// RecordScreenedPrefix records that the first p.Chunks chunks of a video in flight were
// screened: held when p has a hold reason (and no moderator has reviewed the video), else
// passed if it was pending, with others allowed to watch up to p.Seconds. The prefix only
// grows. It reports whether the video changed.
func (s *Store) RecordScreenedPrefix(ctx context.Context, id string, p ScreenedPrefix) (bool, error) {
	if p.ContentWarnings == nil {
		p.ContentWarnings = []string{}
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE videos SET updated_at = now(),
			screened_chunks = $2, screened_seconds = $3,
			moderation = CASE WHEN c.hold THEN 'held'
				WHEN cardinality($5::text[]) > 0 AND moderation = 'ok' THEN 'restricted' ELSE moderation END,
			held_reason = CASE WHEN c.hold THEN $4 ELSE held_reason END,
			held_at = CASE WHEN c.hold THEN now() ELSE held_at END,
			content_warnings = CASE WHEN cardinality($5::text[]) > 0
				THEN ARRAY(SELECT DISTINCT unnest(content_warnings || $5::text[])) ELSE content_warnings END,
			screening = CASE WHEN c.hold THEN 'held' WHEN screening = 'pending' THEN 'passed' ELSE screening END,
			screened_at = CASE WHEN NOT c.hold AND screening <> 'held' THEN coalesce(screened_at, now()) ELSE screened_at END
		FROM (SELECT $4 <> '' AND NOT screening_reviewed AS hold FROM videos WHERE id = $1) c
		WHERE id = $1 AND status IN ('queued', 'processing') AND screened_chunks < $2`,
		id, p.Chunks, p.Seconds, p.HeldReason, p.ContentWarnings)
	return tag.RowsAffected() == 1, err
}
