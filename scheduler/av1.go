package scheduler

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// AV1 rungs in the farm. A job whose split plans AV1 rungs gets a second
// job, its AV1 job "<id>-av1", holding one KindEncodeAV1 task per chunk and
// AV1 rung. The job itself (split, H.264 encodes, audio, stitch) runs and
// ends exactly as it would without AV1, so its video is playable and ready
// at the same moment; the AV1 job only fills capacity nothing else wants:
//
//   - its tasks are leased only once the job's H.264 ladder was published
//     (the job is playable, or done), only to agents that advertise
//     media.EncoderSVTAV1, and only when no task of any other kind is left
//     for the agent, nor a steal or a backup (see findWork);
//   - the leader adds each AV1 rung to the published master playlist and
//     DASH manifest once all its chunks are done and the job is done, and
//     ends the AV1 job with EndAV1Job when every rung is published — or
//     with an error, when no alive agent can run its tasks;
//   - a job that fails or is canceled cancels its AV1 job, and a job's
//     clean-up waits for its AV1 job to end (its tasks read the job's chunk
//     sources).

// EndAV1Job ends an AV1 job: done once every task is done (the leader has
// published its rungs), or failed with Error, which names why (no agent can
// run AV1 tasks). Ending a finished job is refused.
type EndAV1Job struct {
	Job   string    `json:"job"`
	Error string    `json:"error,omitempty"`
	Now   time.Time `json:"now"`
}

// AV1JobID is the ID of the AV1 job of the job with the given ID.
func AV1JobID(jobID string) string { return jobID + "-av1" }

// checkAV1Tasks validates the AV1 tasks a split of job j reports beside its
// chunks encode tasks: every rung named, each with one task per chunk
// 0..chunks-1, and the AV1 job's ID free (j nil: the split is an AV1 job's
// own, see AddAV1Job).
func (s *state) checkAV1Tasks(j *job, av1 []NewTask, chunks int) error {
	if len(av1) == 0 {
		return nil
	}
	if j == nil {
		j = &job{ID: "AV1"}
	} else if id := AV1JobID(j.ID); s.Jobs[id] != nil {
		return invalid("split of job %q: job %q already exists", j.ID, id)
	}
	seen := map[string][]bool{}
	var rungs []string
	for _, nt := range av1 {
		if nt.Rung == "" {
			return invalid("split of job %q: AV1 task %q names no rung", j.ID, nt.ID)
		}
		if seen[nt.Rung] == nil {
			seen[nt.Rung] = make([]bool, chunks)
			rungs = append(rungs, nt.Rung)
		}
		if nt.Index < 0 || nt.Index >= chunks || seen[nt.Rung][nt.Index] {
			return invalid("split of job %q: AV1 task %q has chunk %d of %d, or a duplicate", j.ID, nt.ID, nt.Index, chunks)
		}
		seen[nt.Rung][nt.Index] = true
	}
	for _, r := range rungs {
		if slices.Contains(seen[r], false) {
			return invalid("split of job %q: AV1 rung %s misses chunks", j.ID, r)
		}
	}
	return nil
}

// newAV1Job creates the AV1 job of job parent with the tasks its split
// planned (checked by checkAV1Tasks). It is younger than its parent, so it
// comes after it among jobs of the same priority.
func (s *state) newAV1Job(parent *job, tasks []NewTask, now time.Time) {
	s.Seq++
	j := &job{
		ID: AV1JobID(parent.ID), Seq: s.Seq, State: JobEncoding,
		Source: parent.Source, Output: parent.Output, Priority: parent.Priority,
		Parent: parent.ID, Created: now, Updated: now,
	}
	s.addAV1Tasks(j, tasks)
	parent.AV1Job = j.ID
	s.Jobs[j.ID] = j
	s.Active = append(s.Active, j.ID)
	s.outputs.add(j.Output, 1)
	s.indexNew(j)
	s.touch(j, now)
}

// addAV1Tasks adds the AV1 tasks among tasks (checked by checkAV1Tasks) to
// AV1 job j, and their rungs to its rungs in order.
func (s *state) addAV1Tasks(j *job, tasks []NewTask) {
	for _, nt := range tasks {
		if nt.Kind != KindEncodeAV1 {
			continue
		}
		s.Tasks[nt.ID] = &task{
			ID: nt.ID, Job: j.ID, Kind: KindEncodeAV1, Index: nt.Index, Rung: nt.Rung,
			Spec: raw(nt.Spec), Inputs: nt.Inputs, MediaSeconds: nt.MediaSeconds, State: StatePending,
		}
		j.Tasks = append(j.Tasks, nt.ID)
		if !slices.Contains(j.Rungs, nt.Rung) {
			j.Rungs = append(j.Rungs, nt.Rung)
		}
	}
}

// h264Published reports whether the H.264 ladder of an AV1 job's parent has
// been published: the parent is playable or done. A parent compacted away
// was done long ago.
func (s *state) h264Published(av1 *job) bool {
	p := s.Jobs[av1.Parent]
	return p == nil || p.PlayableAt != nil || p.State == JobDone
}

// cancelAV1Job cancels the unfinished AV1 job of a job that failed or was
// canceled: there is no H.264 ladder to add its rungs to.
func (s *state) cancelAV1Job(parent *job, now time.Time) {
	if j := s.Jobs[parent.AV1Job]; j != nil && !j.finished() {
		s.finishJob(j, JobCanceled, fmt.Sprintf("job %s %s", parent.ID, parent.State), nil, now)
	}
}

func (s *state) endAV1Job(c *EndAV1Job) error {
	j := s.Jobs[c.Job]
	if j == nil {
		return fmt.Errorf("job %q: %w", c.Job, ErrNotFound)
	}
	if j.Parent == "" {
		return invalid("job %q is not an AV1 job", j.ID)
	}
	if j.finished() {
		return invalid("job %q already finished (%s)", j.ID, j.State)
	}
	if c.Error != "" {
		s.finishJob(j, JobFailed, c.Error, nil, c.Now)
		return nil
	}
	for _, id := range j.Tasks {
		if t := s.Tasks[id]; t.State != StateDone {
			return invalid("job %q: task %s is %s", j.ID, t.ID, t.State)
		}
	}
	s.finishJob(j, JobDone, "", nil, c.Now)
	return nil
}

// nextAV1Tasks deals AV1 tasks to an agent that advertises the AV1 encoder:
// the lowest tier of placement, asked only when nothing else is left for it
// (see findWork). Pending tasks of AV1 jobs whose H.264 ladder is published,
// by job priority, then job age, then chunk and rung (the timeline in
// order, so every rung of an early chunk is ready together), and a task the
// agent failed only when no other AV1 agent is alive to take it.
func nextAV1Tasks(s *state, agentID string, n int) []string {
	a := s.Agents[agentID]
	if n <= 0 || a == nil || a.State != AgentAlive || !a.offersAV1() {
		return nil
	}
	othersAV1 := false
	for id, o := range s.Agents {
		othersAV1 = othersAV1 || (id != agentID && o.State == AgentAlive && o.offersAV1())
	}
	var jobs []*job
	for _, id := range s.Active {
		if j := s.Jobs[id]; j.Parent != "" && s.h264Published(j) {
			jobs = append(jobs, j)
		}
	}
	slices.SortStableFunc(jobs, func(x, y *job) int { return cmp.Compare(y.Priority, x.Priority) })
	var out []string
	for _, j := range jobs {
		var pending []*task
		for _, id := range j.Tasks {
			if t := s.Tasks[id]; t.State == StatePending && !(othersAV1 && t.failedBy(agentID)) {
				pending = append(pending, t)
			}
		}
		slices.SortStableFunc(pending, func(x, y *task) int { return cmp.Compare(x.Index, y.Index) })
		for _, t := range pending {
			out = append(out, t.ID)
			if len(out) == n {
				return out
			}
		}
	}
	return out
}

// AddAV1Job gives a done job that has none an AV1 job afterwards — the
// farm's part of AV1 by popularity: the API asks once a video is watched
// enough. The job's chunk sources were collected with it, so the AV1 job
// starts with a split task of its own ("<AV1 job>-split", SplitSpec: the
// job's split options with AV1 on), which must plan the job's chunks again
// (the split is deterministic; the publisher checks every segment against
// the job's); of what it plans the AV1 job keeps the AV1 tasks.
type AddAV1Job struct {
	Job         string          `json:"job"`
	SplitSpec   json.RawMessage `json:"splitSpec"`
	SourceInput string          `json:"sourceInput"`
	Now         time.Time       `json:"now"`
}

func (s *state) addAV1Job(c *AddAV1Job) error {
	parent := s.Jobs[c.Job]
	if parent == nil {
		return fmt.Errorf("job %q: %w", c.Job, ErrNotFound)
	}
	id := AV1JobID(parent.ID)
	switch {
	case parent.Parent != "":
		return invalid("job %q is an AV1 job", parent.ID)
	case parent.State != JobDone:
		return invalid("job %q is %s: AV1 rungs are added to a done job", parent.ID, parent.State)
	case parent.AV1Job != "" || s.Jobs[id] != nil:
		return invalid("job %q already has an AV1 job", parent.ID)
	case s.Tasks[id+"-split"] != nil:
		return invalid("task %q already exists", id+"-split")
	}
	src := c.SourceInput
	if src == "" {
		src = parent.Source
	}
	s.Seq++
	j := &job{
		ID: id, Seq: s.Seq, State: JobQueued, Source: parent.Source, Output: parent.Output, Priority: parent.Priority,
		Parent: parent.ID, Created: c.Now, Updated: c.Now, Tasks: []string{id + "-split"},
	}
	s.Tasks[id+"-split"] = &task{ID: id + "-split", Job: id, Kind: KindSplit, Spec: raw(c.SplitSpec),
		Inputs: map[string]string{"source": src}, State: StatePending}
	parent.AV1Job = id
	s.Jobs[id] = j
	s.Active = append(s.Active, id)
	s.outputs.add(j.Output, 1)
	s.indexNew(j)
	s.touch(j, c.Now)
	s.touch(parent, c.Now)
	return nil
}

// planAV1Job records what the split of an AV1 job added afterwards planned:
// its AV1 tasks (the encode and audio tasks the split plans too are the
// done job's, and dropped). A source without a rung AV1 can encode fails
// the AV1 job.
func (s *state) planAV1Job(j *job, c *Complete) {
	s.addAV1Tasks(j, c.NewTasks)
	j.State = JobEncoding
	if len(j.Rungs) == 0 {
		s.finishJob(j, JobFailed, "the video has no rung AV1 can encode", nil, c.Now)
	}
}

// AV1RungResults are the recorded results of one AV1 rung's tasks, by
// chunk index (nil for a chunk not done yet).
type AV1RungResults struct {
	Rung   string
	Chunks []json.RawMessage
}

// AV1Results returns the results of an AV1 job's tasks, per rung in the
// order the split planned them; ok is false for an unknown job or one that
// is not an AV1 job.
func (f *FSM) AV1Results(jobID string) ([]AV1RungResults, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j := f.s.Jobs[jobID]
	if j == nil || j.Parent == "" {
		return nil, false
	}
	out := make([]AV1RungResults, len(j.Rungs))
	for i, r := range j.Rungs {
		out[i].Rung = r
	}
	for _, id := range j.Tasks {
		t := f.s.Tasks[id]
		if t.Kind != KindEncodeAV1 {
			continue // the split of an AV1 job added afterwards
		}
		i := slices.Index(j.Rungs, t.Rung)
		for len(out[i].Chunks) <= t.Index {
			out[i].Chunks = append(out[i].Chunks, nil)
		}
		if t.State == StateDone {
			out[i].Chunks[t.Index] = bytes.Clone(t.Result)
		}
	}
	return out, true
}

// AV1AgentAlive reports whether an alive agent advertises the AV1 encoder.
func (f *FSM) AV1AgentAlive() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, a := range f.s.Agents {
		if a.State == AgentAlive && a.offersAV1() {
			return true
		}
	}
	return false
}
