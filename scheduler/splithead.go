package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// A split reports the plan's head — the ladder and the first chunk's tasks —
// as soon as it has read what the first chunk needs, long before it has
// read the whole source: SplitHead adds those tasks and moves the job to
// encoding while the split task keeps running, so the first segment of a
// long upload is encoded, published and playable within seconds. The
// split's Complete then adds only the remaining tasks.
//
// The head is the job's for good: when the attempt that reported it fails,
// its tasks stay (they read the chunk that attempt uploaded, which the
// job's clean-up deletes with everything else the job's attempts wrote), a
// retried split reports no second head, and its Complete must agree with
// the head: the same rungs, and encode indexes that continue the head's.

// SplitHead records the head of a split attempt's plan. Result is the head's
// split result (the ladder and the first chunk), what publishing builds the
// playlists from until the split completes; NewTasks are the head's encode
// tasks, indexed from 0 in order; Rungs the job's H.264 rungs.
type SplitHead struct {
	Task     string          `json:"task"`
	Attempt  int             `json:"attempt"`
	Agent    string          `json:"agent"`
	Result   json.RawMessage `json:"result"`
	NewTasks []NewTask       `json:"newTasks"`
	Rungs    []string        `json:"rungs"`
	Now      time.Time       `json:"now"`
}

func (s *state) splitHead(c *SplitHead) error {
	if c.Agent == "" {
		return invalid("head of attempt %d of task %q names no agent", c.Attempt, c.Task)
	}
	j, t, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return err
	}
	if err := at.owns(c.Agent, c.Task); err != nil {
		return err
	}
	if t.Kind != KindSplit || j.Parent != "" {
		return invalid("only a job's split task reports a head, not %s task %q", t.Kind, t.ID)
	}
	if !at.active() || t.State == StateDone || j.finished() {
		return fmt.Errorf("attempt %d of task %q is %s: %w", c.Attempt, c.Task, at.State, ErrStaleAttempt)
	}
	if j.HeadAttempt != 0 {
		return invalid("split of job %q: attempt %d already reported the head", j.ID, j.HeadAttempt)
	}
	if len(c.Result) == 0 || len(c.Rungs) == 0 || len(c.NewTasks) == 0 {
		return invalid("split of job %q: a head needs a result, rungs and tasks", j.ID)
	}
	if err := s.checkHeadTasks(j, c.NewTasks, c.Rungs); err != nil {
		return err
	}
	for _, nt := range c.NewTasks {
		s.addPlannedTask(j, nt)
	}
	j.Rungs = slices.Clone(c.Rungs)
	j.Head, j.HeadAttempt = raw(c.Result), at.N
	j.State = JobEncoding
	s.seen(at.Agent, c.Now)
	s.touch(j, c.Now)
	return nil
}

// checkHeadTasks validates a head's tasks: encode tasks with fresh unique
// IDs, indexed 0..n-1 (a head is the start of the plan, never a gap), each
// chunk one task or parts that cover the ladder once (checkEncodeTasks),
// and at most one audio task, the audio up to the first chunk's end.
func (s *state) checkHeadTasks(j *job, tasks []NewTask, rungs []string) error {
	byKind, err := s.newTasksByKind(j, "head", tasks, KindEncode, KindAudio)
	if err != nil {
		return err
	}
	encodes, audio := byKind[KindEncode], byKind[KindAudio]
	if _, err := checkEncodeTasks(j.ID, encodes, rungs); err != nil {
		return err
	}
	if len(audio) == 0 {
		return nil
	}
	end, err := firstChunkEnd(j.ID, encodes)
	if err != nil {
		return err
	}
	return s.checkHeadAudio(j, audio, end)
}

// newTasksByKind groups the tasks a split reports (what: "head" or "split")
// by kind, refusing an empty or taken id and a kind not among kinds.
func (s *state) newTasksByKind(j *job, what string, tasks []NewTask, kinds ...TaskKind) (map[TaskKind][]NewTask, error) {
	ids := map[string]bool{stitchID(j.ID): true}
	byKind := map[TaskKind][]NewTask{}
	for _, nt := range tasks {
		if nt.ID == "" || ids[nt.ID] || s.Tasks[nt.ID] != nil {
			return nil, invalid("%s of job %q: task id %q is empty or taken", what, j.ID, nt.ID)
		}
		ids[nt.ID] = true
		if !slices.Contains(kinds, nt.Kind) {
			return nil, invalid("%s of job %q: task %q has kind %q, want one of %v", what, j.ID, nt.ID, nt.Kind, kinds)
		}
		byKind[nt.Kind] = append(byKind[nt.Kind], nt)
	}
	return byKind, nil
}

// headEncodes lists the encode tasks the job's head added, by index and
// rungs, which the split's Complete continues; nil without a head.
func (s *state) headEncodes(j *job) []NewTask {
	if j.HeadAttempt == 0 {
		return nil
	}
	var out []NewTask
	for _, id := range j.Tasks {
		if t := s.Tasks[id]; t.Kind == KindEncode {
			out = append(out, NewTask{ID: t.ID, Kind: t.Kind, Index: t.Index, Rungs: t.Rungs})
		}
	}
	return out
}

// checkRestOfHead refuses a split Complete whose ladder is not the head's:
// every rung's segments must stay aligned across the head's chunks and the
// rest.
func checkRestOfHead(j *job, c *Complete) error {
	if j.HeadAttempt != 0 && !slices.Equal(c.Rungs, j.Rungs) {
		return invalid("split of job %q: rungs %v differ from the head's %v", j.ID, c.Rungs, j.Rungs)
	}
	return nil
}

// addPlannedTask adds a task a split planned to its job, pending.
func (s *state) addPlannedTask(j *job, nt NewTask) {
	s.Tasks[nt.ID] = &task{
		ID: nt.ID, Job: j.ID, Kind: nt.Kind, Index: nt.Index,
		Spec: raw(nt.Spec), Inputs: nt.Inputs, MediaSeconds: nt.MediaSeconds,
		Prefer: prefer(nt.Prefer), Rungs: prefer(nt.Rungs), State: StatePending,
	}
	j.Tasks = append(j.Tasks, nt.ID)
}
