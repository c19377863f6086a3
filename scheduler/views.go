package scheduler

import (
	"bytes"
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// The read methods take the read lock and return copies: callers may keep and
// modify what they get.

// TaskInfo is what the leader needs to hand a task to an agent.
type TaskInfo struct {
	ID, Job string
	Kind    TaskKind
	Index   int
	Rung    string `json:",omitempty"` // an AV1 task's rung
	// Rungs are the rungs of a spread chunk's task, and Lead says it is
	// the part that also writes the chunk's thumbnails (see spread.go).
	Rungs []string `json:",omitempty"`
	Lead  bool     `json:",omitempty"`
	Spec  json.RawMessage
	// Inputs maps input names to storage keys.
	Inputs       map[string]string
	MediaSeconds float64
	Output       string // the job's output prefix
	State        AttemptState
}

// ActiveAttempt is a leased or running attempt, for the leader's lease timers.
type ActiveAttempt struct {
	Task, Job, Agent string
	Attempt          int
}

// Job returns a job with its tasks and attempts.
func (f *FSM) Job(id string) (Job, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j := f.s.Jobs[id]
	if j == nil {
		return Job{}, false
	}
	return f.s.jobView(j, true), true
}

// Jobs returns every job, newest first, without tasks.
func (f *FSM) Jobs() []Job {
	f.mu.RLock()
	defer f.mu.RUnlock()
	jobs := slices.Collect(maps.Values(f.s.Jobs))
	slices.SortFunc(jobs, func(x, y *job) int { return cmp.Compare(y.Seq, x.Seq) })
	out := make([]Job, len(jobs))
	for i, j := range jobs {
		out[i] = f.s.jobView(j, false)
	}
	return out
}

// jobView copies a job out of the state. Every rung advances together (one
// decode feeds all rungs), so the frames are the sum over the encode tasks
// of task.frames.
func (s *state) jobView(j *job, withTasks bool) Job {
	v := Job{
		ID: j.ID, Seq: j.Seq, State: j.State, Source: j.Source, Output: j.Output, Priority: j.Priority,
		Encoder: j.Encoder, Family: j.Family, Error: j.Error, Created: j.Created, Updated: j.Updated,
		Rungs: slices.Clone(j.Rungs), CollectedAt: j.CollectedAt, AV1Job: j.AV1Job, Parent: j.Parent,
	}
	if j.PlayableAt != nil {
		at := *j.PlayableAt
		v.PlayableAt = &at
	}
	for _, id := range j.Tasks {
		t := s.Tasks[id]
		// An AV1 job counts its tasks, one per chunk and rung, as chunks.
		if t.Kind == KindEncode || t.Kind == KindEncodeAV1 {
			if counted, done, d, tot := s.chunkProgress(j, t); counted {
				v.ChunksTotal++
				if done {
					v.ChunksDone++
				}
				v.FramesDone, v.FramesTotal = v.FramesDone+d, v.FramesTotal+tot
			}
		}
		if t.Kind == KindStitch && t.State == StateDone {
			v.Warnings = resultWarnings(t.Result)
		}
		if withTasks {
			v.Tasks = append(v.Tasks, taskView(t))
		}
	}
	return v
}

// resultWarnings reads the "warnings" array of a task's result; a result
// without one, or not an object, has none. The scheduler stores results
// opaquely and reads this one field only, for the job's view.
func resultWarnings(result json.RawMessage) []string {
	var r struct {
		Warnings []string `json:"warnings"`
	}
	if json.Unmarshal(result, &r) != nil {
		return nil
	}
	return r.Warnings
}

func taskView(t *task) Task {
	v := Task{ID: t.ID, Kind: t.Kind, Index: t.Index, Rungs: slices.Clone(t.Rungs), State: t.State, Winner: t.Winner}
	for _, a := range t.Attempts {
		v.Attempts = append(v.Attempts, attemptView(a))
	}
	return v
}

func attemptView(a *attempt) Attempt {
	return Attempt{
		N: a.N, Agent: a.Agent, State: a.State, Error: a.Error,
		FramesDone: a.FramesDone, FramesTotal: a.FramesTotal, Encoder: a.Encoder,
		Speculative: a.Speculative, Started: a.Started, Running: a.Running, Finished: a.Finished,
	}
}

// Attempt returns attempt n of a task.
func (f *FSM) Attempt(task string, n int) (Attempt, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t := f.s.Tasks[task]
	if t == nil || n < 1 || n > len(t.Attempts) {
		return Attempt{}, false
	}
	return attemptView(t.Attempts[n-1]), true
}

// Agents returns every agent sorted by ID.
func (f *FSM) Agents() []Agent {
	f.mu.RLock()
	defer f.mu.RUnlock()
	busy := f.s.busy()
	out := make([]Agent, 0, len(f.s.Agents))
	for _, a := range f.s.Agents {
		out = append(out, agentView(a, busy[a.Info.ID]))
	}
	slices.SortFunc(out, func(x, y Agent) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// Agent returns one agent.
func (f *FSM) Agent(id string) (Agent, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a := f.s.Agents[id]
	if a == nil {
		return Agent{}, false
	}
	return agentView(a, f.s.busy()[id]), true
}

func agentView(a *agent, busy int) Agent {
	info := a.Info
	info.Encoders = slices.Clone(info.Encoders)
	return Agent{AgentInfo: info, State: a.State, Busy: busy, LastSeen: a.LastSeen}
}

// busy counts active attempts per agent; finished jobs have none.
func (s *state) busy() map[string]int {
	n := map[string]int{}
	s.eachActive(func(_ *job, _ *task, a *attempt) { n[a.Agent]++ })
	return n
}

func (s *state) eachActive(fn func(*job, *task, *attempt)) {
	for _, jid := range s.Active {
		j := s.Jobs[jid]
		for _, tid := range j.Tasks {
			t := s.Tasks[tid]
			for _, a := range t.Attempts {
				if a.active() {
					fn(j, t, a)
				}
			}
		}
	}
}

// Counters returns the scheduling counters: steals, speculative attempts
// and their wins.
func (f *FSM) Counters() Counters {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.s.Counters
}

// AgentScores returns, per agent that finished an encode attempt, its moving
// average of encode time per media second (lower is faster).
func (f *FSM) AgentScores() map[string]time.Duration {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := map[string]time.Duration{}
	for id, a := range f.s.Agents {
		if a.Samples > 0 {
			out[id] = a.Score
		}
	}
	return out
}

// TaskInfo returns what the leader needs to build an assignment.
func (f *FSM) TaskInfo(id string) (TaskInfo, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t := f.s.Tasks[id]
	if t == nil {
		return TaskInfo{}, false
	}
	return TaskInfo{
		ID: t.ID, Job: t.Job, Kind: t.Kind, Index: t.Index, Rung: t.Rung,
		Rungs: slices.Clone(t.Rungs), Lead: t.spread() && f.s.lead(t),
		Spec: bytes.Clone(t.Spec), Inputs: maps.Clone(t.Inputs),
		MediaSeconds: t.MediaSeconds, Output: f.s.Jobs[t.Job].Output, State: t.State,
	}, true
}

// Results returns the winners' results of a job's split, encode (by chunk
// index) and audio tasks, for building the stitch spec. A task not committed
// yet has a nil result, so a growing playlist can use what is there; ok is
// false for an unknown job.
func (f *FSM) Results(jobID string) (split json.RawMessage, encode []json.RawMessage, audio json.RawMessage, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j := f.s.Jobs[jobID]
	if j == nil {
		return nil, nil, nil, false
	}
	var encodes []*task
	for _, id := range j.Tasks {
		switch t := f.s.Tasks[id]; t.Kind {
		case KindSplit:
			split = bytes.Clone(t.Result)
		case KindEncode:
			encodes = append(encodes, t)
		}
	}
	if split == nil {
		split = bytes.Clone(j.Head) // the plan's head, while the split runs
	}
	audio = f.s.audioResult(j)
	chunks := 0
	for _, t := range encodes {
		chunks = max(chunks, t.Index+1) // Complete checked indexes are 0..n-1
	}
	encode = make([]json.RawMessage, chunks)
	for _, t := range encodes {
		switch {
		case !t.spread():
			encode[t.Index] = bytes.Clone(t.Result)
		case encode[t.Index] == nil:
			encode[t.Index] = f.s.mergedResult(j, t.Index)
		}
	}
	return split, encode, audio, true
}

// ActiveAttempts lists leased and running attempts sorted by task and number.
func (f *FSM) ActiveAttempts() []ActiveAttempt {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []ActiveAttempt
	f.s.eachActive(func(j *job, t *task, a *attempt) {
		out = append(out, ActiveAttempt{Task: t.ID, Job: j.ID, Agent: a.Agent, Attempt: a.N})
	})
	slices.SortFunc(out, func(x, y ActiveAttempt) int {
		return cmp.Or(cmp.Compare(x.Task, y.Task), cmp.Compare(x.Attempt, y.Attempt))
	})
	return out
}

// AttemptActive reports whether attempt n of a task is leased or running.
func (f *FSM) AttemptActive(task string, n int) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t := f.s.Tasks[task]
	return t != nil && n >= 1 && n <= len(t.Attempts) && t.Attempts[n-1].active()
}

// JobOfTask returns the ID of a task's job, or "" for an unknown task.
func (f *FSM) JobOfTask(task string) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if t := f.s.Tasks[task]; t != nil {
		return t.Job
	}
	return ""
}
