package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sunomi/sunomi/scheduler"
)

func TestRaftFSMObservesEveryApply(t *testing.T) {
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "test_fsm_apply_seconds", Help: "test"})
	fsm := raftFSM{fsm: scheduler.NewFSM(nil), hist: hist}
	for i := range 3 {
		b, err := scheduler.Encode(scheduler.CmdRegisterAgent, scheduler.RegisterAgent{Info: scheduler.AgentInfo{ID: fmt.Sprintf("a%d", i), Slots: 1}, Now: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if res := fsm.Apply(&raft.Log{Index: uint64(i + 1), Data: b}); res != nil {
			t.Fatalf("apply: %v", res)
		}
	}
	var m dto.Metric
	if err := hist.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetHistogram().GetSampleCount(); got != 3 {
		t.Errorf("observed %d applies, want 3", got)
	}
	if got := len(fsm.fsm.Agents()); got != 3 {
		t.Errorf("the wrapped FSM knows %d agents, want 3", got)
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	failWrite         bool
	closed, cancelled bool
}

func (s *memSink) Write(p []byte) (int, error) {
	if s.failWrite {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}
func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestPersistCancelsOnError(t *testing.T) {
	fsm := raftFSM{fsm: scheduler.NewFSM(nil)}
	snap, err := fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{failWrite: true}
	if err := snap.Persist(sink); err == nil {
		t.Errorf("Persist: got nil error")
	}
	if !sink.cancelled || sink.closed {
		t.Errorf("sink: cancelled %v closed %v, want cancelled only", sink.cancelled, sink.closed)
	}
	sink = &memSink{}
	if err := snap.Persist(sink); err != nil || !sink.closed || sink.cancelled {
		t.Errorf("Persist: %v, closed %v cancelled %v", err, sink.closed, sink.cancelled)
	}
	// What Persist wrote restores.
	if err := fsm.Restore(readCloser{&sink.Buffer}); err != nil {
		t.Errorf("Restore: %v", err)
	}
}

type readCloser struct{ *bytes.Buffer }

func (readCloser) Close() error { return nil }
