package scheduler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// harness applies commands to an FSM through real log entries and checks the
// invariants after each one.
type harness struct {
	tb    testing.TB
	f     *FSM
	index uint64
	clock time.Time
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	return &harness{tb: tb, f: NewFSM(nil), clock: t0}
}

// now advances the leader's clock by a second.
func (h *harness) now() time.Time {
	h.clock = h.clock.Add(time.Second)
	return h.clock
}

func (h *harness) do(payload any) any {
	h.tb.Helper()
	ct, ok := commandType(payload)
	if !ok {
		h.tb.Fatalf("not a command: %T", payload)
	}
	data, err := Encode(ct, payload)
	if err != nil {
		h.tb.Fatalf("Encode(%v): %v", ct, err)
	}
	h.index++
	res := h.f.Apply(h.index, data)
	if err := h.f.s.check(); err != nil {
		h.tb.Fatalf("after %v: invariant broken: %v", ct, err)
	}
	return res
}

// ok applies a command that must succeed.
func (h *harness) ok(payload any) any {
	h.tb.Helper()
	res := h.do(payload)
	if err, isErr := res.(error); isErr {
		h.tb.Fatalf("%T: unexpected error: %v", payload, err)
	}
	return res
}

// fails applies a command that must fail with want.
func (h *harness) fails(payload any, want error) {
	h.tb.Helper()
	res := h.do(payload)
	if err, _ := res.(error); !errors.Is(err, want) {
		h.tb.Fatalf("%T: got %v, want %v", payload, res, want)
	}
}

func (h *harness) agent(ids ...string) {
	h.tb.Helper()
	for _, id := range ids {
		h.ok(RegisterAgent{Info: AgentInfo{ID: id, Addr: id + ":1", Slots: 2, Cores: 4, Encoders: []string{"libx264"}, Version: "v1"}, Now: h.now()})
	}
}

func (h *harness) submit(id string, priority int) {
	h.tb.Helper()
	h.ok(SubmitJob{
		ID:          id,
		Source:      "uploads/" + id,
		Priority:    priority,
		Output:      "videos/" + id + "/hls",
		SplitSpec:   json.RawMessage(`{"job":"` + id + `"}`),
		SourceInput: "uploads/" + id,
		Now:         h.now(),
	})
}

// lease leases the tasks to the agent and returns the attempt numbers granted.
func (h *harness) lease(agent string, tasks ...string) []AttemptRef {
	h.tb.Helper()
	return h.ok(Lease{Agent: agent, Tasks: tasks, Now: h.now()}).(LeaseResult).Granted
}

// lease1 leases one task and returns its attempt number.
func (h *harness) lease1(agent, task string) int {
	h.tb.Helper()
	g := h.lease(agent, task)
	if len(g) != 1 {
		h.tb.Fatalf("lease %s to %s: granted %v", task, agent, g)
	}
	return g[0].Attempt
}

func result(task string) json.RawMessage { return json.RawMessage(`{"task":"` + task + `"}`) }

func (h *harness) complete(task string, n int) {
	h.tb.Helper()
	h.ok(Complete{Task: task, Attempt: n, Result: result(task), Outputs: []Object{{Name: task + ".ts", Size: 1, SHA256: "00"}}, Now: h.now()})
}

// plan is what a split of job reports: chunks encode tasks and an audio task.
func plan(job string, chunks int) []NewTask {
	var out []NewTask
	for i := range chunks {
		out = append(out, NewTask{
			ID: fmt.Sprintf("%s-encode-%d", job, i), Kind: KindEncode, Index: i,
			Spec:   json.RawMessage(fmt.Sprintf(`{"chunk":%d}`, i)),
			Inputs: map[string]string{"chunk": fmt.Sprintf("jobs/%s/chunks/%d", job, i)}, MediaSeconds: 8,
		})
	}
	return append(out, NewTask{ID: job + "-audio", Kind: KindAudio, Inputs: map[string]string{"audio": "jobs/" + job + "/audio"}, MediaSeconds: 8 * float64(chunks)})
}

var rungs = []string{"720p", "360p"}

// split leases and completes the job's split on agent.
func (h *harness) split(job, agent string, chunks int) {
	h.tb.Helper()
	n := h.lease1(agent, job+"-split")
	h.ok(Complete{Task: job + "-split", Attempt: n, Result: result(job + "-split"), NewTasks: plan(job, chunks), Rungs: rungs, Now: h.now()})
}

func (h *harness) job(id string) Job {
	h.tb.Helper()
	j, ok := h.f.Job(id)
	if !ok {
		h.tb.Fatalf("job %s not found", id)
	}
	return j
}

func (h *harness) task(id string) Task {
	h.tb.Helper()
	j := h.job(h.f.JobOfTask(id))
	for _, t := range j.Tasks {
		if t.ID == id {
			return t
		}
	}
	h.tb.Fatalf("task %s not found", id)
	return Task{}
}

func snapshotBytes(tb testing.TB, f *FSM) []byte {
	tb.Helper()
	b, err := f.Snapshot()
	if err != nil {
		tb.Fatalf("Snapshot: %v", err)
	}
	return b
}

func restored(tb testing.TB, data []byte) *FSM {
	tb.Helper()
	f := NewFSM(nil)
	if err := f.Restore(bytes.NewReader(data)); err != nil {
		tb.Fatalf("Restore: %v", err)
	}
	return f
}
