// Package scheduler owns the farm's domain: the vocabulary (job and attempt
// states, task kinds, agent states, encoder families), the jobs, their tasks
// (split, encode, audio, stitch) and attempts, the agents, the replicated
// state machine and the commands that change it, and all placement policy:
// FindWork decides what an agent asking for work gets (pending tasks by
// priority and fairness, else a steal, else a speculative backup) and which
// encoder each encode attempt runs with.
//
// Its commands and snapshots hold only its own types, never the HTTP
// contract (cluster/wire), which the cluster package maps at its edge.
//
// It is pure and deterministic: Apply reads no clock, draws no random numbers
// and never depends on map order — the leader stamps time and IDs into the
// commands — so every replica that applies the same log holds the same state.
// It does no I/O and does not know Raft: the cluster package feeds it the
// committed entries and stores its snapshots, so it is tested without Raft
// or a network.
package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxAttempts is how many failed attempts a task may have before its job fails.
const MaxAttempts = 5

// Errors returned by Apply (as its result value) for business failures. They
// are wrapped with the job, task or attempt concerned; test with errors.Is.
var (
	ErrNotFound         = errors.New("not found")
	ErrAlreadyCommitted = errors.New("task already committed by another attempt")
	ErrStaleAttempt     = errors.New("attempt is no longer active")
	ErrInvalidInput     = errors.New("invalid input")
)

// FSM is the replicated state machine. Raft (through the cluster package's
// adapter) calls Apply, Snapshot and Restore; any goroutine may call the read
// methods concurrently.
type FSM struct {
	onChange func(jobID string)

	mu sync.RWMutex
	s  *state // guarded by mu; replaced whole by Restore
}

// NewFSM returns an empty state machine. onChange, when not nil, is called
// after each Apply (and Restore) with the ID of every job it changed, outside
// the lock; it must not block long.
func NewFSM(onChange func(jobID string)) *FSM {
	return &FSM{onChange: onChange, s: newState()}
}

// Apply applies one committed log entry, the index-th, and returns the
// command's result: nil, a LeaseResult, or an error for a business failure
// (unknown job, stale attempt, …), which changes nothing. An entry that does
// not decode means the replicas' logs diverged or a newer binary wrote it;
// Apply panics rather than silently skip it.
func (f *FSM) Apply(index uint64, entry []byte) any {
	_, cmd, err := Decode(entry)
	if err != nil {
		panic(fmt.Sprintf("scheduler: log entry %d: %v", index, err))
	}
	res, changed := f.apply(cmd)
	if f.onChange != nil {
		for _, id := range changed {
			f.onChange(id)
		}
	}
	return res
}

func (f *FSM) apply(cmd any) (any, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s.apply(cmd)
}

// Snapshot serialises the state under the read lock. The caller stores the
// bytes, so Apply may run while they are written.
func (f *FSM) Snapshot() ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := json.Marshal(f.s)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces the whole state with one that Snapshot serialised.
func (f *FSM) Restore(r io.Reader) error {
	s := newState()
	if err := json.NewDecoder(r).Decode(s); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	switch s.Version {
	case stateVersion:
	case 1:
		s.upgradeV1()
	default:
		return fmt.Errorf("restore snapshot: version %d, want %d", s.Version, stateVersion)
	}
	s.fill()
	s.indexJobs()
	s.indexOutputs()
	if err := s.check(); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}

	f.mu.Lock()
	old := f.s
	f.s = s
	f.mu.Unlock()

	// Watchers follow unfinished jobs: tell them theirs may have moved.
	if f.onChange != nil {
		seen := map[string]bool{}
		for _, ids := range [][]string{old.Active, s.Active} {
			for _, id := range ids {
				if !seen[id] {
					seen[id] = true
					f.onChange(id)
				}
			}
		}
	}
	return nil
}
