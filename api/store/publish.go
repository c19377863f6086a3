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

// MarkProcessing moves a queued video to processing and records when the farm first reported
// it playable (playableAt, nil while it is not): the first report is kept. It writes only
// when something changes, so the frequent progress reports of a job cost a read each.
func (s *Store) MarkProcessing(ctx context.Context, id string, playableAt *time.Time) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE videos SET status = 'processing', playable_at = coalesce(playable_at, $2), updated_at = now()
		WHERE id = $1 AND status IN ('queued', 'processing')
			AND (status = 'queued' OR (playable_at IS NULL AND $2::timestamptz IS NOT NULL))`, id, playableAt)
	return err
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
// moderator who approves or restricts it has seen it, so its media may be served to others.
// A video still pending keeps waiting for the automated checks.
func passHeldScreening(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, `UPDATE videos SET screening = 'passed' WHERE id = $1 AND screening = 'held'`, id)
	return err
}
