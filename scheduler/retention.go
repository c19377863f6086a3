package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Finished jobs leave the replicated state in three steps, one command each,
// so the state, its snapshots and the leader's work stay proportional to the
// live jobs rather than to every job ever run:
//
//  1. A job that finishes joins Uncollected.
//  2. The leader cleans up what the job left in storage, then proposes
//     JobCollected: the record that no leader, after a restart or a change
//     of leader, has to do it again. The job moves to Collected.
//  3. Once the retention has passed, the leader proposes CompactJobs: the
//     job, its tasks and attempts and its idempotency key are forgotten.
//
// Agents that died or left are forgotten the same way, by ForgetAgents.
// The leader decides when (its retention settings); Apply only checks that
// what it removes may go.

// JobCollected records that a finished job's clean-up is done. Recording it
// again changes nothing.
type JobCollected struct {
	Job string    `json:"job"`
	Now time.Time `json:"now"`
}

// CompactJobs forgets collected jobs with their tasks, attempts and
// idempotency keys. A job that is unknown or not collected is left alone.
type CompactJobs struct {
	Jobs []string  `json:"jobs"`
	Now  time.Time `json:"now"`
}

// ForgetAgents forgets agents that are dead or left; one that came back
// meanwhile (alive or draining) is kept.
type ForgetAgents struct {
	Agents []string  `json:"agents"`
	Now    time.Time `json:"now"`
}

// collection is an entry of state.Collected.
type collection struct {
	Job string    `json:"job"`
	At  time.Time `json:"at"`
}

// jobSeq is an entry of state.bySeq.
type jobSeq struct {
	Seq uint64
	ID  string
}

// seqOf orders job IDs by their jobs' Seq, for binary searches of the
// lists kept in that order.
func (s *state) seqOf(id string, seq uint64) int { return cmp.Compare(s.Jobs[id].Seq, seq) }

// awaitCollection puts a job that just finished on Uncollected. The list is
// kept by Seq, not by finishing order, so that a snapshot written before
// the list existed (see upgradeV1) builds the same one.
func (s *state) awaitCollection(j *job) {
	i, _ := slices.BinarySearchFunc(s.Uncollected, j.Seq, s.seqOf)
	s.Uncollected = slices.Insert(s.Uncollected, i, j.ID)
}

func (s *state) jobCollected(c *JobCollected) error {
	j := s.Jobs[c.Job]
	if j == nil {
		return fmt.Errorf("job %q: %w", c.Job, ErrNotFound)
	}
	if !j.finished() {
		return invalid("job %q is %s: only a finished job is collected", j.ID, j.State)
	}
	if !j.CollectedAt.IsZero() {
		return nil
	}
	if i, ok := slices.BinarySearchFunc(s.Uncollected, j.Seq, s.seqOf); ok {
		s.Uncollected = slices.Delete(s.Uncollected, i, i+1)
	}
	j.CollectedAt = c.Now
	s.Collected = append(s.Collected, collection{Job: j.ID, At: c.Now})
	return nil
}

func (s *state) compactJobs(c *CompactJobs) {
	gone := map[string]bool{}
	for _, id := range c.Jobs {
		j := s.Jobs[id]
		if j == nil || j.CollectedAt.IsZero() {
			continue
		}
		gone[id] = true
		for _, t := range j.Tasks {
			delete(s.Tasks, t)
		}
		if j.Key != "" {
			delete(s.Keys, j.Key)
		}
		delete(s.Jobs, id)
		s.bySeqGone++
	}
	// The leader compacts from the front of Collected: cut that prefix
	// without walking the rest.
	n := 0
	for n < len(s.Collected) && gone[s.Collected[n].Job] {
		n++
	}
	s.Collected = s.Collected[n:]
	if n < len(gone) {
		s.Collected = slices.DeleteFunc(s.Collected, func(c collection) bool { return gone[c.Job] })
	}
	if s.bySeqGone > len(s.bySeq)/2 {
		s.indexJobs()
	}
}

func (s *state) forgetAgents(c *ForgetAgents) {
	for _, id := range c.Agents {
		if a := s.Agents[id]; a != nil && (a.State == AgentDead || a.State == AgentLeft) {
			delete(s.Agents, id)
		}
	}
}

// indexNew adds a new job to the lookups beside Jobs.
func (s *state) indexNew(j *job) {
	s.bySeq = append(s.bySeq, jobSeq{Seq: j.Seq, ID: j.ID})
	if j.Key != "" {
		s.Keys[j.Key] = j.ID
	}
}

// indexJobs rebuilds bySeq from Jobs.
func (s *state) indexJobs() {
	s.bySeq = s.bySeq[:0]
	for id, j := range s.Jobs {
		s.bySeq = append(s.bySeq, jobSeq{Seq: j.Seq, ID: id})
	}
	slices.SortFunc(s.bySeq, func(x, y jobSeq) int { return cmp.Compare(x.Seq, y.Seq) })
	s.bySeqGone = 0
}

// upgradeV1 reads a version 1 snapshot, written before clean-ups were
// recorded: every finished job in it still awaits its recorded clean-up.
func (s *state) upgradeV1() {
	for _, j := range s.Jobs {
		if j.finished() {
			s.Uncollected = append(s.Uncollected, j.ID)
		}
	}
	slices.SortFunc(s.Uncollected, func(x, y string) int { return cmp.Compare(s.Jobs[x].Seq, s.Jobs[y].Seq) })
	s.Version = stateVersion
}
