package cluster

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// brokenStore fails every call and counts them: storage that is down.
type brokenStore struct{ calls atomic.Int64 }

var _ storage.Store = (*brokenStore)(nil)

var errStorageDown = errors.New("storage down")

func (s *brokenStore) fail() error { s.calls.Add(1); return errStorageDown }

func (s *brokenStore) Put(context.Context, string, io.Reader, int64) error { return s.fail() }
func (s *brokenStore) Get(context.Context, string) (io.ReadCloser, error)  { return nil, s.fail() }
func (s *brokenStore) Stat(context.Context, string) (storage.Info, error) {
	return storage.Info{}, s.fail()
}
func (s *brokenStore) Delete(context.Context, string) error       { return s.fail() }
func (s *brokenStore) DeletePrefix(context.Context, string) error { return s.fail() }
func (s *brokenStore) List(context.Context, string) ([]storage.Info, error) {
	return nil, s.fail()
}
func (s *brokenStore) PresignGet(context.Context, string, time.Duration) (string, error) {
	return "", s.fail()
}
func (s *brokenStore) PresignPut(context.Context, string, time.Duration) (string, error) {
	return "", s.fail()
}

// TestFailingCleanUpBacksOff runs the leader's clean-up many times in a
// row against storage that is down: one try, not one per tick.
func TestFailingCleanUpBacksOff(t *testing.T) {
	n := publishNode(t)
	store := &brokenStore{}
	n.cfg.Store = store
	now := time.Unix(1_700_000_000, 0)
	applyMetricsCmd(t, n, scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j1", Source: "uploads/a.mp4", Output: "videos/v1/hls", Now: now})
	applyMetricsCmd(t, n, scheduler.CmdCancelJob, scheduler.CancelJob{Job: "j1", Now: now})

	retries := newCollectRetries(time.Minute, time.Hour)
	n.collectFinished(context.Background(), retries)
	tried := store.calls.Load()
	if tried == 0 {
		t.Fatalf("the clean-up of a canceled job touched no storage")
	}
	for range 20 {
		n.collectFinished(context.Background(), retries)
	}
	if got := store.calls.Load(); got != tried {
		t.Errorf("20 more ticks made %d storage calls, want none before the retry is due", got-tried)
	}
	if retries.due("j1", time.Now().Add(59*time.Second)) || !retries.due("j1", time.Now().Add(61*time.Second)) {
		t.Errorf("the retry is not due a minute after the failure")
	}
}

func TestCollectRetriesDoubleUpToTheCap(t *testing.T) {
	r := newCollectRetries(time.Second, 5*time.Second)
	now := time.Unix(1_700_000_000, 0)
	if !r.due("j1", now) {
		t.Fatalf("a job never tried is not due")
	}
	var waits []time.Duration
	for range 5 {
		waits = append(waits, r.failed("j1", now))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits after 5 failures: got %v, want %v", waits, want)
		}
	}
	if r.due("j1", now.Add(4*time.Second)) || !r.due("j1", now.Add(5*time.Second)) {
		t.Errorf("due before the last wait ran out, or not after")
	}
	r.succeeded("j1")
	if !r.due("j1", now) || r.failed("j1", now) != time.Second {
		t.Errorf("a success does not reset the backoff")
	}
	if !r.due("j2", now) {
		t.Errorf("one job's failures delay another")
	}
}
