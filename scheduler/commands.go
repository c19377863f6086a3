package scheduler

import (
	"encoding/json"
	"fmt"
	"time"
)

// CommandType is the first byte of every Raft log entry the FSM applies.
//
// The type number is the version of the payload: the meaning and JSON shape of
// a type never change incompatibly once released. A new or changed payload
// gets a new number (e.g. CmdSubmitJobV2 = 10) while the old number keeps
// its decoder for logs and snapshots already written, and a retired number is
// never reused. Adding an optional field whose zero value keeps the old
// behaviour is the only change allowed in place.
//
// Payloads hold only the domain's own types, never an HTTP body: the log
// outlives every version of the API.
type CommandType uint8

// Command types. Never renumber, never reuse a number.
const (
	CmdRegisterAgent CommandType = 1
	CmdAgentDown     CommandType = 2
	// CmdSubmitJobV1 embedded the HTTP body of POST /v1/jobs. Retired:
	// entries already written still decode, into a SubmitJob (see
	// submitJobV1), but new ones are CmdSubmitJob.
	CmdSubmitJobV1   CommandType = 3
	CmdLease         CommandType = 4
	CmdProgress      CommandType = 5
	CmdComplete      CommandType = 6
	CmdFail          CommandType = 7
	CmdCancelJob     CommandType = 8
	CmdExpireAttempt CommandType = 9
	CmdSteal         CommandType = 10
	CmdPlayable      CommandType = 11
	CmdSubmitJob     CommandType = 12
	CmdJobCollected  CommandType = 13
	CmdCompactJobs   CommandType = 14
	CmdForgetAgents  CommandType = 15
	// CmdGrantOutputs records the objects an attempt may write (outputs.go).
	CmdGrantOutputs CommandType = 16
	// CmdEndAV1Job ends a job's AV1 job (av1.go).
	CmdEndAV1Job CommandType = 17
	// CmdAddAV1Job gives a done job an AV1 job afterwards (av1.go).
	CmdAddAV1Job CommandType = 18
	// CmdSplitHead adds the head of a running split's plan (splithead.go).
	CmdSplitHead CommandType = 19
)

func (t CommandType) String() string {
	switch t {
	case CmdRegisterAgent:
		return "RegisterAgent"
	case CmdAgentDown:
		return "AgentDown"
	case CmdSubmitJobV1:
		return "SubmitJobV1"
	case CmdSubmitJob:
		return "SubmitJob"
	case CmdLease:
		return "Lease"
	case CmdProgress:
		return "Progress"
	case CmdComplete:
		return "Complete"
	case CmdFail:
		return "Fail"
	case CmdCancelJob:
		return "CancelJob"
	case CmdExpireAttempt:
		return "ExpireAttempt"
	case CmdSteal:
		return "Steal"
	case CmdPlayable:
		return "Playable"
	case CmdJobCollected:
		return "JobCollected"
	case CmdCompactJobs:
		return "CompactJobs"
	case CmdForgetAgents:
		return "ForgetAgents"
	case CmdGrantOutputs:
		return "GrantOutputs"
	case CmdEndAV1Job:
		return "EndAV1Job"
	case CmdAddAV1Job:
		return "AddAV1Job"
	case CmdSplitHead:
		return "SplitHead"
	}
	return fmt.Sprintf("CommandType(%d)", uint8(t))
}

// Every payload carries Now, stamped by the leader: Apply never reads a clock.

// RegisterAgent upserts an agent and marks it alive.
type RegisterAgent struct {
	Info AgentInfo `json:"info"`
	Now  time.Time `json:"now"`
}

// AgentDown marks an agent dead, left or draining. Dead and left agents lose
// their active attempts (each counts as a failed attempt); draining agents
// keep them but get no new leases.
type AgentDown struct {
	ID    string     `json:"id"`
	State AgentState `json:"state"` // AgentDead, AgentLeft or AgentDraining
	Now   time.Time  `json:"now"`
}

// SubmitJob queues a job and its split task "<ID>-split". The leader
// resolves every field from the request before proposing it.
type SubmitJob struct {
	ID string `json:"id"`
	// Source is the storage key of the uploaded original.
	Source string `json:"source"`
	// Output is the storage prefix the ladder is published under.
	Output   string `json:"output"`
	Priority int    `json:"priority,omitempty"`
	// Encoder is the H.264 encoder the job asks for: media.EncoderAuto or
	// an encoder's name. Each encode attempt gets it resolved for the agent
	// that runs it (see FindWork); empty means the split's choice stands.
	Encoder   string          `json:"encoder,omitempty"`
	SplitSpec json.RawMessage `json:"splitSpec,omitempty"`
	// SourceInput is the storage key the split task reads as input "source"
	// (defaults to Source).
	SourceInput string `json:"sourceInput"`
	// IdempotencyKey, when set, makes the submission exactly-once: a
	// SubmitJob whose key already names a job creates nothing, and Apply
	// returns an ExistingJob (see submitJob). The key is forgotten with its
	// job when the job is compacted.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// ExclusiveOutput refuses the job (ErrOutputTaken) when Output
	// overlaps an unfinished job's; entries written before it existed
	// leave it false and are applied as they were.
	ExclusiveOutput bool      `json:"exclusiveOutput,omitempty"`
	Now             time.Time `json:"now"`
}

// submitJobV1 is the payload of CmdSubmitJobV1 entries, which carried the
// HTTP request as it was then. Only the fields the state machine read are
// kept; the job's requested encoder stays empty, as the state those entries
// built had none (a snapshot and a replayed log must agree).
type submitJobV1 struct {
	ID     string `json:"id"`
	Submit struct {
		Source   string `json:"source"`
		Output   string `json:"output"`
		Priority int    `json:"priority"`
	} `json:"submit"`
	Output      string          `json:"output"`
	SplitSpec   json.RawMessage `json:"splitSpec,omitempty"`
	SourceInput string          `json:"sourceInput"`
	Now         time.Time       `json:"now"`
}

// upgrade is the SubmitJob an old entry means.
func (c *submitJobV1) upgrade() *SubmitJob {
	output := c.Output
	if output == "" {
		output = c.Submit.Output
	}
	return &SubmitJob{ID: c.ID, Source: c.Submit.Source, Output: output, Priority: c.Submit.Priority,
		SplitSpec: c.SplitSpec, SourceInput: c.SourceInput, Now: c.Now}
}

// Lease gives pending tasks to an agent. Apply returns a LeaseResult.
//
// A speculative lease (see FindWork) instead gives the agent a backup
// attempt of tasks that are running elsewhere: a task is granted only while
// it is running, has fewer than MaxActiveAttempts active attempts and none of
// them is the agent's. The first attempt to complete wins.
type Lease struct {
	Agent       string   `json:"agent"`
	Tasks       []string `json:"tasks"`
	Speculative bool     `json:"speculative,omitempty"`
	// Encoders maps an encode task to the H.264 encoder resolved for the
	// agent (see FindWork). A task left out runs what its split planned.
	Encoders map[string]string `json:"encoders,omitempty"`
	Now      time.Time         `json:"now"`
}

// LeaseResult is what Apply returns for a Lease or a Steal: the attempts
// created. Tasks that were no longer pending (for a speculative lease: no
// longer running alone) are left out.
type LeaseResult struct {
	Granted []AttemptRef
}

// Progress reports frames done by an active attempt.
type Progress struct {
	Task        string    `json:"task"`
	Attempt     int       `json:"attempt"`
	FramesDone  int64     `json:"framesDone"`
	FramesTotal int64     `json:"framesTotal"`
	Now         time.Time `json:"now"`

	// Agent is the agent reporting; Apply refuses an attempt leased to
	// another (see ErrNotYourAttempt). Empty in entries written before it.
	Agent string `json:"agent,omitempty"`
}

// Complete commits an attempt's result. NewTasks and Rungs come only with the
// split task's completion.
type Complete struct {
	Task     string          `json:"task"`
	Attempt  int             `json:"attempt"`
	Result   json.RawMessage `json:"result,omitempty"`
	Outputs  []Object        `json:"outputs,omitempty"`
	NewTasks []NewTask       `json:"newTasks,omitempty"`
	Rungs    []string        `json:"rungs,omitempty"`
	Now      time.Time       `json:"now"`

	// Agent is the agent reporting; when set, Apply refuses an attempt
	// leased to another (see ErrNotYourAttempt), and outputs that are not
	// exactly the attempt's granted ones. Empty in entries written before it.
	Agent string `json:"agent,omitempty"`
}

// NewTask is an encode or audio task planned by the split task. Encode task
// indexes are the chunk numbers 0..n-1.
type NewTask struct {
	ID    string          `json:"id"`
	Kind  TaskKind        `json:"kind"`
	Index int             `json:"index"`
	Spec  json.RawMessage `json:"spec,omitempty"`
	// Inputs maps input names to storage keys.
	Inputs       map[string]string `json:"inputs,omitempty"`
	MediaSeconds float64           `json:"mediaSeconds"`
	// Prefer names encoders (e.g. hardware H.264 encoders for high rungs)
	// the task would rather run on. It is a preference, not a requirement:
	// see nextTasks. Omitted when empty, so older entries decode the same.
	Prefer []string `json:"prefer,omitempty"`
	// Rung is the rung a KindEncodeAV1 task encodes (Index is its chunk).
	Rung string `json:"rung,omitempty"`
	// Rungs are the rungs a KindEncode task of a spread chunk encodes, a
	// part of the job's (see spread.go); empty for a task of every rung.
	Rungs []string `json:"rungs,omitempty"`
}

// Fail records a failed attempt. Permanent errors fail the job at once.
type Fail struct {
	Task      string    `json:"task"`
	Attempt   int       `json:"attempt"`
	Error     string    `json:"error"`
	Permanent bool      `json:"permanent,omitempty"`
	Now       time.Time `json:"now"`

	// Agent is the agent reporting; Apply refuses an attempt leased to
	// another (see ErrNotYourAttempt). Empty in entries written before it.
	Agent string `json:"agent,omitempty"`
}

// CancelJob cancels an unfinished job.
type CancelJob struct {
	Job string    `json:"job"`
	Now time.Time `json:"now"`
}

// ExpireAttempt fails an attempt whose lease ran out; a no-op when the attempt
// is no longer active.
type ExpireAttempt struct {
	Task    string    `json:"task"`
	Attempt int       `json:"attempt"`
	Reason  string    `json:"reason"`
	Now     time.Time `json:"now"`
}

// Steal moves a leased attempt that its agent (the victim) has not started
// yet to an idle agent (the thief): the victim's attempt is canceled and the
// thief gets a new leased attempt, in one command, so the task never has two
// owners. When the attempt is no longer leased-not-running by the victim,
// Apply returns ErrStaleAttempt and changes nothing. Apply returns a
// LeaseResult with the thief's attempt. See FindWork for the policy.
type Steal struct {
	Thief   string `json:"thief"`
	Task    string `json:"task"`
	Victim  string `json:"victim"`
	Attempt int    `json:"attempt"`
	// Encoder is the H.264 encoder resolved for the thief (encode tasks).
	Encoder string    `json:"encoder,omitempty"`
	Now     time.Time `json:"now"`
}

// Playable records when a job's master playlist first appeared, so viewers
// could start watching. Only the first one counts: later ones, for a job in
// any state, change nothing.
type Playable struct {
	Job string    `json:"job"`
	Now time.Time `json:"now"`
}

// commandType maps a payload (value or pointer) to its type number.
func commandType(payload any) (CommandType, bool) {
	switch payload.(type) {
	case RegisterAgent, *RegisterAgent:
		return CmdRegisterAgent, true
	case AgentDown, *AgentDown:
		return CmdAgentDown, true
	case SubmitJob, *SubmitJob:
		return CmdSubmitJob, true
	case Lease, *Lease:
		return CmdLease, true
	case Progress, *Progress:
		return CmdProgress, true
	case Complete, *Complete:
		return CmdComplete, true
	case Fail, *Fail:
		return CmdFail, true
	case CancelJob, *CancelJob:
		return CmdCancelJob, true
	case ExpireAttempt, *ExpireAttempt:
		return CmdExpireAttempt, true
	case Steal, *Steal:
		return CmdSteal, true
	case Playable, *Playable:
		return CmdPlayable, true
	case JobCollected, *JobCollected:
		return CmdJobCollected, true
	case CompactJobs, *CompactJobs:
		return CmdCompactJobs, true
	case ForgetAgents, *ForgetAgents:
		return CmdForgetAgents, true
	case GrantOutputs, *GrantOutputs:
		return CmdGrantOutputs, true
	case EndAV1Job, *EndAV1Job:
		return CmdEndAV1Job, true
	case AddAV1Job, *AddAV1Job:
		return CmdAddAV1Job, true
	case SplitHead, *SplitHead:
		return CmdSplitHead, true
	}
	return 0, false
}

// newPayload returns a pointer to a zero payload of type t, or nil.
func newPayload(t CommandType) any {
	switch t {
	case CmdRegisterAgent:
		return new(RegisterAgent)
	case CmdAgentDown:
		return new(AgentDown)
	case CmdSubmitJobV1:
		return new(submitJobV1)
	case CmdSubmitJob:
		return new(SubmitJob)
	case CmdLease:
		return new(Lease)
	case CmdProgress:
		return new(Progress)
	case CmdComplete:
		return new(Complete)
	case CmdFail:
		return new(Fail)
	case CmdCancelJob:
		return new(CancelJob)
	case CmdExpireAttempt:
		return new(ExpireAttempt)
	case CmdSteal:
		return new(Steal)
	case CmdPlayable:
		return new(Playable)
	case CmdJobCollected:
		return new(JobCollected)
	case CmdCompactJobs:
		return new(CompactJobs)
	case CmdForgetAgents:
		return new(ForgetAgents)
	case CmdGrantOutputs:
		return new(GrantOutputs)
	case CmdEndAV1Job:
		return new(EndAV1Job)
	case CmdAddAV1Job:
		return new(AddAV1Job)
	case CmdSplitHead:
		return new(SplitHead)
	}
	return nil
}

// Encode builds a log entry: [1-byte type][JSON payload]. The payload must be
// the type's struct (or a pointer to it).
func Encode(t CommandType, payload any) ([]byte, error) {
	got, ok := commandType(payload)
	if !ok || got != t {
		return nil, fmt.Errorf("encode %v: payload is a %T: %w", t, payload, ErrInvalidInput)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %v: %w", t, err)
	}
	return append([]byte{byte(t)}, b...), nil
}

// Decode parses a log entry built by Encode and returns its type and a pointer
// to its payload struct; a retired type's payload comes as the struct that
// replaced it.
func Decode(b []byte) (CommandType, any, error) {
	if len(b) == 0 {
		return 0, nil, fmt.Errorf("decode command: empty entry")
	}
	t := CommandType(b[0])
	p := newPayload(t)
	if p == nil {
		return t, nil, fmt.Errorf("decode command: unknown type %d", b[0])
	}
	if err := json.Unmarshal(b[1:], p); err != nil {
		return t, nil, fmt.Errorf("decode %v: %w", t, err)
	}
	if old, ok := p.(*submitJobV1); ok {
		return t, old.upgrade(), nil
	}
	return t, p, nil
}
