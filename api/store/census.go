package store

import (
	"context"
	"fmt"
	"time"
)

// VideoCensus is how many videos each status holds, and for each status how long its oldest
// video has been in it (since the video last changed status).
type VideoCensus struct {
	Count     map[string]int64
	OldestAge map[string]time.Duration
}

// CountVideos takes the census of the videos, for the service's metrics.
func (s *Store) CountVideos(ctx context.Context) (VideoCensus, error) {
	c := VideoCensus{Count: map[string]int64{}, OldestAge: map[string]time.Duration{}}
	rows, err := s.pool.Query(ctx, `
		SELECT status, count(*), EXTRACT(EPOCH FROM now() - min(updated_at))::float8
		FROM videos GROUP BY status`)
	if err != nil {
		return c, fmt.Errorf("count videos: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		var age float64
		if err := rows.Scan(&status, &n, &age); err != nil {
			return c, fmt.Errorf("count videos: %w", err)
		}
		c.Count[status] = n
		c.OldestAge[status] = time.Duration(age * float64(time.Second))
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count videos: %w", err)
	}
	return c, nil
}
