package scheduler

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// head is what a split attempt of job reports first: chunk 0's encode task.
func head(job string, n int) SplitHead {
	return SplitHead{Task: job + "-split", Attempt: n, Agent: "a1", Result: json.RawMessage(`{"head":true}`),
		NewTasks: plan(job, 1)[:1], Rungs: rungs}
}

// rest is what the split's Complete adds after its head: chunks 1..chunks-1
// and the audio.
func rest(job string, n, chunks int) Complete {
	return Complete{Task: job + "-split", Attempt: n, Agent: "a1", Result: result(job + "-split"),
		NewTasks: plan(job, chunks)[1:], Rungs: rungs}
}

// av1Of keeps the AV1 tasks of chunks from on.
func av1Of(tasks []NewTask, from int) []NewTask {
	return slices.DeleteFunc(tasks, func(nt NewTask) bool { return nt.Kind != KindEncodeAV1 || nt.Index < from })
}

func (h *harness) head(job string) int {
	h.tb.Helper()
	n := h.lease1("a1", job+"-split")
	c := head(job, n)
	c.Now = h.now()
	h.ok(c)
	return n
}

func TestSplitHead(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.head("j1")

	j := h.job("j1")
	if j.State != JobEncoding || !slices.Equal(j.Rungs, rungs) {
		t.Fatalf("after the head: job %s with rungs %v, want encoding with %v", j.State, j.Rungs, rungs)
	}
	if st := h.task("j1-split").State; st != StateLeased {
		t.Fatalf("split is %s after its head, want still leased", st)
	}
	split, encodes, _, _ := h.f.Results("j1")
	if string(split) != `{"head":true}` || len(encodes) != 1 {
		t.Fatalf("Results while the split runs: split %s, %d encodes; want the head and chunk 0", split, len(encodes))
	}
	// Chunk 0 encodes while the split runs, and the job waits for the split.
	e := h.lease1("a2", "j1-encode-0")
	h.complete("j1-encode-0", e)
	if j := h.job("j1"); j.State != JobEncoding {
		t.Fatalf("job is %s with its split running, want encoding", j.State)
	}

	c := rest("j1", n, 3)
	c.Now = h.now()
	h.ok(c)
	split, encodes, _, _ = h.f.Results("j1")
	if string(split) != string(result("j1-split")) || len(encodes) != 3 || encodes[0] == nil {
		t.Fatalf("Results after the split: split %s, %d encodes", split, len(encodes))
	}
	for _, id := range []string{"j1-encode-1", "j1-encode-2", "j1-audio"} {
		h.complete(id, h.lease1("a2", id))
	}
	if j := h.job("j1"); j.State != JobStitching {
		t.Fatalf("job is %s after every task, want stitching", j.State)
	}
}

func TestSplitHeadRefused(t *testing.T) {
	setup := func(t *testing.T) (*harness, int) {
		h := newHarness(t)
		h.agent("a1", "a2")
		h.submit("j1", 0)
		h.submit("j2", 0)
		return h, h.lease1("a1", "j1-split")
	}
	t.Run("another agent's attempt", func(t *testing.T) {
		h, n := setup(t)
		c := head("j1", n)
		c.Agent, c.Now = "a2", h.now()
		h.unchanged(c, ErrNotYourAttempt)
	})
	t.Run("no agent", func(t *testing.T) {
		h, n := setup(t)
		c := head("j1", n)
		c.Agent, c.Now = "", h.now()
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a head for another job's tasks", func(t *testing.T) {
		h, n := setup(t)
		c := head("j1", n)
		c.NewTasks, c.Now = plan("j2", 1)[:1], h.now()
		h.ok(c) // j2's task names are only names: the tasks are j1's
		h.lease1("a2", "j2-split")
		other := head("j2", 1)
		other.Agent, other.Now = "a2", h.now()
		h.unchanged(other, ErrInvalidInput) // taken
	})
	t.Run("not a split", func(t *testing.T) {
		h, _ := setup(t)
		h.split("j2", "a2", 2)
		e := h.lease1("a1", "j2-encode-0")
		c := head("j2", e)
		c.Task, c.NewTasks, c.Now = "j2-encode-0", []NewTask{{ID: "j2-more-0", Kind: KindEncode}}, h.now()
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a second head", func(t *testing.T) {
		h, n := setup(t)
		h.ok(head("j1", n))
		c := head("j1", n)
		c.NewTasks, c.Now = plan("j1", 2)[1:2], h.now()
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a head that does not start at chunk 0", func(t *testing.T) {
		h, n := setup(t)
		c := head("j1", n)
		c.NewTasks, c.Now = plan("j1", 2)[1:2], h.now()
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a head with audio or AV1", func(t *testing.T) {
		h, n := setup(t)
		c := head("j1", n)
		c.NewTasks, c.Now = plan("j1", 1)[1:], h.now() // the audio task alone
		h.unchanged(c, ErrInvalidInput)
		c.NewTasks = append(plan("j1", 1)[:1], av1Of(planAV1("j1", 1), 0)...)
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a head without rungs", func(t *testing.T) {
		h, n := setup(t)
		c := head("j1", n)
		c.Rungs, c.Now = nil, h.now()
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a head after the split completed", func(t *testing.T) {
		h, n := setup(t)
		h.ok(Complete{Task: "j1-split", Attempt: n, Agent: "a1", Result: result("j1-split"), NewTasks: plan("j1", 2), Rungs: rungs, Now: h.now()})
		c := head("j1", n)
		c.NewTasks, c.Now = []NewTask{{ID: "late", Kind: KindEncode}}, h.now()
		h.unchanged(c, ErrStaleAttempt)
	})
	t.Run("a head of a failed attempt", func(t *testing.T) {
		h, n := setup(t)
		h.ok(Fail{Task: "j1-split", Attempt: n, Agent: "a1", Error: "x", Now: h.now()})
		c := head("j1", n)
		c.Now = h.now()
		h.unchanged(c, ErrStaleAttempt)
	})
	t.Run("a rest that repeats the head's chunk", func(t *testing.T) {
		h, n := setup(t)
		h.ok(head("j1", n))
		c := rest("j1", n, 3)
		c.NewTasks[0].Index, c.Now = 0, h.now() // j1-encode-1 as chunk 0 again
		h.unchanged(c, ErrInvalidInput)
		c.NewTasks = plan("j1", 3) // the head's task again
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a rest with other rungs", func(t *testing.T) {
		h, n := setup(t)
		h.ok(head("j1", n))
		c := rest("j1", n, 3)
		c.Rungs, c.Now = []string{"1080p", "720p", "360p"}, h.now()
		h.unchanged(c, ErrInvalidInput)
	})
	t.Run("a rest without the head's AV1 chunk", func(t *testing.T) {
		h, n := setup(t)
		h.ok(head("j1", n))
		c := rest("j1", n, 2)
		c.NewTasks, c.Now = append(c.NewTasks, av1Of(planAV1("j1", 2), 1)...), h.now()
		h.unchanged(c, ErrInvalidInput)
		c.NewTasks = append(rest("j1", n, 2).NewTasks, av1Of(planAV1("j1", 2), 0)...)
		h.ok(c) // every chunk's AV1 tasks come with the complete
	})
}

// TestSplitHeadAttemptFails: the head's tasks stay when the attempt that
// reported them fails; the retry reports no second head, and its Complete
// adds only the rest.
func TestSplitHeadAttemptFails(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.head("j1")
	h.ok(Fail{Task: "j1-split", Attempt: n, Agent: "a1", Error: "disk full", Now: h.now()})
	j := h.job("j1")
	if j.State != JobEncoding || len(j.Tasks) != 2 || h.task("j1-split").State != StatePending {
		t.Fatalf("after the failure: job %s with %d tasks, split %s", j.State, len(j.Tasks), h.task("j1-split").State)
	}
	h.complete("j1-encode-0", h.lease1("a2", "j1-encode-0"))

	m := h.lease1("a1", "j1-split")
	again := head("j1", m)
	again.NewTasks, again.Now = []NewTask{{ID: "j1-again-0", Kind: KindEncode}}, h.now()
	h.unchanged(again, ErrInvalidInput)
	c := rest("j1", m, 2)
	c.Now = h.now()
	h.ok(c)
	for _, id := range []string{"j1-encode-1", "j1-audio"} {
		h.complete(id, h.lease1("a2", id))
	}
	if j := h.job("j1"); j.State != JobStitching {
		t.Fatalf("job is %s, want stitching", j.State)
	}
}

// TestSplitHeadSnapshot: a new leader restored from a snapshot taken between
// the head and the complete has the head's tasks once, and completes the
// job as the old one would have.
func TestSplitHeadSnapshot(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.head("j1")
	g := restored(t, snapshotBytes(t, h.f))
	a, _ := h.f.Job("j1")
	b, _ := g.Job("j1")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("job after restore:\n got %+v\nwant %+v", b, a)
	}
	h.f = g
	c := rest("j1", n, 2)
	c.Now = h.now()
	h.ok(c)
	if tasks := h.job("j1").Tasks; len(tasks) != 4 {
		t.Fatalf("restored job has %d tasks after the complete, want split, 2 encodes and audio", len(tasks))
	}
}
