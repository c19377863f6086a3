package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/sunomi/sunomi/media"
)

// spreadPlan turns chunk 0 of a plan into one task per rung, as the leader
// plans a job's first chunk when agents are idle.
func spreadPlan(tasks []NewTask) []NewTask {
	var out []NewTask
	for _, nt := range tasks {
		if nt.Kind != KindEncode || nt.Index != 0 {
			out = append(out, nt)
			continue
		}
		for k, r := range rungs {
			part := nt
			part.ID, part.Rungs = fmt.Sprintf("%s-p%d", nt.ID, k), []string{r}
			out = append(out, part)
		}
	}
	return out
}

// partResult is what an honest agent reports for a task of a chunk: its
// rungs, the chunk's frames and segments, and thumbnails when it is a
// chunk's only task or its lead.
func partResult(info TaskInfo) json.RawMessage {
	res := media.ChunkResult{Index: info.Index, Frames: 100, Segments: []media.SegmentTiming{{Index: info.Index, Start: 4 * float64(info.Index), Duration: 4}}}
	names := info.Rungs
	if len(names) == 0 {
		names = rungs
	}
	for _, r := range names {
		res.Rungs = append(res.Rungs, media.RungOutput{Name: r, Codec: "avc1.64001f",
			Files: []media.SegmentFile{{Index: info.Index, File: fmt.Sprintf("%s/c%05d_a1_%05d.ts", r, info.Index, info.Index), Bytes: 1000}}})
	}
	if len(info.Rungs) == 0 || info.Lead {
		res.Thumbnails = []media.ImageFile{{Time: 0, File: "thumbs/c00000_a1_t00000.jpg"}}
	}
	b, _ := json.Marshal(res)
	return b
}

func (h *harness) completePart(task string, n int, result json.RawMessage) any {
	h.tb.Helper()
	return h.do(Complete{Task: task, Attempt: n, Result: result, Now: h.now()})
}

func spreadJob(t *testing.T) *harness {
	h := newHarness(t)
	h.agent("a", "b")
	h.submit("j", 0)
	n := h.lease1("a", "j-split")
	h.ok(Complete{Task: "j-split", Attempt: n, Result: result("j-split"), NewTasks: spreadPlan(plan("j", 3)), Rungs: rungs, Now: h.now()})
	return h
}

func TestSpreadTasksAreParts(t *testing.T) {
	h := spreadJob(t)
	j := h.job("j")
	var parts []Task
	for _, task := range j.Tasks {
		if task.Kind == KindEncode && task.Index == 0 {
			parts = append(parts, task)
		}
	}
	if len(parts) != 2 || !slices.Equal(parts[0].Rungs, []string{"720p"}) || !slices.Equal(parts[1].Rungs, []string{"360p"}) {
		t.Fatalf("chunk 0's tasks %+v, want one per rung", parts)
	}
	if got := h.task("j-encode-1"); len(got.Rungs) != 0 {
		t.Errorf("chunk 1's task encodes rungs %v, want every rung (no part)", got.Rungs)
	}
	if j.ChunksTotal != 3 {
		t.Errorf("ChunksTotal %d, want 3 (chunk 0's parts count once)", j.ChunksTotal)
	}
	lead, _ := h.f.TaskInfo("j-encode-0-p0")
	other, _ := h.f.TaskInfo("j-encode-0-p1")
	if !lead.Lead || other.Lead {
		t.Errorf("lead flags %v, %v, want the first part to lead", lead.Lead, other.Lead)
	}
}

func TestSpreadPlansRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]NewTask) []NewTask
	}{
		{"rung not in the ladder", func(ts []NewTask) []NewTask { ts[0].Rungs = []string{"1080p"}; return ts }},
		{"rung encoded twice", func(ts []NewTask) []NewTask { ts[1].Rungs = []string{"720p"}; return ts }},
		{"a rung left out", func(ts []NewTask) []NewTask { return slices.Delete(ts, 1, 2) }},
		{"a task of every rung beside parts", func(ts []NewTask) []NewTask {
			return append(ts, NewTask{ID: "j-whole-0", Kind: KindEncode, Index: 0})
		}},
		{"a chunk missing", func(ts []NewTask) []NewTask {
			return slices.DeleteFunc(ts, func(nt NewTask) bool { return nt.Index == 1 })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.agent("a")
			h.submit("j", 0)
			n := h.lease1("a", "j-split")
			h.fails(Complete{Task: "j-split", Attempt: n, Result: result("j-split"), NewTasks: tc.edit(spreadPlan(plan("j", 3))), Rungs: rungs, Now: h.now()}, ErrInvalidInput)
			if got := h.task("j-split").State; got == StateDone {
				t.Errorf("split is %s after a refused plan", got)
			}
		})
	}
}

// TestSpreadPartReportsOnlyItsRungs: an agent that runs one part of a
// spread chunk cannot smuggle another part's rungs, thumbnails or a
// different timeline into the chunk's result.
func TestSpreadPartReportsOnlyItsRungs(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*media.ChunkResult)
	}{
		{"another part's rung", func(r *media.ChunkResult) {
			r.Rungs = append(r.Rungs, media.RungOutput{Name: "720p", Files: []media.SegmentFile{{File: "720p/c00000_a1_00000.ts"}}})
		}},
		{"another part's rung instead", func(r *media.ChunkResult) { r.Rungs[0].Name = "720p" }},
		{"no rung", func(r *media.ChunkResult) { r.Rungs = nil }},
		{"another chunk", func(r *media.ChunkResult) { r.Index = 1 }},
		{"thumbnails from a part that is not the lead", func(r *media.ChunkResult) {
			r.Thumbnails = []media.ImageFile{{File: "thumbs/c00000_a1_t00000.jpg"}}
		}},
		{"other segments than the lead's", func(r *media.ChunkResult) { r.Segments[0].Duration = 3 }},
		{"other frames than the lead's", func(r *media.ChunkResult) { r.Frames = 99 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := spreadJob(t)
			lead := h.lease1("a", "j-encode-0-p0")
			h.ok(Complete{Task: "j-encode-0-p0", Attempt: lead, Result: partResult(mustInfo(t, h, "j-encode-0-p0")), Now: h.now()})
			n := h.lease1("b", "j-encode-0-p1")
			var r media.ChunkResult
			if err := json.Unmarshal(partResult(mustInfo(t, h, "j-encode-0-p1")), &r); err != nil {
				t.Fatal(err)
			}
			tc.edit(&r)
			b, _ := json.Marshal(r)
			if err, _ := h.completePart("j-encode-0-p1", n, b).(error); err == nil {
				t.Fatalf("a part reporting %s was committed", tc.name)
			}
			if _, chunks, _, _ := h.f.Results("j"); chunks[0] != nil {
				t.Errorf("chunk 0 has a result %s while a part is not done", chunks[0])
			}
		})
	}
}

func mustInfo(t *testing.T, h *harness, task string) TaskInfo {
	t.Helper()
	info, ok := h.f.TaskInfo(task)
	if !ok {
		t.Fatalf("task %s not found", task)
	}
	return info
}

// TestSpreadResultsMerge: the chunk's result appears once every part is
// done, with the rungs in ladder order whatever order the parts finished in.
func TestSpreadResultsMerge(t *testing.T) {
	h := spreadJob(t)
	second := h.lease1("b", "j-encode-0-p1")
	first := h.lease1("a", "j-encode-0-p0")
	if err, _ := h.completePart("j-encode-0-p1", second, partResult(mustInfo(t, h, "j-encode-0-p1"))).(error); err != nil {
		t.Fatal(err)
	}
	if _, chunks, _, _ := h.f.Results("j"); chunks[0] != nil {
		t.Fatalf("chunk 0 has a result %s with one part of two done", chunks[0])
	}
	if j := h.job("j"); j.ChunksDone != 0 {
		t.Errorf("ChunksDone %d with a part left, want 0", j.ChunksDone)
	}
	if err, _ := h.completePart("j-encode-0-p0", first, partResult(mustInfo(t, h, "j-encode-0-p0"))).(error); err != nil {
		t.Fatal(err)
	}
	_, chunks, _, _ := h.f.Results("j")
	var got media.ChunkResult
	if err := json.Unmarshal(chunks[0], &got); err != nil {
		t.Fatalf("chunk 0's result %s: %v", chunks[0], err)
	}
	var names []string
	for _, r := range got.Rungs {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, rungs) || got.Frames != 100 || len(got.Segments) != 1 || len(got.Thumbnails) != 1 {
		t.Errorf("merged result has rungs %v, %d frames, %d segments, %d thumbnails; want %v, 100, 1, 1", names, got.Frames, len(got.Segments), len(got.Thumbnails), rungs)
	}
	if j := h.job("j"); j.ChunksDone != 1 {
		t.Errorf("ChunksDone %d, want 1", j.ChunksDone)
	}
	// The state and its snapshot's restoration agree on the merge.
	f := restored(t, snapshotBytes(t, h.f))
	_, again, _, _ := f.Results("j")
	if string(again[0]) != string(chunks[0]) {
		t.Errorf("restored result %s, want %s", again[0], chunks[0])
	}
	if info, _ := f.TaskInfo("j-encode-0-p1"); !slices.Equal(info.Rungs, []string{"360p"}) {
		t.Errorf("restored part encodes %v, want [360p]", info.Rungs)
	}
}

// TestSpreadPartsGoToSeveralAgents: the agent that asks first leaves a part
// of a spread chunk to another agent with a free slot.
func TestSpreadPartsGoToSeveralAgents(t *testing.T) {
	h := spreadJob(t)
	_, cmd, ok := h.f.FindWork("a", 2, h.now())
	if !ok {
		t.Fatal("no work for a")
	}
	forA := cmd.(Lease).Tasks
	h.ok(cmd)
	_, cmd, ok = h.f.FindWork("b", 2, h.now())
	if !ok {
		t.Fatal("no work for b")
	}
	forB := cmd.(Lease).Tasks
	if !slices.Contains(forA, "j-encode-0-p0") || slices.Contains(forA, "j-encode-0-p1") || !slices.Contains(forB, "j-encode-0-p1") {
		t.Errorf("a got %v, b got %v; want chunk 0's parts on both", forA, forB)
	}
	// With no other agent alive, one agent takes every part.
	h2 := spreadJob(t)
	h2.ok(AgentDown{ID: "b", State: AgentDead, Now: h2.now()})
	_, cmd, _ = h2.f.FindWork("a", 4, h2.now())
	if got := cmd.(Lease).Tasks; !slices.Contains(got, "j-encode-0-p0") || !slices.Contains(got, "j-encode-0-p1") {
		t.Errorf("a alone got %v, want both of chunk 0's parts", got)
	}
}
