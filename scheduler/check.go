package scheduler

import (
	"fmt"
	"maps"
)

// check verifies the state's invariants. Restore refuses a snapshot that
// breaks them; the tests run it after every command.
func (s *state) check() error {
	if err := s.checkOutputIndex(); err != nil {
		return err
	}
	var active []*job
	owned := map[string]bool{}
	for id, j := range s.Jobs {
		if j == nil || j.ID != id {
			return fmt.Errorf("job %q: bad entry", id)
		}
		if !j.finished() {
			active = append(active, j)
		}
		var chunks []bool // encode indexes seen: Results relies on 0..n-1
		for _, tid := range j.Tasks {
			t := s.Tasks[tid]
			if t == nil || t.Job != j.ID || owned[tid] {
				return fmt.Errorf("job %q: task %q missing, listed twice or not the job's", j.ID, tid)
			}
			owned[tid] = true
			if err := checkTask(j, t); err != nil {
				return err
			}
			for _, a := range t.Attempts {
				if a.Seq > s.LeaseSeq {
					return fmt.Errorf("task %q: attempt %d has lease sequence %d past %d", t.ID, a.N, a.Seq, s.LeaseSeq)
				}
			}
			if t.Kind == KindEncode && (!t.spread() || s.lead(t)) {
				chunks = append(chunks, false)
			}
		}
		// One task per chunk, or a spread chunk's parts (see spread.go).
		for _, tid := range j.Tasks {
			if t := s.Tasks[tid]; t.Kind == KindEncode && (!t.spread() || s.lead(t)) {
				if t.Index < 0 || t.Index >= len(chunks) || chunks[t.Index] {
					return fmt.Errorf("job %q: encode task %q has index %d", j.ID, t.ID, t.Index)
				}
				chunks[t.Index] = true
			}
		}
	}
	if len(owned) != len(s.Tasks) {
		return fmt.Errorf("%d tasks, %d owned by jobs", len(s.Tasks), len(owned))
	}
	if len(active) != len(s.Active) {
		return fmt.Errorf("%d unfinished jobs, %d listed active", len(active), len(s.Active))
	}
	for i, id := range s.Active {
		j := s.Jobs[id]
		if j == nil || j.finished() {
			return fmt.Errorf("active job %q is unknown or finished", id)
		}
		if i > 0 && s.Jobs[s.Active[i-1]].Seq >= j.Seq {
			return fmt.Errorf("active jobs out of order at %q", id)
		}
	}
	for id, a := range s.Agents {
		if a == nil || a.Info.ID != id {
			return fmt.Errorf("agent %q: bad entry", id)
		}
	}
	return s.checkRetention()
}

// checkRetention verifies the retention indexes: every finished job is on
// Uncollected (by Seq) or on Collected, as its CollectedAt says, and Keys
// maps exactly the jobs' keys.
func (s *state) checkRetention() error {
	listed := map[string]bool{}
	for i, id := range s.Uncollected {
		j := s.Jobs[id]
		if j == nil || !j.finished() || !j.CollectedAt.IsZero() || listed[id] {
			return fmt.Errorf("uncollected job %q is unknown, unfinished, collected or listed twice", id)
		}
		if i > 0 && s.Jobs[s.Uncollected[i-1]].Seq >= j.Seq {
			return fmt.Errorf("uncollected jobs out of order at %q", id)
		}
		listed[id] = true
	}
	for _, c := range s.Collected {
		j := s.Jobs[c.Job]
		if j == nil || !j.finished() || !j.CollectedAt.Equal(c.At) || listed[c.Job] {
			return fmt.Errorf("collected job %q is unknown, unfinished, listed twice or collected at another time", c.Job)
		}
		listed[c.Job] = true
	}
	keys := 0
	for id, j := range s.Jobs {
		if j.finished() != listed[id] {
			return fmt.Errorf("job %q is %s and listed for collection: %v", id, j.State, listed[id])
		}
		if j.Key != "" {
			keys++
			if s.Keys[j.Key] != id {
				return fmt.Errorf("job %q: key %q maps to %q", id, j.Key, s.Keys[j.Key])
			}
		}
	}
	if keys != len(s.Keys) {
		return fmt.Errorf("%d idempotency keys, %d jobs with one", len(s.Keys), keys)
	}
	return nil
}

func checkTask(j *job, t *task) error {
	done := 0
	holders := map[string]bool{} // agents with an active attempt
	for i, a := range t.Attempts {
		if a == nil || a.N != i+1 {
			return fmt.Errorf("task %q: attempt %d misnumbered", t.ID, i+1)
		}
		if a.active() {
			if holders[a.Agent] {
				return fmt.Errorf("task %q: agent %s holds two active attempts", t.ID, a.Agent)
			}
			holders[a.Agent] = true
		}
		if a.State == StateDone {
			done++
		}
		if a.active() && j.finished() {
			return fmt.Errorf("task %q: attempt %d active on %s job", t.ID, a.N, j.State)
		}
	}
	if len(holders) > MaxActiveAttempts {
		return fmt.Errorf("task %q: %d active attempts, at most %d allowed", t.ID, len(holders), MaxActiveAttempts)
	}
	if t.State == StateDone {
		if done != 1 || t.Winner < 1 || t.Winner > len(t.Attempts) || t.Attempts[t.Winner-1].State != StateDone {
			return fmt.Errorf("task %q: done with winner %d and %d done attempts", t.ID, t.Winner, done)
		}
		return nil
	}
	if done != 0 || t.Winner != 0 {
		return fmt.Errorf("task %q: %s with winner %d and %d done attempts", t.ID, t.State, t.Winner, done)
	}
	if j.State == JobDone || j.finished() != t.terminal() {
		return fmt.Errorf("task %q: %s in %s job", t.ID, t.State, j.State)
	}
	if !t.terminal() {
		want := *t
		want.refresh()
		if want.State != t.State {
			return fmt.Errorf("task %q: state %s, attempts say %s", t.ID, t.State, want.State)
		}
	}
	return nil
}

// checkOutputIndex compares the live outputs with a rebuild from the
// unfinished jobs.
func (s *state) checkOutputIndex() error {
	rebuilt := state{Jobs: s.Jobs}
	rebuilt.indexOutputs()
	want := rebuilt.outputs
	if !maps.Equal(want.exact, s.outputs.exact) || !maps.Equal(want.under, s.outputs.under) {
		return fmt.Errorf("live output index %v/%v, want %v/%v", s.outputs.exact, s.outputs.under, want.exact, want.under)
	}
	return nil
}
