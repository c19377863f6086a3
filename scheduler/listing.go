package scheduler

import (
	"cmp"
	"slices"
	"time"
)

// JobQuery asks for one page of jobs, newest first.
type JobQuery struct {
	// States keeps the jobs in any of these states; empty keeps all.
	States []JobState
	// Before continues a listing where a page ended (its Next): only jobs
	// older than the one of this Seq. 0 starts with the newest job.
	Before uint64
	// Limit is the most jobs the page holds (at least 1).
	Limit int
}

// JobPage is one page of a job listing.
type JobPage struct {
	Jobs []Job // without their tasks
	// Next is the Before of the next page; 0 when this page is the last.
	Next uint64
}

// ListJobs returns a page of jobs, newest first. Paging by Seq is stable:
// jobs submitted meanwhile sort before the first page, and compacted ones
// drop out without shifting the others. A listing of unfinished states
// walks only the unfinished jobs.
func (f *FSM) ListJobs(q JobQuery) JobPage {
	f.mu.RLock()
	defer f.mu.RUnlock()
	limit := max(q.Limit, 1)
	var page JobPage
	f.s.newestFirst(q.Before, unfinishedOnly(q.States), func(j *job) bool {
		if len(q.States) > 0 && !slices.Contains(q.States, j.State) {
			return true
		}
		if len(page.Jobs) == limit {
			page.Next = page.Jobs[limit-1].Seq
			return false
		}
		page.Jobs = append(page.Jobs, f.s.jobView(j, false))
		return true
	})
	return page
}

func unfinishedOnly(states []JobState) bool {
	return len(states) > 0 && !slices.ContainsFunc(states, JobState.Finished)
}

// newestFirst calls fn with the jobs older than the one of Seq before (every
// job when before is 0), newest first, until fn returns false. Both lists it
// walks, Active and bySeq, are in Seq order.
func (s *state) newestFirst(before uint64, unfinished bool, fn func(*job) bool) {
	if before == 0 {
		before = s.Seq + 1
	}
	if unfinished {
		i, _ := slices.BinarySearchFunc(s.Active, before, s.seqOf)
		for i--; i >= 0; i-- {
			if !fn(s.Jobs[s.Active[i]]) {
				return
			}
		}
		return
	}
	i, _ := slices.BinarySearchFunc(s.bySeq, before, func(e jobSeq, seq uint64) int { return cmp.Compare(e.Seq, seq) })
	for i--; i >= 0; i-- {
		if j := s.Jobs[s.bySeq[i].ID]; j != nil && !fn(j) {
			return
		}
	}
}

// The leader's retention work, read in time proportional to the work.

// Uncollected lists the finished jobs whose clean-up is not recorded yet,
// oldest first, but for those whose AV1 job has not ended.
func (f *FSM) Uncollected() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.DeleteFunc(slices.Clone(f.s.Uncollected), func(id string) bool {
		// The AV1 job still reads the job's chunk sources.
		av1 := f.s.Jobs[f.s.Jobs[id].AV1Job]
		return av1 != nil && !av1.finished()
	})
}

// Compactable lists, in the order their clean-ups were recorded, up to max
// jobs whose clean-up was recorded at or before cutoff. It stops at the
// first one recorded later: the list is in recording order, which follows
// the leaders' clocks.
func (f *FSM) Compactable(cutoff time.Time, max int) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var ids []string
	for _, c := range f.s.Collected {
		if len(ids) == max || c.At.After(cutoff) {
			break
		}
		// An AV1 job added afterwards still needs the job's results.
		if av1 := f.s.Jobs[f.s.Jobs[c.Job].AV1Job]; av1 != nil && !av1.finished() {
			continue
		}
		ids = append(ids, c.Job)
	}
	return ids
}

// GoneAgents lists, sorted, the dead and left agents last heard from at or
// before cutoff.
func (f *FSM) GoneAgents(cutoff time.Time) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var ids []string
	for id, a := range f.s.Agents {
		if (a.State == AgentDead || a.State == AgentLeft) && !a.LastSeen.After(cutoff) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TaskCount names a group of unfinished tasks for Census.
type TaskCount struct {
	State AttemptState
	Kind  TaskKind
}

// Census counts the jobs by state and the tasks of unfinished jobs by
// state and kind, under one read of the state and without copying a job:
// what the metrics scrape needs, at the cost of a walk, not of a view per
// retained job.
func (f *FSM) Census() (jobs map[JobState]int, tasks map[TaskCount]int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	jobs, tasks = map[JobState]int{}, map[TaskCount]int{}
	for _, j := range f.s.Jobs {
		jobs[j.State]++
	}
	for _, id := range f.s.Active {
		for _, tid := range f.s.Jobs[id].Tasks {
			t := f.s.Tasks[tid]
			tasks[TaskCount{State: t.State, Kind: t.Kind}]++
		}
	}
	return jobs, tasks
}
