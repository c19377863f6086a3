package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// The top tier of the standing order (migration 00023): video_search_top indexes the documents
// of the videos whose standing is at least search_top.threshold, about a tenth of them.
const (
	// topShare is the share of the searchable videos a retiering puts above the threshold;
	// minTopShare and maxTopShare bound the share before the threshold moves again.
	topShare, minTopShare, maxTopShare = 0.10, 0.05, 0.20
	// minTopVideos is the searchable videos under which the tier is not kept up: the whole
	// document index is small enough, and a tenth of a few thousand is not 300 candidates.
	minTopVideos = 20000
	// topLock is the advisory lock that keeps two replicas from retiering at once.
	topLock = 0x73756e6f6d69 // "sunomi"
)

// RetierSearch moves the top tier's threshold back to the top tenth of the standing order when
// the share above it has left [5%, 20%] (every upload lands near the top, so the share grows),
// building the new index concurrently and swapping it in. It reports whether it moved the
// threshold; a replica that finds another retiering does nothing.
func (s *Store) RetierSearch(ctx context.Context) (bool, error) {
	return s.retierSearch(ctx, minTopVideos, false)
}

// retierSearch is RetierSearch over at least minVideos videos; force moves the threshold
// whatever the share, for tests.
func (s *Store) retierSearch(ctx context.Context, minVideos int64, force bool) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("retier search: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, topLock).Scan(&locked); err != nil {
		return false, fmt.Errorf("retier search: %w", err)
	}
	if !locked {
		return false, nil
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, topLock) }()

	var top, all int64
	// The tier is counted on the standing index, the whole by the statistics: counting a
	// million rows would cost a burst of CPU every pruning.
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM video_search WHERE standing >= t.threshold),
		(SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'video_search'::regclass) FROM search_top t`).Scan(&top, &all)
	if err != nil {
		return false, fmt.Errorf("retier search: %w", err)
	}
	share := float64(top) / float64(max(all, 1))
	if all < minVideos || !force && share >= minTopShare && share <= maxTopShare {
		if _, err := conn.Exec(ctx, `UPDATE search_top SET videos = $1`, top); err != nil {
			return false, fmt.Errorf("retier search: %w", err)
		}
		return false, nil
	}
	var threshold float64
	top = int64(topShare * float64(all))
	err = conn.QueryRow(ctx, `SELECT standing FROM video_search ORDER BY standing DESC OFFSET $1 LIMIT 1`,
		top).Scan(&threshold)
	if err != nil {
		return false, fmt.Errorf("retier search: %w", err)
	}
	// A literal, not a parameter: DDL takes none. A float64 formatted shortest reads back
	// exactly, so the index's predicate and the threshold searches use are the same number.
	literal := strconv.FormatFloat(threshold, 'g', -1, 64) + "::float8"
	for _, sql := range []string{
		// Left behind by a retiering that was stopped, invalid: CONCURRENTLY leaves it so.
		`DROP INDEX IF EXISTS video_search_top_next`,
		`CREATE INDEX CONCURRENTLY video_search_top_next ON video_search USING gin (document) WHERE standing >= ` + literal,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return false, fmt.Errorf("retier search: %w", err)
		}
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`DROP INDEX video_search_top`,
			`ALTER INDEX video_search_top_next RENAME TO video_search_top`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE search_top SET threshold = `+literal+`, videos = $1`, top)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("retier search: %w", err)
	}
	return true, nil
}
