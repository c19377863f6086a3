package scheduler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestRegisterAgent(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	a, ok := h.f.Agent("a1")
	want := Agent{AgentInfo: AgentInfo{ID: "a1", Addr: "a1:1", Slots: 2, Cores: 4, Encoders: []string{"libx264"}, Version: "v1"}, State: AgentAlive, LastSeen: h.clock}
	if !ok || !reflect.DeepEqual(a, want) {
		t.Fatalf("Agent: got %+v, %v; want %+v", a, ok, want)
	}

	// Upsert: a dead agent that registers again is alive with its new info.
	h.ok(AgentDown{ID: "a1", State: AgentDead, Now: h.now()})
	h.ok(RegisterAgent{Info: AgentInfo{ID: "a1", Slots: 8}, Now: h.now()})
	a, _ = h.f.Agent("a1")
	if a.State != AgentAlive || a.Slots != 8 || !a.LastSeen.Equal(h.clock) {
		t.Errorf("after re-register: got %+v", a)
	}

	h.fails(RegisterAgent{Now: h.now()}, ErrInvalidInput)
	if got := len(h.f.Agents()); got != 1 {
		t.Errorf("agents: got %d, want 1", got)
	}
}

func TestSubmitJob(t *testing.T) {
	h := newHarness(t)
	h.submit("j1", 2)
	j := h.job("j1")
	if j.State != JobQueued || j.Source != "uploads/j1" || j.Output != "videos/j1/hls" || j.Priority != 2 ||
		!j.Created.Equal(h.clock) || !j.Updated.Equal(h.clock) || j.ChunksTotal != 0 {
		t.Errorf("job: got %+v", j)
	}
	if len(j.Tasks) != 1 || j.Tasks[0].ID != "j1-split" || j.Tasks[0].Kind != KindSplit || j.Tasks[0].State != StatePending {
		t.Errorf("tasks: got %+v", j.Tasks)
	}
	info, ok := h.f.TaskInfo("j1-split")
	want := TaskInfo{ID: "j1-split", Job: "j1", Kind: KindSplit, Spec: json.RawMessage(`{"job":"j1"}`),
		Inputs: map[string]string{"source": "uploads/j1"}, Output: "videos/j1/hls", State: StatePending}
	if !ok || !reflect.DeepEqual(info, want) {
		t.Errorf("TaskInfo: got %+v, want %+v", info, want)
	}

	tests := []struct {
		name string
		cmd  SubmitJob
	}{
		{"duplicate id", SubmitJob{ID: "j1", SourceInput: "s"}},
		{"empty id", SubmitJob{SourceInput: "s"}},
		{"no source", SubmitJob{ID: "j2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.fails(tt.cmd, ErrInvalidInput)
		})
	}
	// Source alone stands for the split's input.
	h.ok(SubmitJob{ID: "j3", Source: "up/3", Output: "out/3", Now: h.now()})
	if info, _ := h.f.TaskInfo("j3-split"); info.Inputs["source"] != "up/3" || info.Output != "out/3" || info.Spec != nil {
		t.Errorf("j3 split: got %+v", info)
	}
}

func TestLease(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		lease Lease
		want  []AttemptRef
		err   error
	}{
		{"pending task", nil, Lease{Agent: "a1", Tasks: []string{"j1-split"}}, []AttemptRef{{Task: "j1-split", Attempt: 1}}, nil},
		{"already leased is skipped", func(h *harness) { h.lease("a2", "j1-split") }, Lease{Agent: "a1", Tasks: []string{"j1-split"}}, nil, nil},
		{"same task twice", nil, Lease{Agent: "a1", Tasks: []string{"j1-split", "j1-split"}}, []AttemptRef{{Task: "j1-split", Attempt: 1}}, nil},
		{"unknown task is skipped", nil, Lease{Agent: "a1", Tasks: []string{"nope", "j1-split"}}, []AttemptRef{{Task: "j1-split", Attempt: 1}}, nil},
		{"after a failure the attempt number grows", func(h *harness) {
			h.ok(Fail{Task: "j1-split", Attempt: h.lease1("a2", "j1-split"), Error: "boom", Now: h.now()})
		}, Lease{Agent: "a1", Tasks: []string{"j1-split"}}, []AttemptRef{{Task: "j1-split", Attempt: 2}}, nil},
		{"canceled job", func(h *harness) { h.ok(CancelJob{Job: "j1", Now: h.now()}) }, Lease{Agent: "a1", Tasks: []string{"j1-split"}}, nil, nil},
		{"draining agent gets nothing", func(h *harness) { h.ok(AgentDown{ID: "a1", State: AgentDraining, Now: h.now()}) }, Lease{Agent: "a1", Tasks: []string{"j1-split"}}, nil, nil},
		{"dead agent gets nothing", func(h *harness) { h.ok(AgentDown{ID: "a1", State: AgentDead, Now: h.now()}) }, Lease{Agent: "a1", Tasks: []string{"j1-split"}}, nil, nil},
		{"unknown agent", nil, Lease{Agent: "ghost", Tasks: []string{"j1-split"}}, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agent("a1", "a2")
			h.submit("j1", 0)
			if tt.setup != nil {
				tt.setup(h)
			}
			before := h.job("j1").State
			tt.lease.Now = h.now()
			res := h.do(tt.lease)
			if tt.err != nil {
				if err, _ := res.(error); !errors.Is(err, tt.err) {
					t.Fatalf("got %v, want %v", res, tt.err)
				}
				return
			}
			got := res.(LeaseResult).Granted
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("granted: got %v, want %v", got, tt.want)
			}
			j := h.job("j1")
			if len(tt.want) == 0 {
				if j.State != before {
					t.Errorf("job state: got %s, want %s", j.State, before)
				}
				return
			}
			at := j.Tasks[0].Attempts[tt.want[0].Attempt-1]
			if j.State != JobSplitting || j.Tasks[0].State != StateLeased ||
				at.Agent != "a1" || at.State != StateLeased || !at.Started.Equal(h.clock) {
				t.Errorf("after lease: job %s, task %s, attempt %+v", j.State, j.Tasks[0].State, at)
			}
			if !h.f.AttemptActive("j1-split", tt.want[0].Attempt) {
				t.Errorf("AttemptActive: got false")
			}
		})
	}
}

func TestProgress(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	h.submit("j1", 0)
	h.split("j1", "a1", 2)
	n := h.lease1("a1", "j1-encode-0")
	h.ok(Progress{Task: "j1-encode-0", Attempt: n, FramesDone: 30, FramesTotal: 100, Now: h.now()})
	task := h.task("j1-encode-0")
	if task.State != StateRunning || task.Attempts[0].State != StateRunning || task.Attempts[0].FramesDone != 30 {
		t.Errorf("after progress: got %+v", task)
	}
	j := h.job("j1")
	if !reflect.DeepEqual(j.Rungs, rungs) || j.FramesDone != 30 || j.FramesTotal != 100 || !j.Updated.Equal(h.clock) {
		t.Errorf("rungs: got %v at %d/%d frames, want %v at 30/100 (updated %v)", j.Rungs, j.FramesDone, j.FramesTotal, rungs, j.Updated)
	}

	tests := []struct {
		name string
		cmd  Progress
		want error
	}{
		{"unknown task", Progress{Task: "nope", Attempt: 1}, ErrNotFound},
		{"unknown attempt", Progress{Task: "j1-encode-0", Attempt: 2}, ErrNotFound},
		{"attempt zero", Progress{Task: "j1-encode-0", Attempt: 0}, ErrNotFound},
		{"negative frames", Progress{Task: "j1-encode-0", Attempt: 1, FramesDone: -1}, ErrInvalidInput},
		{"finished attempt", Progress{Task: "j1-split", Attempt: 1, FramesDone: 1}, ErrStaleAttempt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { h.fails(tt.cmd, tt.want) })
	}
	h.ok(Fail{Task: "j1-encode-0", Attempt: n, Error: "x", Now: h.now()})
	h.fails(Progress{Task: "j1-encode-0", Attempt: n, FramesDone: 50, FramesTotal: 100}, ErrStaleAttempt)
}

func TestCommitAtMostOnce(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	h.split("j1", "a1", 1)
	task := "j1-encode-0"
	n1 := h.lease1("a1", task)
	h.ok(ExpireAttempt{Task: task, Attempt: n1, Reason: "lease expired", Now: h.now()})
	n2 := h.lease1("a2", task)

	// The expired attempt completes first and wins; the active one is canceled.
	h.complete(task, n1)
	got := h.task(task)
	if got.State != StateDone || got.Winner != n1 || got.Attempts[n2-1].State != StateCanceled {
		t.Fatalf("after first completion: got %+v", got)
	}
	if h.f.AttemptActive(task, n2) {
		t.Errorf("losing attempt still active")
	}
	// The second completion is refused.
	h.fails(Complete{Task: task, Attempt: n2, Result: result("late"), Now: h.now()}, ErrAlreadyCommitted)
	// The winner retrying its report is a no-op.
	if res := h.do(Complete{Task: task, Attempt: n1, Result: result("again"), Now: h.now()}); res != nil {
		t.Errorf("winner retry: got %v, want nil", res)
	}
	_, enc, _, _ := h.f.Results("j1")
	if string(enc[0]) != string(result(task)) {
		t.Errorf("result: got %s, want the first attempt's", enc[0])
	}
}

func TestAlreadyCommittedCancelsActiveAttempt(t *testing.T) {
	// Speculation only backs up running tasks, so build a duplicate of a
	// leased split by hand and check Complete's bookkeeping.
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.lease1("a1", "j1-split")
	h.f.s.Tasks["j1-split"].Attempts = append(h.f.s.Tasks["j1-split"].Attempts, &attempt{N: 2, Agent: "a2", State: StateLeased, Started: t0})
	h.ok(Complete{Task: "j1-split", Attempt: n, NewTasks: plan("j1", 1), Rungs: rungs, Now: h.now()})
	if h.f.AttemptActive("j1-split", 2) {
		t.Fatalf("second attempt still active after the first won")
	}
	h.f.s.Tasks["j1-split"].Attempts[1].State = StateRunning // pretend it never heard
	h.fails(Complete{Task: "j1-split", Attempt: 2, Now: h.now()}, ErrAlreadyCommitted)
	if got := h.task("j1-split").Attempts[1].State; got != StateCanceled {
		t.Errorf("late attempt: got %s, want canceled", got)
	}
}

func TestCompleteErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  func(h *harness) Complete
		want error
	}{
		{"unknown task", func(h *harness) Complete { return Complete{Task: "nope", Attempt: 1} }, ErrNotFound},
		{"unknown attempt", func(h *harness) Complete { return Complete{Task: "j1-split", Attempt: 9} }, ErrNotFound},
		{"canceled job", func(h *harness) Complete {
			n := h.lease1("a1", "j1-split")
			h.ok(CancelJob{Job: "j1", Now: h.now()})
			return Complete{Task: "j1-split", Attempt: n}
		}, ErrStaleAttempt},
		{"new tasks from an encode", func(h *harness) Complete {
			h.split("j1", "a1", 1)
			return Complete{Task: "j1-encode-0", Attempt: h.lease1("a1", "j1-encode-0"), NewTasks: plan("x", 1)}
		}, ErrInvalidInput},
		{"encode indexes with a gap", func(h *harness) Complete {
			tasks := plan("j1", 3)
			tasks[1].Index = 5
			return Complete{Task: "j1-split", Attempt: h.lease1("a1", "j1-split"), NewTasks: tasks}
		}, ErrInvalidInput},
		{"duplicate task id", func(h *harness) Complete {
			tasks := plan("j1", 2)
			tasks[1].ID = tasks[0].ID
			return Complete{Task: "j1-split", Attempt: h.lease1("a1", "j1-split"), NewTasks: tasks}
		}, ErrInvalidInput},
		{"task id taken", func(h *harness) Complete {
			tasks := plan("j1", 1)
			tasks[0].ID = "j1-split"
			return Complete{Task: "j1-split", Attempt: h.lease1("a1", "j1-split"), NewTasks: tasks}
		}, ErrInvalidInput},
		{"stitch id", func(h *harness) Complete {
			tasks := plan("j1", 1)
			tasks[0].ID = "j1-stitch"
			return Complete{Task: "j1-split", Attempt: h.lease1("a1", "j1-split"), NewTasks: tasks}
		}, ErrInvalidInput},
		{"bad kind", func(h *harness) Complete {
			tasks := plan("j1", 1)
			tasks[0].Kind = KindStitch
			return Complete{Task: "j1-split", Attempt: h.lease1("a1", "j1-split"), NewTasks: tasks}
		}, ErrInvalidInput},
		{"two audio tasks", func(h *harness) Complete {
			tasks := append(plan("j1", 1), NewTask{ID: "j1-audio2", Kind: KindAudio})
			return Complete{Task: "j1-split", Attempt: h.lease1("a1", "j1-split"), NewTasks: tasks}
		}, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agent("a1")
			h.submit("j1", 0)
			c := tt.cmd(h)
			c.Now = h.now()
			before := snapshotBytes(t, h.f)
			h.fails(c, tt.want)
			if after := snapshotBytes(t, h.f); string(after) != string(before) {
				t.Errorf("a refused Complete changed the state")
			}
		})
	}
}

func TestRetriesThenFail(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	h.split("j1", "a1", 2)
	task := "j1-encode-1"
	for i := 1; i <= MaxAttempts; i++ {
		agent := []string{"a1", "a2"}[i%2]
		n := h.lease1(agent, task)
		if n != i {
			t.Fatalf("attempt: got %d, want %d", n, i)
		}
		h.ok(Fail{Task: task, Attempt: n, Error: fmt.Sprintf("boom %d", i), Now: h.now()})
		j := h.job("j1")
		if i < MaxAttempts {
			if j.State != JobEncoding || h.task(task).State != StatePending {
				t.Fatalf("after failure %d: job %s task %s", i, j.State, h.task(task).State)
			}
			continue
		}
		wantErr := "encode task j1-encode-1 failed 5 times: boom 5"
		if j.State != JobFailed || j.Error != wantErr {
			t.Errorf("job: got %s %q, want failed %q", j.State, j.Error, wantErr)
		}
	}
	if got := h.task(task).State; got != StateFailed {
		t.Errorf("task: got %s, want failed", got)
	}
	for _, task := range h.job("j1").Tasks {
		if task.State != StateDone && task.State != StateFailed && task.State != StateCanceled {
			t.Errorf("task %s left %s in a failed job", task.ID, task.State)
		}
	}
	if got := nextTasks(h.f.s, "a1", 10); len(got) != 0 {
		t.Errorf("nextTasks after job failed: got %v", got)
	}
}

func TestPermanentFailure(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	h.split("j1", "a1", 2)
	other := h.lease1("a2", "j1-encode-0")
	n := h.lease1("a1", "j1-encode-1")
	h.ok(Fail{Task: "j1-encode-1", Attempt: n, Error: "invalid data found when processing input", Permanent: true, Now: h.now()})
	j := h.job("j1")
	if j.State != JobFailed || j.Error != "invalid data found when processing input" {
		t.Errorf("job: got %s %q", j.State, j.Error)
	}
	if h.f.AttemptActive("j1-encode-0", other) || len(h.f.ActiveAttempts()) != 0 {
		t.Errorf("attempts still active after the job failed: %v", h.f.ActiveAttempts())
	}
	h.fails(Fail{Task: "j1-encode-0", Attempt: other, Error: "late"}, ErrStaleAttempt)
}

func TestExpireAttempt(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	h.submit("j1", 0)
	n := h.lease1("a1", "j1-split")
	h.ok(ExpireAttempt{Task: "j1-split", Attempt: n, Now: h.now()})
	task := h.task("j1-split")
	if task.State != StatePending || task.Attempts[0].State != StateFailed || task.Attempts[0].Error != "lease expired" {
		t.Errorf("after expiry: got %+v", task)
	}
	// Expiring an attempt that is no longer active changes nothing.
	before := snapshotBytes(t, h.f)
	if res := h.do(ExpireAttempt{Task: "j1-split", Attempt: n, Reason: "again", Now: h.now()}); res != nil {
		t.Errorf("second expiry: got %v, want nil", res)
	}
	if string(snapshotBytes(t, h.f)) != string(before) {
		t.Errorf("second expiry changed the state")
	}
	h.fails(ExpireAttempt{Task: "nope", Attempt: 1}, ErrNotFound)
}

func TestAgentDown(t *testing.T) {
	tests := []struct {
		state      AgentState
		wantTask   AttemptState // state of a1's task afterwards
		wantReason string
	}{
		{AgentDead, StatePending, "agent a1 died"},
		{AgentLeft, StatePending, "agent a1 left"},
		{AgentDraining, StateLeased, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			h := newHarness(t)
			h.agent("a1", "a2")
			h.submit("j1", 0)
			h.submit("j2", 0)
			h.split("j1", "a2", 2)
			h.lease1("a1", "j1-encode-0")
			h.lease1("a1", "j2-split")
			keep := h.lease1("a2", "j1-encode-1")
			var changed []string
			h.f.onChange = func(id string) { changed = append(changed, id) }
			h.ok(AgentDown{ID: "a1", State: tt.state, Now: h.now()})

			if a, _ := h.f.Agent("a1"); a.State != tt.state {
				t.Errorf("agent state: got %s, want %s", a.State, tt.state)
			}
			for _, id := range []string{"j1-encode-0", "j2-split"} {
				task := h.task(id)
				if task.State != tt.wantTask || task.Attempts[0].Error != tt.wantReason {
					t.Errorf("%s: got %s %q, want %s %q", id, task.State, task.Attempts[0].Error, tt.wantTask, tt.wantReason)
				}
			}
			if !h.f.AttemptActive("j1-encode-1", keep) {
				t.Errorf("another agent's attempt was touched")
			}
			if tt.state == AgentDraining {
				if len(changed) != 0 {
					t.Errorf("draining changed jobs %v", changed)
				}
				if got := nextTasks(h.f.s, "a1", 5); got != nil {
					t.Errorf("nextTasks for a draining agent: got %v", got)
				}
				return
			}
			if want := []string{"j1", "j2"}; !slices.Equal(changed, want) {
				t.Errorf("changed jobs: got %v, want %v", changed, want)
			}
			// The task goes back to the queue, to another agent first.
			if got := nextTasks(h.f.s, "a2", 5); !slices.Contains(got, "j1-encode-0") {
				t.Errorf("nextTasks(a2): got %v, want j1-encode-0 in it", got)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		h := newHarness(t)
		h.agent("a1")
		h.fails(AgentDown{ID: "ghost", State: AgentDead}, ErrNotFound)
		h.fails(AgentDown{ID: "a1", State: "zombie"}, ErrInvalidInput)
	})

	t.Run("death is a failed attempt", func(t *testing.T) {
		h := newHarness(t)
		h.submit("j1", 0)
		for i := 1; i <= MaxAttempts; i++ {
			h.agent("a1")
			h.lease1("a1", "j1-split")
			h.ok(AgentDown{ID: "a1", State: AgentDead, Now: h.now()})
		}
		j := h.job("j1")
		if want := "split task j1-split failed 5 times: agent a1 died"; j.State != JobFailed || j.Error != want {
			t.Errorf("job: got %s %q, want failed %q", j.State, j.Error, want)
		}
	})
}

func TestCancelJob(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	h.submit("j1", 0)
	h.split("j1", "a1", 3)
	h.complete("j1-encode-0", h.lease1("a1", "j1-encode-0"))
	n := h.lease1("a1", "j1-encode-1")
	h.ok(CancelJob{Job: "j1", Now: h.now()})

	j := h.job("j1")
	if j.State != JobCanceled || !j.Updated.Equal(h.clock) {
		t.Errorf("job: got %s updated %v", j.State, j.Updated)
	}
	want := map[string]AttemptState{
		"j1-split": StateDone, "j1-encode-0": StateDone, "j1-encode-1": StateCanceled,
		"j1-encode-2": StateCanceled, "j1-audio": StateCanceled,
	}
	for _, task := range j.Tasks {
		if task.State != want[task.ID] {
			t.Errorf("task %s: got %s, want %s", task.ID, task.State, want[task.ID])
		}
	}
	if got := h.task("j1-encode-1").Attempts[n-1].State; got != StateCanceled {
		t.Errorf("active attempt: got %s, want canceled", got)
	}
	h.fails(CancelJob{Job: "j1"}, ErrInvalidInput)
	h.fails(CancelJob{Job: "nope"}, ErrNotFound)
	h.fails(Progress{Task: "j1-encode-1", Attempt: n}, ErrStaleAttempt)
}

func TestFullJobLife(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2", "a3")
	var changed []string
	h.f.onChange = func(id string) { changed = append(changed, id) }
	h.submit("j1", 0)

	splitN := h.lease1("a1", "j1-split")
	if got := h.job("j1").State; got != JobSplitting {
		t.Fatalf("after split lease: got %s", got)
	}
	h.ok(Complete{Task: "j1-split", Attempt: splitN, Result: result("j1-split"), NewTasks: plan("j1", 3), Rungs: rungs, Now: h.now()})
	j := h.job("j1")
	if j.State != JobEncoding || j.ChunksTotal != 3 || j.ChunksDone != 0 || len(j.Rungs) != 2 || len(j.Tasks) != 5 {
		t.Fatalf("after split: got %+v", j)
	}
	if info, _ := h.f.TaskInfo("j1-encode-2"); info.Index != 2 || info.Inputs["chunk"] != "jobs/j1/chunks/2" || info.MediaSeconds != 8 || string(info.Spec) != `{"chunk":2}` {
		t.Errorf("encode task info: got %+v", info)
	}

	// Policy: audio first, then chunks in timeline order.
	want := []string{"j1-audio", "j1-encode-0", "j1-encode-1", "j1-encode-2"}
	if got := nextTasks(h.f.s, "a2", 10); !slices.Equal(got, want) {
		t.Fatalf("nextTasks: got %v, want %v", got, want)
	}
	granted := h.lease("a2", want[:2]...)
	granted = append(granted, h.lease("a3", want[2:]...)...)
	if len(granted) != 4 {
		t.Fatalf("granted: got %v", granted)
	}
	if a, _ := h.f.Agent("a3"); a.Busy != 2 {
		t.Errorf("a3 busy: got %d, want 2", a.Busy)
	}
	for i, g := range granted {
		h.ok(Progress{Task: g.Task, Attempt: g.Attempt, FramesDone: 50, FramesTotal: 100, Now: h.now()})
		h.complete(g.Task, g.Attempt)
		j = h.job("j1")
		if i < 3 && j.State != JobEncoding {
			t.Fatalf("after %d completions: job %s", i+1, j.State)
		}
	}
	j = h.job("j1")
	if j.State != JobStitching || j.ChunksDone != 3 {
		t.Fatalf("after encodes: got %s %d/%d", j.State, j.ChunksDone, j.ChunksTotal)
	}
	if !reflect.DeepEqual(j.Rungs, rungs) || j.FramesDone != 300 || j.FramesTotal != 300 {
		t.Errorf("rungs: got %v at %d/%d frames, want %v at 300/300", j.Rungs, j.FramesDone, j.FramesTotal, rungs)
	}
	info, ok := h.f.TaskInfo("j1-stitch")
	if !ok || info.Kind != KindStitch || info.State != StatePending || info.Spec != nil || info.MediaSeconds != 24 {
		t.Fatalf("stitch task: got %+v, %v", info, ok)
	}
	split, enc, audio, ok := h.f.Results("j1")
	if !ok || string(split) != string(result("j1-split")) || string(audio) != string(result("j1-audio")) || len(enc) != 3 {
		t.Fatalf("Results: got %s %s %s %v", split, enc, audio, ok)
	}
	for i, r := range enc {
		if want := result(fmt.Sprintf("j1-encode-%d", i)); string(r) != string(want) {
			t.Errorf("encode result %d: got %s, want %s", i, r, want)
		}
	}

	h.complete("j1-stitch", h.lease1("a1", "j1-stitch"))
	j = h.job("j1")
	if j.State != JobDone || j.Error != "" || !j.Updated.Equal(h.clock) {
		t.Errorf("final job: got %s %q", j.State, j.Error)
	}
	for _, task := range j.Tasks {
		if task.State != StateDone || task.Winner != 1 {
			t.Errorf("task %s: got %s winner %d", task.ID, task.State, task.Winner)
		}
	}
	if len(h.f.ActiveAttempts()) != 0 || len(nextTasks(h.f.s, "a1", 10)) != 0 {
		t.Errorf("work left after done")
	}
	if len(changed) == 0 || slices.ContainsFunc(changed, func(id string) bool { return id != "j1" }) {
		t.Errorf("onChange: got %v", changed)
	}
}

func TestSplitWithoutChunks(t *testing.T) {
	// An audio-only source: no encode tasks, the stitch waits for the audio.
	h := newHarness(t)
	h.agent("a1")
	h.submit("j1", 0)
	n := h.lease1("a1", "j1-split")
	h.ok(Complete{Task: "j1-split", Attempt: n, NewTasks: plan("j1", 0), Now: h.now()})
	if j := h.job("j1"); j.State != JobEncoding || j.ChunksTotal != 0 {
		t.Fatalf("after split: got %+v", j)
	}
	h.complete("j1-audio", h.lease1("a1", "j1-audio"))
	if info, _ := h.f.TaskInfo("j1-stitch"); info.State != StatePending || info.MediaSeconds != 0 {
		t.Errorf("stitch: got %+v", info)
	}
}

func TestRungProgress(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	h.split("j1", "a1", 3)
	// chunk 0: done after reporting 40/100; chunk 1: an expired attempt at 70
	// and a fresh one at 10; chunk 2: never started.
	n := h.lease1("a1", "j1-encode-0")
	h.ok(Progress{Task: "j1-encode-0", Attempt: n, FramesDone: 40, FramesTotal: 100, Now: h.now()})
	h.complete("j1-encode-0", n)
	n = h.lease1("a1", "j1-encode-1")
	h.ok(Progress{Task: "j1-encode-1", Attempt: n, FramesDone: 70, FramesTotal: 90, Now: h.now()})
	h.ok(ExpireAttempt{Task: "j1-encode-1", Attempt: n, Now: h.now()})
	n = h.lease1("a2", "j1-encode-1")
	h.ok(Progress{Task: "j1-encode-1", Attempt: n, FramesDone: 10, FramesTotal: 90, Now: h.now()})

	j := h.job("j1")
	if j.FramesDone != 110 || j.FramesTotal != 190 || j.ChunksDone != 1 || j.ChunksTotal != 3 {
		t.Errorf("got frames %d/%d chunks %d/%d, want 110/190 1/3", j.FramesDone, j.FramesTotal, j.ChunksDone, j.ChunksTotal)
	}
}

func TestNextTasks(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2", "a3")
	h.submit("old", 0)
	h.submit("new", 0)
	h.submit("urgent", 5)
	h.split("old", "a3", 2)
	h.lease1("a3", "new-split") // not pending any more

	want := []string{"urgent-split", "old-audio", "old-encode-0", "old-encode-1"}
	if got := nextTasks(h.f.s, "a1", 10); !slices.Equal(got, want) {
		t.Errorf("order: got %v, want %v", got, want)
	}
	if got := nextTasks(h.f.s, "a1", 2); !slices.Equal(got, want[:2]) {
		t.Errorf("n=2: got %v, want %v", got, want[:2])
	}

	// a1 failed old-encode-0: it is left to a2, who has not.
	h.ok(Fail{Task: "old-encode-0", Attempt: h.lease1("a1", "old-encode-0"), Error: "x", Now: h.now()})
	if got, want := nextTasks(h.f.s, "a1", 10), []string{"urgent-split", "old-audio", "old-encode-1"}; !slices.Equal(got, want) {
		t.Errorf("a1 after its failure: got %v, want %v", got, want)
	}
	if got := nextTasks(h.f.s, "a2", 10); !slices.Contains(got, "old-encode-0") {
		t.Errorf("a2: got %v, want old-encode-0 in it", got)
	}
	// Once every other alive agent failed it too (a3 is draining, so it does
	// not count), a1 may retry it rather than let the job stall.
	h.ok(Fail{Task: "old-encode-0", Attempt: h.lease1("a2", "old-encode-0"), Error: "x", Now: h.now()})
	h.ok(AgentDown{ID: "a3", State: AgentDraining, Now: h.now()})
	if got := nextTasks(h.f.s, "a1", 10); !slices.Contains(got, "old-encode-0") {
		t.Errorf("a1 when everyone failed it: got %v, want old-encode-0 in it", got)
	}

	tests := []struct {
		name, agent string
		n           int
	}{
		{"draining agent", "a3", 10},
		{"unknown agent", "ghost", 10},
		{"n zero", "a1", 0},
		{"n negative", "a1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextTasks(h.f.s, tt.agent, tt.n); len(got) != 0 {
				t.Errorf("got %v, want nothing", got)
			}
		})
	}
	h.ok(AgentDown{ID: "a2", State: AgentDead, Now: h.now()})
	if got := nextTasks(h.f.s, "a2", 10); len(got) != 0 {
		t.Errorf("dead agent: got %v", got)
	}
}

func TestViews(t *testing.T) {
	h := newHarness(t)
	h.agent("b", "a", "c")
	h.submit("j1", 0)
	h.submit("j2", 0)
	h.split("j1", "a", 2)
	h.lease("b", "j1-encode-1", "j1-encode-0")
	h.lease("c", "j2-split")

	var ids []string
	for _, j := range h.f.Jobs() {
		ids = append(ids, j.ID)
		if j.Tasks != nil {
			t.Errorf("Jobs: %s has tasks", j.ID)
		}
	}
	if want := []string{"j2", "j1"}; !slices.Equal(ids, want) {
		t.Errorf("Jobs: got %v, want %v", ids, want)
	}
	var agents []string
	busy := map[string]int{}
	for _, a := range h.f.Agents() {
		agents = append(agents, a.ID)
		busy[a.ID] = a.Busy
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(agents, want) {
		t.Errorf("Agents: got %v, want %v", agents, want)
	}
	if want := map[string]int{"a": 0, "b": 2, "c": 1}; !reflect.DeepEqual(busy, want) {
		t.Errorf("Busy: got %v, want %v", busy, want)
	}
	wantActive := []ActiveAttempt{
		{Task: "j1-encode-0", Job: "j1", Agent: "b", Attempt: 1},
		{Task: "j1-encode-1", Job: "j1", Agent: "b", Attempt: 1},
		{Task: "j2-split", Job: "j2", Agent: "c", Attempt: 1},
	}
	if got := h.f.ActiveAttempts(); !reflect.DeepEqual(got, wantActive) {
		t.Errorf("ActiveAttempts: got %v, want %v", got, wantActive)
	}
	if got := h.f.JobOfTask("j2-split"); got != "j2" {
		t.Errorf("JobOfTask: got %q", got)
	}
	if got := h.f.JobOfTask("nope"); got != "" {
		t.Errorf("JobOfTask(nope): got %q", got)
	}
	if _, ok := h.f.Job("nope"); ok {
		t.Errorf("Job(nope) found")
	}
	if _, ok := h.f.Agent("nope"); ok {
		t.Errorf("Agent(nope) found")
	}
	if _, ok := h.f.TaskInfo("nope"); ok {
		t.Errorf("TaskInfo(nope) found")
	}
	if _, _, _, ok := h.f.Results("nope"); ok {
		t.Errorf("Results(nope) found")
	}
	for _, tc := range []struct {
		task string
		n    int
		want bool
	}{{"j2-split", 1, true}, {"j2-split", 2, false}, {"j2-split", 0, false}, {"j1-split", 1, false}, {"nope", 1, false}} {
		if got := h.f.AttemptActive(tc.task, tc.n); got != tc.want {
			t.Errorf("AttemptActive(%s, %d): got %v, want %v", tc.task, tc.n, got, tc.want)
		}
	}
	// Views are copies.
	info, _ := h.f.TaskInfo("j1-encode-0")
	info.Inputs["chunk"] = "changed"
	info.Spec[0] = 'X'
	if again, _ := h.f.TaskInfo("j1-encode-0"); again.Inputs["chunk"] != "jobs/j1/chunks/0" || again.Spec[0] != '{' {
		t.Errorf("TaskInfo shares memory with the state")
	}
}

func TestSnapshotRestore(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 1)
	h.submit("j2", 0)
	h.split("j1", "a1", 2)
	n := h.lease1("a2", "j1-encode-0")
	h.ok(Progress{Task: "j1-encode-0", Attempt: n, FramesDone: 5, FramesTotal: 9, Now: h.now()})
	h.ok(CancelJob{Job: "j2", Now: h.now()})

	data := snapshotBytes(t, h.f)
	var changed []string
	g := NewFSM(func(id string) { changed = append(changed, id) })
	g.Apply(1, mustEncode(t, CmdSubmitJob, SubmitJob{ID: "other", SourceInput: "x", Now: t0}))
	changed = nil
	if err := g.Restore(bytes.NewReader(data)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := snapshotBytes(t, g); string(got) != string(data) {
		t.Errorf("snapshot after restore differs:\n got %s\nwant %s", got, data)
	}
	if _, ok := g.Job("other"); ok {
		t.Errorf("Restore kept the old state")
	}
	for _, id := range []string{"j1", "j2"} {
		a, _ := h.f.Job(id)
		b, _ := g.Job(id)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("job %s after restore:\n got %+v\nwant %+v", id, b, a)
		}
	}
	if !reflect.DeepEqual(h.f.Agents(), g.Agents()) || !reflect.DeepEqual(nextTasks(h.f.s, "a1", 9), nextTasks(g.s, "a1", 9)) {
		t.Errorf("agents or policy differ after restore")
	}
	if want := []string{"other", "j1"}; !slices.Equal(changed, want) {
		t.Errorf("onChange after restore: got %v, want %v", changed, want)
	}
}

func TestRestoreRejects(t *testing.T) {
	tests := []struct {
		name, data string
	}{
		{"garbage", "not json"},
		{"wrong version", `{"version":99}`},
		{"task without job", `{"version":1,"tasks":{"t":{"id":"t","job":"j","kind":"split","state":"pending"}}}`},
		{"active list wrong", `{"version":1,"active":["j"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFSM(nil)
			f.Apply(1, mustEncode(t, CmdRegisterAgent, RegisterAgent{Info: AgentInfo{ID: "a1"}}))
			if err := f.Restore(strings.NewReader(tt.data)); err == nil {
				t.Fatalf("Restore: got nil error")
			}
			if _, ok := f.Agent("a1"); !ok {
				t.Errorf("a failed Restore dropped the state")
			}
		})
	}
}

func TestConcurrentReads(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, j := range h.f.Jobs() {
					h.f.Job(j.ID)
					h.f.Results(j.ID)
				}
				h.f.Agents()
				h.f.ActiveAttempts()
				h.f.FindWork("a1", 4, t0)
				if _, err := h.f.Snapshot(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range 20 {
		id := fmt.Sprintf("j%d", i)
		h.submit(id, i%3)
		h.split(id, "a1", 2)
		for _, task := range nextTasks(h.f.s, "a1", 3) {
			h.complete(task, h.lease1("a1", task))
		}
	}
	close(stop)
	wg.Wait()
}

func mustEncode(tb testing.TB, ct CommandType, payload any) []byte {
	tb.Helper()
	b, err := Encode(ct, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
