package cluster

import (
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/scheduler"
)

// raftFSM hands Raft's committed entries and snapshots to the scheduler's
// state machine, which knows nothing of Raft, and times every Apply.
type raftFSM struct {
	fsm  *scheduler.FSM
	hist prometheus.Histogram
}

var _ raft.FSM = raftFSM{}

func (f raftFSM) Apply(l *raft.Log) any {
	start := time.Now()
	defer func() { f.hist.Observe(time.Since(start).Seconds()) }()
	return f.fsm.Apply(l.Index, l.Data)
}

// Snapshot serialises the state now; Persist only writes the bytes, so
// Apply may run while the snapshot is stored.
func (f raftFSM) Snapshot() (raft.FSMSnapshot, error) {
	b, err := f.fsm.Snapshot()
	if err != nil {
		return nil, err
	}
	return snapshot(b), nil
}

func (f raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.fsm.Restore(rc)
}

type snapshot []byte

// Persist writes the serialised state to the sink, cancelling it on error.
func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
