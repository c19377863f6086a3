package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hit counts one event against bucket in fixed windows of length window and reports whether
// it is within limit; when it is not, retryAfter is how long until the window ends. The counter
// lives in PostgreSQL so that every API replica enforces the same limit.
func (s *Store) Hit(ctx context.Context, bucket string, window time.Duration, limit int) (ok bool, retryAfter time.Duration, err error) {
	var hits int
	var windowStart, now time.Time
	err = s.pool.QueryRow(ctx, `
		INSERT INTO rate_limits AS r (bucket, window_start, hits, window_length) VALUES ($1, now(), 1, $2)
		ON CONFLICT (bucket) DO UPDATE SET
			hits = CASE WHEN r.window_start <= now() - $2::interval THEN 1 ELSE r.hits + 1 END,
			window_start = CASE WHEN r.window_start <= now() - $2::interval THEN now() ELSE r.window_start END,
			window_length = $2
		RETURNING hits, window_start, now()`, bucket, window).Scan(&hits, &windowStart, &now)
	if err != nil {
		return false, 0, err
	}
	if hits <= limit {
		return true, 0, nil
	}
	return false, windowStart.Add(window).Sub(now), nil
}

// ResetHits forgets a bucket (a successful login clears its account's failures).
func (s *Store) ResetHits(ctx context.Context, bucket string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM rate_limits WHERE bucket = $1`, bucket)
	return err
}

// PruneHits deletes the buckets whose window has ended, so the table holds only the clients
// of the current windows. Each row carries its own window: limits of any length share it.
func (s *Store) PruneHits(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rate_limits WHERE window_start + window_length <= now()`)
	return tag.RowsAffected(), err
}

// Over reports, without counting, whether bucket's current window is already over limit.
func (s *Store) Over(ctx context.Context, bucket string, window time.Duration, limit int) (over bool, retryAfter time.Duration, err error) {
	var hits int
	var windowStart, now time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT hits, window_start, now() FROM rate_limits
		WHERE bucket = $1 AND window_start > now() - $2::interval`, bucket, window).Scan(&hits, &windowStart, &now)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, 0, nil
		}
		return false, 0, err
	}
	if hits < limit {
		return false, 0, nil
	}
	return true, windowStart.Add(window).Sub(now), nil
}
