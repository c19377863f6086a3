package api

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
)

// jobCounter is the farm's client as the API uses it, counting the jobs the API asks about.
type jobCounter struct {
	Farm
	asked atomic.Int64
}

func (c *jobCounter) Job(ctx context.Context, id string) (wire.Job, error) {
	c.asked.Add(1)
	return c.Farm.Job(ctx, id)
}

// TestReconcileStopsWhenFarmUnreachable: with the farm down, one round of reconciliation asks
// about one video, not every video in flight. It asked about each before, so an API with
// twenty thousand videos processing when its farm went away spent a core on refused
// connections, a thousand a second, until the farm came back.
func TestReconcileStopsWhenFarmUnreachable(t *testing.T) {
	counter := &jobCounter{}
	// The loop's own rounds wait an hour: the test runs the round itself.
	e := newEnv(t, withFarmWrapped(func(f Farm) Farm { counter.Farm = f; return counter }),
		withConfig(func(c *Config) { c.SyncInterval = time.Hour }))
	owner := e.user("owner")
	const inFlight = 50
	if _, err := e.db.Pool().Exec(t.Context(), `
		INSERT INTO videos (id, owner_id, title, source_size, status, job_id)
		SELECT 'in-flight-' || i, $1, 'processing ' || i, 1, 'processing', 'job-' || i FROM generate_series(1, $2) i`,
		owner.User.Id, inFlight); err != nil {
		t.Fatal(err)
	}
	err := e.srv.reconcile(t.Context())
	if !errors.Is(err, client.ErrNoCoordinator) {
		t.Fatalf("reconcile with the farm down: %v, want %v", err, client.ErrNoCoordinator)
	}
	if asked := counter.asked.Load(); asked != 1 {
		t.Fatalf("reconcile with the farm down asked about %d of %d videos in flight, want 1", asked, inFlight)
	}
}
