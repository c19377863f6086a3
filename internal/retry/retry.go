// Package retry holds the backoff that clients of the coordinator share.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields exponentially growing waits with ±20% jitter, so that many
// clients do not retry in step.
type Backoff struct{ min, max, cur time.Duration }

// NewBackoff starts at min and doubles up to max.
func NewBackoff(min, max time.Duration) *Backoff { return &Backoff{min: min, max: max} }

// Next returns the next wait.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return time.Duration(float64(b.cur) * (0.8 + 0.4*rand.Float64()))
}

// Reset starts over from min.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx is done, reporting whether the wait ran out.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
