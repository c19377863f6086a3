package api

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pruneInterval is how often each replica deletes the rows that have outlived their use.
// Every replica does it: the statements are idempotent and cheap when there is nothing to do,
// and no replica has to be elected for it.
const pruneInterval = 10 * time.Minute

// pruneLoop prunes at start and then every pruneInterval until ctx ends.
func (s *Server) pruneLoop(ctx context.Context) {
	if err := s.prune(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("prune expired rows", "error", err)
	}
	s.every(ctx, pruneInterval, "prune expired rows", s.prune)
}

// prune keeps the tables that grow with traffic bounded: rate-limit buckets whose window has
// ended, and views older than the dedup window (rolled up into daily counts first).
func (s *Server) prune(ctx context.Context) error {
	var errs []error
	hits, err := s.db.PruneHits(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("prune rate limits: %w", err))
	}
	views, err := s.db.RollUpViews(ctx, s.now().Add(-viewWindow))
	if err != nil {
		errs = append(errs, fmt.Errorf("roll up views: %w", err))
	}
	sessions, err := s.db.PruneSessions(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("prune sessions: %w", err))
	}
	// Not a pruning, but as periodic: keep search's top tier (store.RetierSearch) a tenth.
	retiered, err := s.db.RetierSearch(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	s.log.Debug("pruned expired rows", "rate_limits", hits, "views", views, "sessions", sessions, "search_retiered", retiered)
	return errors.Join(errs...)
}
