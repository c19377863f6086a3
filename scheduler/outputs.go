package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// An attempt belongs to the agent it was leased to: only that agent may
// report on it (progress, outputs, completion, failure). The leader checks
// this before it proposes a command, and Apply decides it again from the
// agent the command names, so that a check made on a stale view of the state
// cannot let another agent through.
//
// Every object an attempt may write is granted to it by a GrantOutputs
// command before the agent gets its presigned PUT URLs. The grants are what
// completion is checked against and what a finished job's clean-up deletes:
// the job's own objects, never whatever a prefix listing finds.

// ErrNotYourAttempt is returned for a command naming an agent other than the
// one the attempt was leased to.
var ErrNotYourAttempt = errors.New("attempt is leased to another agent")

// Grant is one object an attempt may write: the output's name, relative to
// the attempt's output directory, and the storage key the leader derived for
// it from the job and the attempt.
type Grant struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// GrantOutputs records the objects an active attempt may write. Granting a
// name again (an agent retrying its request) is a no-op; a name already
// granted under another key is refused.
type GrantOutputs struct {
	Task    string    `json:"task"`
	Attempt int       `json:"attempt"`
	Agent   string    `json:"agent"`
	Outputs []Grant   `json:"outputs"`
	Now     time.Time `json:"now"`
}

// owns refuses a command that names an agent other than the attempt's. An
// empty agent comes from entries written before commands named one, which
// are applied as they were then.
func (at *attempt) owns(agent, task string) error {
	if agent != "" && agent != at.Agent {
		return fmt.Errorf("attempt %d of task %q is leased to agent %q, not %q: %w", at.N, task, at.Agent, agent, ErrNotYourAttempt)
	}
	return nil
}

func (s *state) grantOutputs(c *GrantOutputs) error {
	if c.Agent == "" {
		return invalid("grant of outputs to attempt %d of task %q names no agent", c.Attempt, c.Task)
	}
	j, _, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return err
	}
	if err := at.owns(c.Agent, c.Task); err != nil {
		return err
	}
	if !at.active() || j.finished() {
		return fmt.Errorf("attempt %d of task %q is %s: %w", c.Attempt, c.Task, at.State, ErrStaleAttempt)
	}
	merged := slices.Clone(at.Granted)
	for _, g := range c.Outputs {
		if g.Name == "" || g.Key == "" {
			return invalid("attempt %d of task %q: an output grant needs a name and a key", c.Attempt, c.Task)
		}
		i, found := slices.BinarySearchFunc(merged, g.Name, func(x Grant, name string) int { return cmp.Compare(x.Name, name) })
		switch {
		case !found:
			merged = slices.Insert(merged, i, g)
		case merged[i].Key != g.Key:
			return invalid("attempt %d of task %q: output %q is already granted as %q", c.Attempt, c.Task, g.Name, merged[i].Key)
		}
	}
	at.Granted = merged
	return nil
}

// checkReported refuses a completion whose outputs are not exactly the
// objects granted to the attempt. Entries written before grants existed
// name no agent and are applied as they were.
func (at *attempt) checkReported(c *Complete) error {
	if c.Agent == "" {
		return nil
	}
	reported := make([]string, len(c.Outputs))
	for i, o := range c.Outputs {
		reported[i] = o.Name
	}
	slices.Sort(reported)
	if len(slices.Compact(slices.Clone(reported))) != len(reported) {
		return invalid("attempt %d of task %q reports an output twice", at.N, c.Task)
	}
	granted := make([]string, len(at.Granted))
	for i, g := range at.Granted {
		granted[i] = g.Name
	}
	if !slices.Equal(reported, granted) {
		return invalid("attempt %d of task %q reports outputs %v, but was granted %v", at.N, c.Task, reported, granted)
	}
	return nil
}

// Granted returns the objects granted to an attempt, sorted by name; nil
// for an unknown attempt.
func (f *FSM) Granted(task string, n int) []Grant {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t := f.s.Tasks[task]
	if t == nil || n < 1 || n > len(t.Attempts) {
		return nil
	}
	return slices.Clone(t.Attempts[n-1].Granted)
}

// JobObjects returns the storage keys granted to any attempt of a job,
// sorted and without repeats: everything the job's agents may have written.
func (f *FSM) JobObjects(jobID string) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j := f.s.Jobs[jobID]
	if j == nil {
		return nil
	}
	var keys []string
	for _, id := range j.Tasks {
		for _, at := range f.s.Tasks[id].Attempts {
			for _, g := range at.Granted {
				keys = append(keys, g.Key)
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
