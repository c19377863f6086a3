package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/media"
)

// av1Rungs are the AV1 rungs the splits of these tests plan.
var av1Rungs = []string{"720p-av1", "360p-av1"}

func av1Task(job, rung string, chunk int) string { return fmt.Sprintf("%s-%s-e%05d", job, rung, chunk) }

// planAV1 is plan with an AV1 task per chunk and AV1 rung.
func planAV1(job string, chunks int) []NewTask {
	out := plan(job, chunks)
	for _, r := range av1Rungs {
		for i := range chunks {
			out = append(out, NewTask{ID: av1Task(job, r, i), Kind: KindEncodeAV1, Index: i, Rung: r,
				Spec: json.RawMessage(fmt.Sprintf(`{"chunk":%d,"rung":%q}`, i, r)), MediaSeconds: 8,
				Inputs: map[string]string{"chunk": fmt.Sprintf("jobs/%s/chunks/%d", job, i)}})
		}
	}
	return out
}

// splitAV1 leases and completes the job's split on agent with AV1 tasks.
func (h *harness) splitAV1(job, agent string, chunks int) {
	h.tb.Helper()
	n := h.lease1(agent, job+"-split")
	h.ok(Complete{Task: job + "-split", Attempt: n, Result: result(job + "-split"), NewTasks: planAV1(job, chunks), Rungs: rungs, Now: h.now()})
}

// av1Agent registers agents that run AV1 tasks besides H.264 ones.
func (h *harness) av1Agent(slots int, ids ...string) {
	h.tb.Helper()
	for _, id := range ids {
		h.ok(RegisterAgent{Info: AgentInfo{ID: id, Slots: slots, Encoders: []string{media.EncoderX264, media.EncoderSVTAV1}}, Now: h.now()})
	}
}

func TestAV1JobPlanned(t *testing.T) {
	h := newHarness(t)
	h.av1Agent(2, "a")
	h.submit("j", 0)
	h.splitAV1("j", "a", 2)
	j, av1 := h.job("j"), h.job(AV1JobID("j"))
	if j.AV1Job != av1.ID || av1.Parent != "j" {
		t.Fatalf("job's AV1 job %q, AV1 job's parent %q", j.AV1Job, av1.Parent)
	}
	if !slices.Equal(j.Rungs, rungs) || !slices.Equal(av1.Rungs, av1Rungs) {
		t.Errorf("rungs %v and %v, want %v and %v", j.Rungs, av1.Rungs, rungs, av1Rungs)
	}
	if av1.State != JobEncoding || av1.ChunksTotal != 4 || j.ChunksTotal != 2 {
		t.Errorf("AV1 job %s with %d tasks, job with %d chunks; want encoding, 4, 2", av1.State, av1.ChunksTotal, j.ChunksTotal)
	}
	for _, task := range av1.Tasks {
		if task.Kind != KindEncodeAV1 {
			t.Errorf("AV1 job's task %s is %s", task.ID, task.Kind)
		}
	}
	// The job stitches and ends as without AV1: its AV1 job is not waited for.
	for _, id := range []string{"j-encode-0", "j-encode-1", "j-audio"} {
		h.complete(id, h.lease1("a", id))
	}
	h.complete(stitchID("j"), h.lease1("a", stitchID("j")))
	if got := h.job("j").State; got != JobDone {
		t.Fatalf("job %s after its stitch, want done", got)
	}
	// Its clean-up waits for the AV1 job, whose tasks read its chunks.
	if slices.Contains(h.f.Uncollected(), "j") {
		t.Error("job j is collected while its AV1 job runs")
	}
	h.fails(EndAV1Job{Job: av1.ID, Now: h.now()}, ErrInvalidInput) // tasks not done
	for _, task := range av1.Tasks {
		h.complete(task.ID, h.lease1("a", task.ID))
	}
	h.fails(EndAV1Job{Job: "j", Now: h.now()}, ErrInvalidInput) // not an AV1 job
	h.ok(EndAV1Job{Job: av1.ID, Now: h.now()})
	if got := h.job(av1.ID).State; got != JobDone {
		t.Errorf("AV1 job %s, want done", got)
	}
	if got := h.f.Uncollected(); !slices.Contains(got, "j") || !slices.Contains(got, av1.ID) {
		t.Errorf("uncollected %v, want both jobs", got)
	}
}

func TestAV1SplitChecked(t *testing.T) {
	for name, edit := range map[string]func([]NewTask) []NewTask{
		"no rung":       func(ts []NewTask) []NewTask { ts[3].Rung = ""; return ts },
		"missing chunk": func(ts []NewTask) []NewTask { return ts[:len(ts)-1] },
		"chunk out of range": func(ts []NewTask) []NewTask {
			ts[len(ts)-1].Index = 7
			return ts
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.av1Agent(1, "a")
			h.submit("j", 0)
			n := h.lease1("a", "j-split")
			h.unchanged(Complete{Task: "j-split", Attempt: n, NewTasks: edit(planAV1("j", 2)), Rungs: rungs, Now: h.now()}, ErrInvalidInput)
		})
	}
}

// pendingH264 lists the pending tasks of unfinished jobs other than AV1
// tasks: the work an AV1 lease must never go before.
func (h *harness) pendingH264() []string {
	h.tb.Helper()
	var out []string
	for _, j := range h.f.Jobs() {
		if j.State.Finished() {
			continue
		}
		for _, task := range h.job(j.ID).Tasks {
			if task.Kind != KindEncodeAV1 && task.State == StatePending {
				out = append(out, task.ID)
			}
		}
	}
	return out
}

// TestAV1TasksGoLast runs three jobs, the first with AV1 rungs, on one AV1
// agent that takes one task at a time: no AV1 task is leased while a task of
// another kind of any job waits, nor before its job is playable, and every
// AV1 task is leased in the end.
func TestAV1TasksGoLast(t *testing.T) {
	h := newHarness(t)
	h.av1Agent(1, "a")
	h.submit("j1", 0)
	h.splitAV1("j1", "a", 2)
	h.submit("j2", 0)
	h.submit("j3", -5) // lower priority than j1: still before its AV1 tasks
	// Until j1 is playable its AV1 tasks are not leased, even directly.
	if got := h.lease("a", av1Task("j1", av1Rungs[0], 0)); len(got) != 0 {
		t.Fatalf("AV1 task leased before its job was playable: %v", got)
	}
	playable := false
	var order []string
	for range 100 {
		ct, cmd, ok := h.f.FindWork("a", 1, h.now())
		if !ok {
			break
		}
		l, isLease := cmd.(Lease)
		if ct != CmdLease || !isLease {
			t.Fatalf("FindWork proposed %v %+v", ct, cmd)
		}
		waiting := h.pendingH264()
		for _, id := range l.Tasks {
			if strings.Contains(id, "-av1-") {
				if len(waiting) > 0 {
					t.Fatalf("AV1 task %s proposed while %v wait", id, waiting)
				}
				if !playable {
					t.Fatalf("AV1 task %s proposed before j1 was playable", id)
				}
			}
		}
		for _, g := range h.ok(l).(LeaseResult).Granted {
			order = append(order, g.Task)
			switch {
			case strings.HasSuffix(g.Task, "-split"):
				job := strings.TrimSuffix(g.Task, "-split")
				h.ok(Complete{Task: g.Task, Attempt: g.Attempt, Result: result(g.Task), NewTasks: plan(job, 2), Rungs: rungs, Now: h.now()})
			default:
				h.complete(g.Task, g.Attempt)
			}
			if g.Task == "j1-encode-0" {
				h.ok(Playable{Job: "j1", Now: h.now()})
				playable = true
			}
		}
	}
	av1 := h.job(AV1JobID("j1"))
	if av1.ChunksDone != 4 {
		t.Fatalf("AV1 job has %d of 4 tasks done; leases: %v", av1.ChunksDone, order)
	}
	first := slices.IndexFunc(order, func(id string) bool { return strings.Contains(id, "-av1-") })
	if last := slices.IndexFunc(order, func(id string) bool { return strings.HasPrefix(id, "j3-encode") }); first < last {
		t.Errorf("an AV1 task was leased before j3's encodes: %v", order)
	}
}

// TestAV1OnlyOnAV1Agents: an agent that does not advertise the AV1 encoder
// is never given an AV1 task — not by FindWork, a lease or a steal — and
// the agent that does gets them.
func TestAV1OnlyOnAV1Agents(t *testing.T) {
	h := newHarness(t)
	h.agentSlots(2, "x264")
	h.av1Agent(1, "av1")
	h.submit("j", 0)
	h.splitAV1("j", "x264", 2)
	h.ok(Playable{Job: "j", Now: h.now()})
	for _, id := range []string{"j-encode-0", "j-encode-1", "j-audio"} {
		h.complete(id, h.lease1("x264", id))
	}
	task := av1Task("j", av1Rungs[0], 0)
	if ct, cmd, ok := h.f.FindWork("x264", 2, h.now()); ok {
		if l, _ := cmd.(Lease); ct != CmdLease || !slices.Equal(l.Tasks, []string{stitchID("j")}) {
			t.Fatalf("FindWork(x264): %v %+v, want the stitch alone", ct, cmd)
		}
	}
	if got := h.lease("x264", task); len(got) != 0 {
		t.Fatalf("agent without AV1 leased %v", got)
	}
	stitch := h.lease1("x264", stitchID("j"))
	l := h.findLease("av1", 3)
	if len(l.Tasks) != 3 || !strings.Contains(l.Tasks[0], "-av1-") {
		t.Fatalf("FindWork(av1): %v, want three AV1 tasks", l.Tasks)
	}
	h.ok(l)
	// av1 holds three tasks on one slot: an idle agent without AV1 still
	// steals none of them.
	h.complete(stitchID("j"), stitch)
	if ct, cmd, ok := h.f.FindWork("x264", 2, h.now()); ok {
		t.Fatalf("FindWork(x264) with only AV1 work left: %v %+v", ct, cmd)
	}
	h.unchanged(Steal{Thief: "x264", Task: l.Tasks[2], Victim: "av1", Attempt: 1, Now: h.now()}, ErrInvalidInput)
}

// TestAV1JobEnds: an AV1 job fails with the reason it is given, leaving its
// job alone, and is canceled with a job that fails.
func TestAV1JobEnds(t *testing.T) {
	h := newHarness(t)
	h.av1Agent(1, "a")
	h.submit("j1", 0)
	h.splitAV1("j1", "a", 1)
	const reason = "no alive agent runs AV1 encodes"
	h.ok(EndAV1Job{Job: AV1JobID("j1"), Error: reason, Now: h.now()})
	if av1, j := h.job(AV1JobID("j1")), h.job("j1"); av1.State != JobFailed || av1.Error != reason || j.State != JobEncoding {
		t.Errorf("AV1 job %s (%q), job %s; want failed with the reason, encoding", av1.State, av1.Error, j.State)
	}
	h.fails(EndAV1Job{Job: AV1JobID("j1"), Now: h.now()}, ErrInvalidInput)

	h.submit("j2", 0)
	h.splitAV1("j2", "a", 1)
	h.ok(CancelJob{Job: "j2", Now: h.now()})
	if av1 := h.job(AV1JobID("j2")); av1.State != JobCanceled || !strings.Contains(av1.Error, "j2 canceled") {
		t.Errorf("AV1 job of a canceled job: %s (%q), want canceled", av1.State, av1.Error)
	}
	// A snapshot carries the AV1 jobs and their links.
	r := restored(t, snapshotBytes(t, h.f))
	if j, ok := r.Job("j2"); !ok || j.AV1Job != AV1JobID("j2") {
		t.Errorf("restored job j2: AV1 job %q", j.AV1Job)
	}
}

// TestAddAV1Job gives a done job AV1 rungs afterwards: an AV1 job with a
// split of its own, keeping only the AV1 tasks it plans.
func TestAddAV1Job(t *testing.T) {
	h := newHarness(t)
	h.av1Agent(2, "a")
	h.submit("j", 0)
	add := AddAV1Job{Job: "j", SplitSpec: json.RawMessage(`{"options":{"AV1":"all"}}`), Now: h.now()}
	h.unchanged(add, ErrInvalidInput) // not done yet
	h.split("j", "a", 2)
	for _, id := range []string{"j-encode-0", "j-encode-1", "j-audio"} {
		h.complete(id, h.lease1("a", id))
	}
	h.complete(stitchID("j"), h.lease1("a", stitchID("j")))
	h.fails(AddAV1Job{Job: "nope", Now: h.now()}, ErrNotFound)
	add.Now = h.now()
	h.ok(add)
	av1 := h.job(AV1JobID("j"))
	if av1.State != JobQueued || av1.Parent != "j" || h.job("j").AV1Job != av1.ID || len(av1.Tasks) != 1 || av1.Tasks[0].Kind != KindSplit {
		t.Fatalf("AV1 job %+v, want queued with a split, parent j", av1)
	}
	h.unchanged(AddAV1Job{Job: "j", Now: h.now()}, ErrInvalidInput)    // has one
	h.unchanged(AddAV1Job{Job: av1.ID, Now: h.now()}, ErrInvalidInput) // is one
	split := av1.ID + "-split"
	h.ok(Complete{Task: split, Attempt: h.lease1("a", split), Result: result(split), NewTasks: planAV1(av1.ID, 2), Rungs: rungs, Now: h.now()})
	av1 = h.job(av1.ID)
	if av1.State != JobEncoding || !slices.Equal(av1.Rungs, av1Rungs) || len(av1.Tasks) != 1+4 {
		t.Fatalf("AV1 job after its split: %s, rungs %v, %d tasks; want encoding, %v, the split and 4 AV1 tasks", av1.State, av1.Rungs, len(av1.Tasks), av1Rungs)
	}
	results, _ := h.f.AV1Results(av1.ID)
	if len(results) != 2 || len(results[0].Chunks) != 2 {
		t.Fatalf("AV1 results %+v, want 2 rungs of 2 chunks", results)
	}
	for _, task := range av1.Tasks[1:] {
		h.complete(task.ID, h.lease1("a", task.ID))
	}
	h.ok(EndAV1Job{Job: av1.ID, Now: h.now()})

	// A split that plans no AV1 rung (the source is too small) fails it.
	h.submit("k", 0)
	h.split("k", "a", 1)
	for _, id := range []string{"k-encode-0", "k-audio"} {
		h.complete(id, h.lease1("a", id))
	}
	h.complete(stitchID("k"), h.lease1("a", stitchID("k")))
	h.ok(AddAV1Job{Job: "k", Now: h.now()})
	split = AV1JobID("k") + "-split"
	h.ok(Complete{Task: split, Attempt: h.lease1("a", split), Result: result(split), NewTasks: plan(AV1JobID("k"), 1), Rungs: rungs, Now: h.now()})
	if k := h.job(AV1JobID("k")); k.State != JobFailed || !strings.Contains(k.Error, "no rung") {
		t.Errorf("AV1 job without AV1 rungs: %s (%q), want failed", k.State, k.Error)
	}
}
