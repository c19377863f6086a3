package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Caption sources.
const (
	CaptionUpload        = "upload"
	CaptionTranscription = "transcription"
)

// Caption is one caption track of a video. Text, the cues' plain text, is only read where
// needed: Captions leaves it empty.
type Caption struct {
	VideoID   string
	Language  string
	Label     string
	Source    string // CaptionUpload or CaptionTranscription
	ObjectKey string
	Text      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Captions lists a video's tracks by language, without their text.
func (s *Store) Captions(ctx context.Context, videoID string) ([]Caption, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT video_id, language, label, source, object_key, created_at, updated_at
		FROM captions WHERE video_id = $1 ORDER BY language`, videoID)
	return scanAll(rows, err, func(row pgx.Row) (Caption, error) {
		var c Caption
		err := row.Scan(&c.VideoID, &c.Language, &c.Label, &c.Source, &c.ObjectKey, &c.CreatedAt, &c.UpdatedAt)
		return c, err
	})
}

// Caption finds one track, text included.
func (s *Store) Caption(ctx context.Context, videoID, language string) (Caption, error) {
	var c Caption
	err := s.pool.QueryRow(ctx, `
		SELECT video_id, language, label, source, object_key, text, created_at, updated_at
		FROM captions WHERE video_id = $1 AND language = $2`, videoID, language).
		Scan(&c.VideoID, &c.Language, &c.Label, &c.Source, &c.ObjectKey, &c.Text, &c.CreatedAt, &c.UpdatedAt)
	return c, notFound(err)
}

// PutCaption creates or replaces the track of c's language and refreshes the video's
// caption_text; ErrNotFound when the video is gone. It returns the track as stored.
func (s *Store) PutCaption(ctx context.Context, c Caption) (Caption, error) {
	out, _, err := s.putCaption(ctx, c, true)
	return out, err
}

// AddCaption creates the track of c's language unless the video already has one, which it
// leaves alone (added is then false): automatic captions never replace the owner's.
func (s *Store) AddCaption(ctx context.Context, c Caption) (added bool, err error) {
	_, added, err = s.putCaption(ctx, c, false)
	return added, err
}

func (s *Store) putCaption(ctx context.Context, c Caption, replace bool) (Caption, bool, error) {
	stored := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockVideo(ctx, tx, c.VideoID); err != nil {
			return err
		}
		conflict := `DO UPDATE SET label = EXCLUDED.label, source = EXCLUDED.source,
			object_key = EXCLUDED.object_key, text = EXCLUDED.text, updated_at = now()`
		if !replace {
			conflict = `DO NOTHING`
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO captions (video_id, language, label, source, object_key, text)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (video_id, language) `+conflict+`
			RETURNING created_at, updated_at`,
			c.VideoID, c.Language, c.Label, c.Source, c.ObjectKey, c.Text).Scan(&c.CreatedAt, &c.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // DO NOTHING: the language has a track already
		}
		if err != nil {
			return err
		}
		stored = true
		return refreshCaptionText(ctx, tx, c.VideoID)
	})
	if err != nil {
		return c, false, fmt.Errorf("store captions %s of video %s: %w", c.Language, c.VideoID, err)
	}
	return c, stored, nil
}

// DeleteCaption deletes one track and refreshes the video's caption_text; ErrNotFound when
// there is no such track.
func (s *Store) DeleteCaption(ctx context.Context, videoID, language string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockVideo(ctx, tx, videoID); err != nil {
			return err
		}
		if err := changedOne(tx.Exec(ctx, `DELETE FROM captions WHERE video_id = $1 AND language = $2`, videoID, language)); err != nil {
			return err
		}
		return refreshCaptionText(ctx, tx, videoID)
	})
}

// lockVideo takes the video row's lock for the rest of the transaction. Changes to one video's
// tracks then take turns, so each recomputes caption_text from every committed track: two
// languages uploaded at once cannot each miss the other's text.
func lockVideo(ctx context.Context, tx pgx.Tx, videoID string) error {
	var one int
	return notFound(tx.QueryRow(ctx, `SELECT 1 FROM videos WHERE id = $1 FOR UPDATE`, videoID).Scan(&one))
}

func refreshCaptionText(ctx context.Context, tx pgx.Tx, videoID string) error {
	_, err := tx.Exec(ctx, `
		UPDATE videos SET caption_text = coalesce(
			(SELECT string_agg(text, E'\n' ORDER BY language) FROM captions WHERE video_id = $1), '')
		WHERE id = $1`, videoID)
	return err
}
