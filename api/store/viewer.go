package store

// What a signed-in viewer reads and changes about their own traces: their channel's bio,
// their resume positions, and which things they reported.

import (
	"context"
	"time"
)

// Bio is the user's channel description ("" when none); ErrNotFound for an unknown user.
func (s *Store) Bio(ctx context.Context, userID int64) (string, error) {
	var bio string
	err := s.pool.QueryRow(ctx, `SELECT bio FROM users WHERE id = $1`, userID).Scan(&bio)
	return bio, notFound(err)
}

// SetBio replaces the user's channel description.
func (s *Store) SetBio(ctx context.Context, userID int64, bio string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET bio = $2 WHERE id = $1`, userID, bio)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// HistoryPosition is where the user stopped watching the video and when; ErrNotFound when
// the video is not in their history.
func (s *Store) HistoryPosition(ctx context.Context, userID int64, videoID string) (position float64, at time.Time, err error) {
	err = s.pool.QueryRow(ctx, `SELECT position_seconds, updated_at FROM watch_history
		WHERE user_id = $1 AND video_id = $2`, userID, videoID).Scan(&position, &at)
	return position, at, notFound(err)
}

// ClearHistory forgets every video the user watched and where they stopped. Views stay
// counted: the views table, not the history, is what counts them.
func (s *Store) ClearHistory(ctx context.Context, userID int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM watch_history WHERE user_id = $1`, userID)
	return err
}

// ReportsOnVideo lists the reporter's reports of the video and of its comments, oldest first.
func (s *Store) ReportsOnVideo(ctx context.Context, reporterID int64, videoID string) ([]Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+reportColumns+` FROM reports
		WHERE reporter_id = $1 AND (video_id = $2 OR comment_id IN (SELECT id FROM comments WHERE video_id = $2))
		ORDER BY created_at, id`, reporterID, videoID)
	return scanAll(rows, err, scanReport)
}
