package scheduler

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/sunomi/sunomi/media"
)

// stateVersion is written into snapshots; bump it (and keep a reader for the
// old layout) when the layout changes incompatibly. Version 2 added the
// retention indexes (Uncollected, Collected, Keys): a version 1 snapshot is
// read by upgrade.
const stateVersion = 2

// state is everything the FSM replicates; its JSON is the snapshot. Maps are
// for lookup only: Apply walks the ordered slices (Active, job.Tasks,
// task.Attempts), never a map, so replicas do the same thing in the same order.
type state struct {
	Version int `json:"version"`
	// Seq counts submitted jobs; a job's Seq orders jobs by age.
	Seq    uint64            `json:"seq"`
	Jobs   map[string]*job   `json:"jobs"`
	Tasks  map[string]*task  `json:"tasks"`
	Agents map[string]*agent `json:"agents"`
	// Active lists the unfinished jobs, oldest first.
	Active []string `json:"active"`
	// LeaseSeq counts the attempts ever created; an attempt's Seq orders
	// the leases, so a steal takes the attempt its agent would start last.
	LeaseSeq uint64   `json:"leaseSeq,omitempty"`
	Counters Counters `json:"counters"`
	// Uncollected lists the finished jobs whose clean-up is not recorded
	// yet, oldest (by Seq) first: the leader's collection work.
	Uncollected []string `json:"uncollected,omitempty"`
	// Collected lists the finished jobs whose clean-up is recorded, in the
	// order recorded: compaction takes them from the front.
	Collected []collection `json:"collected,omitempty"`
	// Keys maps each idempotency key to the job it created.
	Keys map[string]string `json:"keys,omitempty"`

	// bySeq lists every job by Seq, for paging through them; derived (see
	// index), not replicated, and it may still name compacted jobs.
	bySeq []jobSeq
	// bySeqGone counts the compacted jobs bySeq still names.
	bySeqGone int
	// outputs indexes the unfinished jobs' output prefixes; derived.
	outputs liveOutputs

	// changed collects the jobs the current command touched (not replicated).
	changed []string
}

type job struct {
	ID       string    `json:"id"`
	Seq      uint64    `json:"seq"`
	State    JobState  `json:"state"`
	Source   string    `json:"source"`
	Output   string    `json:"output"`
	Priority int       `json:"priority,omitempty"`
	Error    string    `json:"error,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Rungs    []string  `json:"rungs,omitempty"`
	// Encoder is the H.264 encoder the job asked for: media.EncoderAuto or
	// a name. Empty in jobs submitted before it was recorded: their encode
	// attempts get no resolved encoder and run what the split planned.
	Encoder string `json:"encoder,omitempty"`
	// Family pins the encoder family of the job's encode attempts, so a
	// rung's chunks come from one family; set by the first encode lease
	// with a resolved encoder (see resolveEncoder).
	Family Family `json:"family,omitempty"`
	// PlayableAt is set once, by the first Playable command.
	PlayableAt *time.Time `json:"playableAt,omitempty"`
	// Tasks lists the job's task IDs in creation order: split, then the
	// split's NewTasks in their order, then stitch.
	Tasks []string `json:"tasks"`
	// Key is the idempotency key the job was submitted with, if any.
	Key string `json:"key,omitempty"`
	// CollectedAt is when the leader recorded the finished job's clean-up
	// (JobCollected); zero until then.
	CollectedAt time.Time `json:"collectedAt,omitzero"`
	// AV1Job is the job of this job's AV1 tasks (see newAV1Job); Parent,
	// on that job, is this one. Both empty for jobs without AV1 rungs.
	AV1Job string `json:"av1Job,omitempty"`
	Parent string `json:"parent,omitempty"`
	// HeadAttempt is the split attempt that reported the plan's head
	// (splithead.go), 0 when none did; Head is that head's split result,
	// kept until the split completes.
	HeadAttempt int             `json:"headAttempt,omitempty"`
	Head        json.RawMessage `json:"head,omitempty"`
}

func (j *job) finished() bool { return j.State.Finished() }

type task struct {
	ID           string            `json:"id"`
	Job          string            `json:"job"`
	Kind         TaskKind          `json:"kind"`
	Index        int               `json:"index,omitempty"`
	Spec         json.RawMessage   `json:"spec,omitempty"`
	Inputs       map[string]string `json:"inputs,omitempty"`
	MediaSeconds float64           `json:"mediaSeconds,omitempty"`
	// Prefer names the encoders the task would rather run on (see
	// NewTask.Prefer); absent in tasks planned before it existed.
	Prefer []string `json:"prefer,omitempty"`
	// Rung is the rung an AV1 task encodes; empty for other kinds.
	Rung string `json:"rung,omitempty"`
	// Rungs are the rungs an encode task of a spread chunk encodes (see
	// spread.go); empty for a task of every rung.
	Rungs []string `json:"rungs,omitempty"`
	// State is pending, leased or running (derived from the attempts by
	// refresh) until the task is done, or failed/canceled with its job.
	State   AttemptState    `json:"state"`
	Winner  int             `json:"winner,omitempty"` // N of the committed attempt
	Result  json.RawMessage `json:"result,omitempty"`
	Outputs []Object        `json:"outputs,omitempty"`
	// Attempts[i].N == i+1.
	Attempts []*attempt `json:"attempts,omitempty"`
}

func (t *task) terminal() bool {
	return t.State == StateDone || t.State == StateFailed || t.State == StateCanceled
}

// refresh derives an unfinished task's state from its attempts.
func (t *task) refresh() {
	if t.terminal() {
		return
	}
	t.State = StatePending
	for _, a := range t.Attempts {
		switch a.State {
		case StateRunning:
			t.State = StateRunning
		case StateLeased:
			if t.State == StatePending {
				t.State = StateLeased
			}
		}
	}
}

func (t *task) failures() int {
	n := 0
	for _, a := range t.Attempts {
		if a.State == StateFailed {
			n++
		}
	}
	return n
}

// activeAttempts counts the task's leased and running attempts.
func (t *task) activeAttempts() int {
	n := 0
	for _, a := range t.Attempts {
		if a.active() {
			n++
		}
	}
	return n
}

// activeOn reports whether the agent holds an active attempt of the task.
func (t *task) activeOn(agent string) bool {
	for _, a := range t.Attempts {
		if a.Agent == agent && a.active() {
			return true
		}
	}
	return false
}

func (t *task) failedBy(agent string) bool {
	for _, a := range t.Attempts {
		if a.Agent == agent && a.State == StateFailed {
			return true
		}
	}
	return false
}

// frames is the task's share of every rung's progress: the total is the
// largest any attempt reported (it is the chunk's frame count), done is the
// total once committed, else the most advanced active attempt's count.
func (t *task) frames() (done, total int64) {
	for _, a := range t.Attempts {
		total = max(total, a.FramesTotal)
		if a.active() {
			done = max(done, a.FramesDone)
		}
	}
	if t.State == StateDone {
		done = total
	}
	return done, total
}

type attempt struct {
	N     int          `json:"n"`
	Seq   uint64       `json:"seq,omitempty"` // state.LeaseSeq when created
	Agent string       `json:"agent"`
	State AttemptState `json:"state"` // leased, running, done, failed, canceled
	// Error is why a failed attempt failed or a canceled one was taken away.
	Error       string `json:"error,omitempty"`
	FramesDone  int64  `json:"framesDone,omitempty"`
	FramesTotal int64  `json:"framesTotal,omitempty"`
	// Encoder is the H.264 encoder resolved for the agent when an encode
	// attempt was leased; empty for other kinds and for attempts leased
	// before it was recorded (the agent runs what the split planned).
	Encoder string `json:"encoder,omitempty"`
	// Speculative marks a backup of a task that was running elsewhere.
	Speculative bool      `json:"speculative,omitempty"`
	Started     time.Time `json:"started"` // leased
	// Running is when the first progress report came: the agent took the
	// attempt out of its queue. Timings start here, not at the lease, so
	// time spent queued behind another task is not counted as encoding.
	Running  time.Time `json:"running,omitzero"`
	Finished time.Time `json:"finished,omitzero"`

	// Granted lists the objects the attempt may write, sorted by name
	// (see GrantOutputs).
	Granted []Grant `json:"granted,omitempty"`
}

func (a *attempt) active() bool { return a.State.Active() }

// ranSince is when the attempt started working: its first progress report,
// or its lease when it never reported any.
func (a *attempt) ranSince() time.Time {
	if !a.Running.IsZero() {
		return a.Running
	}
	return a.Started
}

type agent struct {
	Info     AgentInfo  `json:"info"`
	State    AgentState `json:"state"`
	LastSeen time.Time  `json:"lastSeen"`
	// Score is the agent's encode time per media second, an exponential
	// moving average over its finished encode attempts (Samples of them).
	// It is a Duration, an integer, so every replica computes the same
	// average bit for bit.
	Score   time.Duration `json:"score,omitempty"`
	Samples int           `json:"samples,omitempty"`
}

// offers reports whether the agent advertises one of the encoders.
func (a *agent) offers(encoders []string) bool {
	for _, e := range encoders {
		if slices.Contains(a.Info.Encoders, e) {
			return true
		}
	}
	return false
}

// offersAV1 reports whether the agent runs AV1 tasks.
func (a *agent) offersAV1() bool { return slices.Contains(a.Info.Encoders, media.EncoderSVTAV1) }

// slots is how many attempts the agent runs at once.
func (a *agent) slots() int { return max(1, a.Info.Slots) }

// Counters count scheduling events since the cluster began; they are part of
// the replicated state, so they survive leader changes and restarts.
type Counters struct {
	// Steals counts Steal commands applied.
	Steals uint64 `json:"steals"`
	// SpeculativeAttempts counts backup attempts leased.
	SpeculativeAttempts uint64 `json:"speculativeAttempts"`
	// SpeculativeWins counts tasks a backup attempt committed.
	SpeculativeWins uint64 `json:"speculativeWins"`
}

func newState() *state {
	s := &state{Version: stateVersion}
	s.fill()
	return s
}

// fill makes the maps a decoded snapshot left nil.
func (s *state) fill() {
	if s.Jobs == nil {
		s.Jobs = map[string]*job{}
	}
	if s.Tasks == nil {
		s.Tasks = map[string]*task{}
	}
	if s.Agents == nil {
		s.Agents = map[string]*agent{}
	}
	if s.Keys == nil {
		s.Keys = map[string]string{}
	}
}

// touch marks a job changed at now.
func (s *state) touch(j *job, now time.Time) {
	j.Updated = now
	for _, id := range s.changed {
		if id == j.ID {
			return
		}
	}
	s.changed = append(s.changed, j.ID)
}

// seen records that an agent was heard from.
func (s *state) seen(agentID string, now time.Time) {
	if a := s.Agents[agentID]; a != nil {
		a.LastSeen = now
	}
}

// raw normalises an absent or null JSON value to nil, so that a state and its
// snapshot's restoration hold the same bytes.
func raw(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || string(m) == "null" {
		return nil
	}
	return m
}
