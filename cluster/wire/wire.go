// Package wire is the coordinator's HTTP contract: the JSON bodies of the
// public API and of the agent protocol, shared by the coordinator, its
// client (cluster/client), the agents and the sunomi CLI. Types only: the
// coordinator maps them to the domain (package scheduler) at its edge.
package wire

import (
	"encoding/json"
	"time"

	"github.com/sunomi/sunomi/scheduler"
)

// IdempotencyKeyHeader carries the idempotency key of POST /v1/jobs (at most
// 200 bytes; the API uses the video's ID). The first submission with a key
// creates the job (201); every later one with the same key, on any
// coordinator and across leader changes, creates nothing and returns that
// job (200), until the job is compacted after its retention. A key reused
// for another source is refused (409).
const IdempotencyKeyHeader = "Idempotency-Key"

// The states and kinds in these bodies are the scheduler's own types: the
// domain spells its vocabulary once, and the JSON carries the same strings.

// SubmitJob is the body of POST /v1/jobs.
type SubmitJob struct {
	// Source is the storage key of the uploaded original.
	Source string `json:"source"`
	// Output is the storage prefix the ladder is published under
	// (default "videos/{jobID}/hls").
	Output   string     `json:"output,omitempty"`
	Priority int        `json:"priority,omitempty"`
	Options  JobOptions `json:"options,omitempty"`
}

// JobOptions tune the pipeline; zero values mean the defaults.
type JobOptions struct {
	Segment string `json:"segment,omitempty"` // Go duration, e.g. "4s"
	Chunk   string `json:"chunk,omitempty"`
	Preset  string `json:"preset,omitempty"`
	CRF     int    `json:"crf,omitempty"`
	Rungs   []int  `json:"rungs,omitempty"`
	Encoder string `json:"encoder,omitempty"`
	// Segments is the segment container: "fmp4" (CMAF, HLS and DASH, the
	// default) or "ts" (MPEG-TS).
	Segments string `json:"segments,omitempty"`
	// AV1 is "off" (the default) or "all": an AV1 rung beside every H.264
	// rung, fMP4 segments only. The job publishes and ends with its H.264
	// ladder as it would without AV1; its AV1 job (Job.AV1Job) encodes the
	// AV1 rungs afterwards, on the agents that advertise libsvtav1, and adds
	// each to the master playlist and DASH manifest once it is complete.
	AV1 string `json:"av1,omitempty"`
}

// Job is a transcoding job as clients see it.
type Job struct {
	ID          string             `json:"id"`
	State       scheduler.JobState `json:"state"`
	Source      string             `json:"source"`
	Output      string             `json:"output"`
	Priority    int                `json:"priority"`
	Error       string             `json:"error,omitempty"`
	Created     time.Time          `json:"created"`
	Updated     time.Time          `json:"updated"`
	ChunksTotal int                `json:"chunksTotal"`
	ChunksDone  int                `json:"chunksDone"`
	Rungs       []RungProgress     `json:"rungs,omitempty"`
	// Warnings are what the finished job tells the video's owner about the
	// source: frames that could not be decoded and were filled, damage the
	// decoders concealed, extras that could not be written.
	Warnings []string `json:"warnings,omitempty"`
	// PlayableAt is when the master playlist first appeared: viewers can
	// start before the job ends.
	PlayableAt *time.Time `json:"playableAt,omitempty"`
	// CollectedAt is when the finished job's clean-up (temporary and
	// unpublished objects) was recorded as done; the job is compacted out
	// of the cluster's state a retention after it.
	CollectedAt *time.Time `json:"collectedAt,omitempty"`
	// AV1Job is the ID of the job encoding this job's AV1 rungs, when it
	// asked for some (options.av1); Parent, on that AV1 job, is this job's
	// ID. The AV1 job ends done once every AV1 rung is published, or
	// failed with the reason (its Error), the H.264 ladder staying as it is.
	AV1Job string `json:"av1Job,omitempty"`
	Parent string `json:"parent,omitempty"`
	Tasks  []Task `json:"tasks,omitempty"` // in GET /v1/jobs/{id} only
}

// GET /v1/jobs lists the jobs newest first, one page at a time, with these
// query parameters:
//
//	state  comma-separated job states to keep (queued, splitting, encoding,
//	       stitching, done, failed, canceled; "running" means splitting,
//	       encoding and stitching); all when absent
//	limit  page size, DefaultJobsLimit when absent, at most MaxJobsLimit
//	after  the Next of the previous page; the newest jobs when absent
//
// The order is stable: a cursor stays valid while jobs are submitted (they
// come before the first page) and compacted (they drop out).
const (
	JobsStateParam = "state"
	JobsLimitParam = "limit"
	JobsAfterParam = "after"

	DefaultJobsLimit = 100
	MaxJobsLimit     = 1000
)

// JobList is the body of GET /v1/jobs: a page of jobs, without their tasks.
type JobList struct {
	Jobs []Job `json:"jobs"`
	// Next is the cursor of the next page (the after parameter); absent on
	// the last page.
	Next string `json:"next,omitempty"`
}

// RungProgress counts the frames encoded for one rung.
type RungProgress struct {
	Name        string `json:"name"`
	FramesDone  int64  `json:"framesDone"`
	FramesTotal int64  `json:"framesTotal"`
}

// Task is one unit of work of a job.
type Task struct {
	ID    string             `json:"id"`
	Kind  scheduler.TaskKind `json:"kind"`
	Index int                `json:"index"`
	// Rungs are the rungs of a first chunk's part (a task per part of the
	// ladder); empty for a task of every rung.
	Rungs    []string               `json:"rungs,omitempty"`
	State    scheduler.AttemptState `json:"state"`
	Winner   int                    `json:"winner,omitempty"` // the committed attempt
	Attempts []Attempt              `json:"attempts,omitempty"`
}

// Attempt is one agent's try at a task.
type Attempt struct {
	N           int                    `json:"n"`
	Agent       string                 `json:"agent"`
	State       scheduler.AttemptState `json:"state"`
	Error       string                 `json:"error,omitempty"`
	FramesDone  int64                  `json:"framesDone"`
	FramesTotal int64                  `json:"framesTotal"`
	Started     time.Time              `json:"started"` // leased
	// Running is when the agent first reported progress: it had downloaded
	// the attempt's inputs, got a slot and started the task process.
	Running  time.Time `json:"running,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// Agent is a worker as the cluster knows it.
type Agent struct {
	ID       string               `json:"id"`
	State    scheduler.AgentState `json:"state"`
	Addr     string               `json:"addr"`
	Slots    int                  `json:"slots"`
	Busy     int                  `json:"busy"`
	Cores    int                  `json:"cores"`
	Encoders []string             `json:"encoders"`
	Version  string               `json:"version"`
	LastSeen time.Time            `json:"lastSeen"`
}

// Cluster is the body of GET /v1/cluster.
type Cluster struct {
	NodeID       string `json:"nodeId"`
	State        string `json:"state"` // raft.RaftState.String(): Leader, Follower, Candidate
	Leader       string `json:"leader"`
	LeaderHTTP   string `json:"leaderHttp"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
	Peers        []Peer `json:"peers"`
}

// Peer is a Raft voter.
type Peer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// Event is one server-sent event of GET /v1/jobs/{id}/events: the job after a change.
type Event struct {
	Type string `json:"type"` // "state" or "progress"
	Job  Job    `json:"job"`
}

// Error is the body of every 4xx and 5xx response.
type Error struct {
	Error string `json:"error"`
}

// The agent protocol.

// LeaseRequest is the body of POST /v1/agent/lease?wait=20s: the agent
// long-polls for up to Free tasks.
type LeaseRequest struct {
	Agent AgentInfo `json:"agent"`
	Free  int       `json:"free"`
}

// The agent protocol carries three of the domain's records unchanged, so
// they are the scheduler's types rather than mirrors of them.
type (
	// AgentInfo is what an agent says about itself on every lease.
	AgentInfo = scheduler.AgentInfo
	// AttemptRef names one attempt.
	AttemptRef = scheduler.AttemptRef
	// Object is an output file an attempt uploaded.
	Object = scheduler.Object
)

// LeaseResponse carries the tasks leased to the agent (none when the wait ran out).
type LeaseResponse struct {
	Assignments []Assignment `json:"assignments"`
}

// Assignment is one leased task attempt with everything needed to run it:
// the agent holds no storage credentials, so inputs come as presigned URLs.
type Assignment struct {
	Task    string             `json:"task"`
	Attempt int                `json:"attempt"`
	Job     string             `json:"job"`
	Kind    scheduler.TaskKind `json:"kind"`
	// Spec is the kind's task spec (see the pipeline package's farm task types).
	Spec json.RawMessage `json:"spec"`
	// Inputs maps input names to presigned GET URLs.
	Inputs map[string]string `json:"inputs"`
	// MediaSeconds is how much media the task covers; the agent scales its
	// timeout with it.
	MediaSeconds float64 `json:"mediaSeconds"`
	// Encoder is the H.264 encoder an encode task runs with, resolved for
	// this agent from the encoders it advertised; empty means the spec's.
	Encoder string `json:"encoder,omitempty"`
}

// Heartbeat is the body of POST /v1/agent/heartbeat.
type Heartbeat struct {
	Agent    string       `json:"agent"`
	Attempts []AttemptRef `json:"attempts"`
	Draining bool         `json:"draining,omitempty"`
}

// HeartbeatResponse lists held attempts the agent must abandon (canceled
// jobs, expired leases, tasks another attempt already won).
type HeartbeatResponse struct {
	Abandon []AttemptRef `json:"abandon"`
}

// Progress is the body of POST /v1/agent/progress.
type Progress struct {
	Agent string `json:"agent"`
	AttemptRef
	FramesDone  int64 `json:"framesDone"`
	FramesTotal int64 `json:"framesTotal"`
}

// UploadRequest is the body of POST /v1/agent/uploads: presigned PUT URLs for
// an attempt's output files, named relative to the task's output prefix.
type UploadRequest struct {
	Agent string `json:"agent"`
	AttemptRef
	Names []string `json:"names"`
}

// UploadResponse maps each requested name to a presigned PUT URL.
type UploadResponse struct {
	URLs map[string]string `json:"urls"`
}

// Complete is the body of POST /v1/agent/complete.
type Complete struct {
	Agent string `json:"agent"`
	AttemptRef
	Result  json.RawMessage `json:"result"`
	Outputs []Object        `json:"outputs"`
}

// SplitHead is the body of POST /v1/agent/head: a running split attempt's
// head — its result so far, the ladder and the first chunk, in the form of
// a split result — and the outputs it already uploaded, which the head's
// tasks read. The attempt's Complete later reports every output again.
type SplitHead struct {
	Agent string `json:"agent"`
	AttemptRef
	Result  json.RawMessage `json:"result"`
	Outputs []Object        `json:"outputs"`
}

// Fail is the body of POST /v1/agent/fail. Permanent marks errors that
// another attempt cannot fix (invalid media): the job fails at once.
type Fail struct {
	Agent string `json:"agent"`
	AttemptRef
	Error     string `json:"error"`
	Permanent bool   `json:"permanent"`
}
