package scheduler

import (
	"time"

	"github.com/sunomi/sunomi/media"
)

// The domain's vocabulary. The states and kinds are strings because they are
// written, as these values, into every log entry and snapshot: a value never
// changes once released.

// JobState is where a job is in its life: queued, then splitting, encoding
// and stitching, until it ends done, failed or canceled.
type JobState string

// Job states.
const (
	JobQueued    JobState = "queued"
	JobSplitting JobState = "splitting"
	JobEncoding  JobState = "encoding"
	JobStitching JobState = "stitching"
	JobDone      JobState = "done"
	JobFailed    JobState = "failed"
	JobCanceled  JobState = "canceled"
)

// Finished reports whether the state is final: the job will not change again.
func (s JobState) Finished() bool {
	return s == JobDone || s == JobFailed || s == JobCanceled
}

// TaskKind is what a task does; the pipeline package runs each kind.
type TaskKind string

// Task kinds.
const (
	KindSplit  TaskKind = "split"
	KindEncode TaskKind = "encode"
	KindAudio  TaskKind = "audio"
	KindStitch TaskKind = "stitch"
	// KindEncodeAV1 encodes one chunk of one AV1 rung. These tasks belong
	// to a job's AV1 job (see Job.AV1Job) and come after every other kind
	// of every job: see nextAV1Tasks.
	KindEncodeAV1 TaskKind = "encode-av1"
)

// The codec label of the farm's task metrics: the video codec a task encodes.
const (
	CodecLabelH264 = "h264"
	CodecLabelAV1  = "av1"
	CodecLabelNone = "none" // the kind encodes no video
)

// TaskKinds lists every task kind.
func TaskKinds() []TaskKind {
	return []TaskKind{KindSplit, KindEncode, KindEncodeAV1, KindAudio, KindStitch}
}

// MetricLabels are the kind and codec labels of the kind's tasks in the
// farm's metrics. AV1 encodes count as encode tasks of codec av1, so that a
// series by kind keeps meaning what it did and the codec label splits the
// encodes (a dashboard summing encode work picks a codec); a kind this
// version does not know (an agent's report) is media.LabelOther.
func (k TaskKind) MetricLabels() (kind, codec string) {
	switch k {
	case KindEncode:
		return string(KindEncode), CodecLabelH264
	case KindEncodeAV1:
		return string(KindEncode), CodecLabelAV1
	case KindSplit, KindAudio, KindStitch:
		return string(k), CodecLabelNone
	}
	return media.LabelOther, CodecLabelNone
}

// AttemptState is the state of an attempt, and of a task: an unfinished
// task is pending, leased or running as its attempts are, and ends done
// (one attempt committed), failed or canceled with its job.
type AttemptState string

// Attempt and task states.
const (
	StatePending  AttemptState = "pending"
	StateLeased   AttemptState = "leased"
	StateRunning  AttemptState = "running"
	StateDone     AttemptState = "done"
	StateFailed   AttemptState = "failed"
	StateCanceled AttemptState = "canceled"
)

// Active reports whether an attempt in this state holds its task: leased or
// running.
func (s AttemptState) Active() bool { return s == StateLeased || s == StateRunning }

// AgentState is what the cluster knows of an agent: alive agents get work,
// draining ones finish what they hold, dead and left ones lost theirs.
type AgentState string

// Agent states.
const (
	AgentAlive    AgentState = "alive"
	AgentDraining AgentState = "draining"
	AgentDead     AgentState = "dead"
	AgentLeft     AgentState = "left"
)

// Family groups the encoders whose chunks may share a rung: a job's encode
// attempts all use one family (see Job.Family).
type Family string

// Encoder families.
const (
	FamilyHardware Family = "hardware"
	FamilySoftware Family = "software"
)

// FamilyOf is the family of an H.264 encoder (by its libavcodec name).
func FamilyOf(encoder string) Family {
	if media.Hardware(encoder) {
		return FamilyHardware
	}
	return FamilySoftware
}

// Object is an output file an attempt uploaded.
type Object struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// AttemptRef names one attempt of a task.
type AttemptRef struct {
	Task    string `json:"task"`
	Attempt int    `json:"attempt"`
}

// AgentInfo is what an agent says about itself when it registers.
type AgentInfo struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"`
	Slots int    `json:"slots"`
	Cores int    `json:"cores"`
	// Encoders are the encoders the agent can open: H.264 ones, and
	// media.EncoderSVTAV1 when it runs AV1 tasks.
	Encoders []string `json:"encoders"`
	Version  string   `json:"version"`
}

// The read views: copies of the state that the read methods return, which
// callers may keep and modify. How they are shown (HTTP, metrics) is the
// caller's business.

// Job is a job with its progress, and its tasks when asked for.
type Job struct {
	ID string
	// Seq orders jobs by age: the n-th job submitted has Seq n.
	Seq      uint64
	State    JobState
	Source   string // storage key of the uploaded original
	Output   string // storage prefix the ladder is published under
	Priority int
	// Encoder is the H.264 encoder the job asked for (media.EncoderAuto,
	// or a name); "" for jobs submitted before it was recorded.
	Encoder string
	// Family is the encoder family its encode attempts are pinned to, once
	// the first one was leased with a resolved encoder.
	Family  Family
	Error   string
	Created time.Time
	Updated time.Time
	Rungs   []string
	// PlayableAt is when the master playlist first appeared.
	PlayableAt *time.Time
	// CollectedAt is when the finished job's clean-up was recorded; zero
	// until then.
	CollectedAt time.Time
	// ChunksTotal and ChunksDone count the encode tasks. Every rung
	// advances together (one decode feeds all rungs), so FramesDone and
	// FramesTotal, summed over the encode tasks, are each rung's progress.
	ChunksTotal, ChunksDone int
	FramesDone, FramesTotal int64
	// Warnings are the "warnings" of the stitch task's result once it is
	// done: what the job tells the video's owner about the source.
	Warnings []string
	// AV1Job names the job that encodes this job's AV1 rungs, when its
	// split planned some; Parent, on that AV1 job, names this one.
	AV1Job, Parent string
	Tasks          []Task // only from FSM.Job
}

// Task is one unit of work of a job.
type Task struct {
	ID    string
	Kind  TaskKind
	Index int
	// Rungs are the rungs a spread chunk's task encodes; empty for a task
	// of every rung.
	Rungs    []string
	State    AttemptState
	Winner   int // N of the committed attempt
	Attempts []Attempt
}

// Attempt is one agent's try at a task.
type Attempt struct {
	N           int
	Agent       string
	State       AttemptState
	Error       string
	FramesDone  int64
	FramesTotal int64
	// Encoder is the H.264 encoder resolved for the agent at lease time
	// (encode tasks only; "" for attempts leased before it existed).
	Encoder     string
	Speculative bool
	Started     time.Time // leased
	// Running is when the first progress report came: the agent had its
	// inputs and a slot, and started the task process. Zero until then.
	Running  time.Time
	Finished time.Time
}

// Agent is an agent as the cluster knows it; Busy counts its active attempts.
type Agent struct {
	AgentInfo
	State    AgentState
	Busy     int
	LastSeen time.Time
}
