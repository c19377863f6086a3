package scheduler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// finish runs a submitted job to the end: done (split, one chunk, audio,
// stitch), failed (permanent split failure) or canceled.
func (h *harness) finish(id string, end JobState) {
	h.tb.Helper()
	switch end {
	case JobDone:
		h.split(id, "a1", 1)
		for _, task := range []string{id + "-encode-0", id + "-audio", id + "-stitch"} {
			h.complete(task, h.lease1("a1", task))
		}
	case JobFailed:
		h.ok(Fail{Task: id + "-split", Attempt: h.lease1("a1", id+"-split"), Error: "not a video", Permanent: true, Now: h.now()})
	case JobCanceled:
		h.ok(CancelJob{Job: id, Now: h.now()})
	}
	if got := h.job(id).State; got != end {
		h.tb.Fatalf("job %s: got %s, want %s", id, got, end)
	}
}

func TestJobCollected(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	for _, id := range []string{"j1", "j2", "j3", "j4"} {
		h.submit(id, 0)
	}
	// Finishing order differs from submission order; the list keeps the
	// latter, as an upgraded snapshot builds it.
	h.finish("j3", JobCanceled)
	h.finish("j1", JobDone)
	h.finish("j2", JobFailed)
	if got, want := h.f.Uncollected(), []string{"j1", "j2", "j3"}; !slices.Equal(got, want) {
		t.Fatalf("Uncollected: got %v, want %v", got, want)
	}

	h.fails(JobCollected{Job: "j4", Now: h.now()}, ErrInvalidInput) // unfinished
	h.fails(JobCollected{Job: "nope", Now: h.now()}, ErrNotFound)
	at := h.now()
	h.ok(JobCollected{Job: "j2", Now: at})
	h.ok(JobCollected{Job: "j2", Now: h.now()}) // recorded once: a no-op
	if got := h.job("j2").CollectedAt; !got.Equal(at) {
		t.Errorf("j2 collected at %v, want %v", got, at)
	}
	if got, want := h.f.Uncollected(), []string{"j1", "j3"}; !slices.Equal(got, want) {
		t.Errorf("Uncollected after collecting j2: got %v, want %v", got, want)
	}
	// A collection recorded before a snapshot is not redone after it.
	if got := restored(t, snapshotBytes(t, h.f)).Uncollected(); !slices.Equal(got, []string{"j1", "j3"}) {
		t.Errorf("Uncollected after restore: got %v", got)
	}
}

func TestCompactJobs(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	for i := range 6 {
		id := fmt.Sprintf("j%d", i)
		h.ok(SubmitJob{ID: id, Source: "up/" + id, SourceInput: "up/" + id, IdempotencyKey: "key-" + id, Now: h.now()})
		if i < 5 {
			h.finish(id, JobDone)
		}
	}
	empty := len(snapshotBytes(t, restored(t, snapshotBytes(t, newHarness(t).f))))
	small := len(snapshotBytes(t, h.f))
	var collected []time.Time
	for _, id := range []string{"j0", "j1", "j2", "j3"} {
		now := h.now()
		collected = append(collected, now)
		h.ok(JobCollected{Job: id, Now: now})
	}

	tests := []struct {
		name   string
		cutoff time.Time
		max    int
		want   []string
	}{
		{"none old enough", collected[0].Add(-time.Second), 10, nil},
		{"up to the cutoff", collected[1], 10, []string{"j0", "j1"}},
		{"at most max", collected[3], 3, []string{"j0", "j1", "j2"}},
		{"never uncollected ones", collected[3].Add(time.Hour), 10, []string{"j0", "j1", "j2", "j3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.f.Compactable(tt.cutoff, tt.max); !slices.Equal(got, tt.want) {
				t.Errorf("Compactable: got %v, want %v", got, tt.want)
			}
		})
	}

	// j4 is finished but not collected, j5 unfinished: both stay.
	h.ok(CompactJobs{Jobs: []string{"j0", "j1", "j4", "j5", "nope"}, Now: h.now()})
	for _, id := range []string{"j0", "j1"} {
		if _, ok := h.f.Job(id); ok {
			t.Errorf("job %s still there after compaction", id)
		}
		if _, ok := h.f.TaskInfo(id + "-split"); ok {
			t.Errorf("task %s-split still there after compaction", id)
		}
		if _, ok := h.f.s.Keys["key-"+id]; ok {
			t.Errorf("key of %s still there after compaction", id)
		}
	}
	for _, id := range []string{"j2", "j3", "j4", "j5"} {
		h.job(id)
	}
	if got := h.f.Compactable(collected[3], 10); !slices.Equal(got, []string{"j2", "j3"}) {
		t.Errorf("Compactable after compaction: got %v", got)
	}
	// Out of recording order (not the leader's way) works too.
	h.ok(CompactJobs{Jobs: []string{"j3"}, Now: h.now()})
	h.ok(CompactJobs{Jobs: []string{"j2"}, Now: h.now()})
	if got := h.f.Compactable(collected[3], 10); len(got) != 0 {
		t.Errorf("Compactable after compacting all: got %v", got)
	}
	// A compacted key may name a new job.
	if res := h.ok(SubmitJob{ID: "j6", Source: "up/j0", SourceInput: "up/j0", IdempotencyKey: "key-j0", Now: h.now()}); res != nil {
		t.Errorf("submission with a compacted job's key: got %v, want a new job", res)
	}
	if got := len(snapshotBytes(t, h.f)); got >= small {
		t.Errorf("snapshot of %d bytes after compacting 4 of 6 jobs, before %d (empty state %d)", got, small, empty)
	}
	if got := restored(t, snapshotBytes(t, h.f)); !bytes.Equal(snapshotBytes(t, got), snapshotBytes(t, h.f)) {
		t.Errorf("snapshot round trip after compaction differs")
	}
}

func TestForgetAgents(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2", "a3", "a4")
	h.ok(AgentDown{ID: "a1", State: AgentDead, Now: h.now()})
	h.ok(AgentDown{ID: "a2", State: AgentLeft, Now: h.now()})
	h.ok(AgentDown{ID: "a3", State: AgentDraining, Now: h.now()})
	if got, want := h.f.GoneAgents(h.clock), []string{"a1", "a2"}; !slices.Equal(got, want) {
		t.Errorf("GoneAgents: got %v, want %v", got, want)
	}
	// a1 was last seen at its registration, the first second.
	if got, want := h.f.GoneAgents(t0.Add(time.Second)), []string{"a1"}; !slices.Equal(got, want) {
		t.Errorf("GoneAgents before a2 was last seen: got %v, want %v", got, want)
	}
	h.agent("a2") // came back before the command
	h.ok(ForgetAgents{Agents: []string{"a1", "a2", "a3", "a4", "nope"}, Now: h.now()})
	var ids []string
	for _, a := range h.f.Agents() {
		ids = append(ids, a.ID)
	}
	if want := []string{"a2", "a3", "a4"}; !slices.Equal(ids, want) {
		t.Errorf("agents after ForgetAgents: got %v, want %v", ids, want)
	}
}

func TestIdempotentSubmit(t *testing.T) {
	h := newHarness(t)
	submit := func(id, source, key string) any {
		return h.do(SubmitJob{ID: id, Source: source, SourceInput: source, IdempotencyKey: key, Now: h.now()})
	}
	if res := submit("j1", "up/v1", "video-1"); res != nil {
		t.Fatalf("first submission: got %v, want nil (created)", res)
	}
	// A retry with a new job ID (another coordinator, another leader)
	// gets the first job and creates nothing.
	if res := submit("j2", "up/v1", "video-1"); res != (ExistingJob{Job: "j1"}) {
		t.Errorf("repeat: got %#v, want ExistingJob{j1}", res)
	}
	if _, ok := h.f.Job("j2"); ok {
		t.Errorf("a repeated submission created job j2")
	}
	if res := submit("j3", "up/v2", "video-1"); !errors.Is(asError(res), ErrKeyReused) {
		t.Errorf("key reused for another source: got %v, want ErrKeyReused", res)
	}
	if res := submit("j4", "up/v4", strings.Repeat("k", MaxIdempotencyKey+1)); !errors.Is(asError(res), ErrInvalidInput) {
		t.Errorf("overlong key: got %v, want ErrInvalidInput", res)
	}
	// Without a key every submission is a job, as before.
	if submit("j5", "up/v1", "") != nil || submit("j6", "up/v1", "") != nil {
		t.Errorf("keyless submissions refused")
	}
	if got := len(h.f.Jobs()); got != 3 {
		t.Errorf("%d jobs, want 3 (j1, j5, j6)", got)
	}
	if got := restored(t, snapshotBytes(t, h.f)).s.Keys; got["video-1"] != "j1" || len(got) != 1 {
		t.Errorf("keys after restore: got %v", got)
	}
}

// TestRestoreVersion1 reads a snapshot written before clean-ups were
// recorded: its finished jobs await collection, once.
func TestRestoreVersion1(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	for _, id := range []string{"j1", "j2", "j3"} {
		h.submit(id, 0)
	}
	h.finish("j2", JobCanceled)
	h.finish("j1", JobDone)
	var v1 map[string]json.RawMessage
	if err := json.Unmarshal(snapshotBytes(t, h.f), &v1); err != nil {
		t.Fatal(err)
	}
	v1["version"] = json.RawMessage("1")
	delete(v1, "uncollected")
	data, _ := json.Marshal(v1)

	f := restored(t, data)
	if got, want := f.Uncollected(), []string{"j1", "j2"}; !slices.Equal(got, want) {
		t.Errorf("Uncollected: got %v, want %v", got, want)
	}
	if !bytes.Equal(snapshotBytes(t, f), snapshotBytes(t, h.f)) {
		t.Errorf("upgraded snapshot differs from the state that wrote it:\n%s\n%s", snapshotBytes(t, f), snapshotBytes(t, h.f))
	}
}

func TestListJobs(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	for i := 1; i <= 7; i++ {
		h.submit(fmt.Sprintf("j%d", i), 0)
	}
	h.finish("j2", JobCanceled)
	h.finish("j5", JobCanceled)
	h.finish("j6", JobDone)
	ids := func(p JobPage) []string {
		var out []string
		for _, j := range p.Jobs {
			out = append(out, j.ID)
		}
		return out
	}
	// pages lists every page of a query.
	pages := func(q JobQuery) [][]string {
		var out [][]string
		for {
			p := h.f.ListJobs(q)
			out = append(out, ids(p))
			if p.Next == 0 {
				return out
			}
			q.Before = p.Next
		}
	}
	tests := []struct {
		name string
		q    JobQuery
		want [][]string
	}{
		{"all, newest first", JobQuery{Limit: 100}, [][]string{{"j7", "j6", "j5", "j4", "j3", "j2", "j1"}}},
		{"pages of three", JobQuery{Limit: 3}, [][]string{{"j7", "j6", "j5"}, {"j4", "j3", "j2"}, {"j1"}}},
		{"exact pages end without an empty one", JobQuery{Limit: 7}, [][]string{{"j7", "j6", "j5", "j4", "j3", "j2", "j1"}}},
		{"finished", JobQuery{States: []JobState{JobDone, JobCanceled}, Limit: 2}, [][]string{{"j6", "j5"}, {"j2"}}},
		{"unfinished", JobQuery{States: []JobState{JobQueued}, Limit: 2}, [][]string{{"j7", "j4"}, {"j3", "j1"}}},
		{"none", JobQuery{States: []JobState{JobFailed}, Limit: 2}, [][]string{nil}},
		{"after a cursor", JobQuery{Before: 4, Limit: 10}, [][]string{{"j3", "j2", "j1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pages(tt.q); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("pages: got %v, want %v", got, tt.want)
			}
		})
	}

	// A cursor stays valid while jobs are submitted and compacted.
	first := h.f.ListJobs(JobQuery{Limit: 3})
	h.submit("j8", 0)
	h.ok(JobCollected{Job: "j2", Now: h.now()})
	h.ok(CompactJobs{Jobs: []string{"j2"}, Now: h.now()})
	if got := ids(h.f.ListJobs(JobQuery{Before: first.Next, Limit: 3})); !slices.Equal(got, []string{"j4", "j3", "j1"}) {
		t.Errorf("next page after a submission and a compaction: got %v", got)
	}
}

// TestCompactionKeepsListingIndexSmall compacts most jobs: the listing's
// index drops what it no longer needs and still pages correctly.
func TestCompactionKeepsListingIndexSmall(t *testing.T) {
	h := newHarness(t)
	h.agent("a1")
	for i := range 40 {
		id := fmt.Sprintf("j%02d", i)
		h.submit(id, 0)
		h.finish(id, JobCanceled)
		h.ok(JobCollected{Job: id, Now: h.now()})
	}
	h.ok(CompactJobs{Jobs: h.f.Compactable(h.clock, 35), Now: h.now()})
	if got := len(h.f.s.bySeq); got > 20 {
		t.Errorf("listing index holds %d entries for 5 jobs", got)
	}
	var got []string
	for _, j := range h.f.ListJobs(JobQuery{Limit: 10}).Jobs {
		got = append(got, j.ID)
	}
	if want := []string{"j39", "j38", "j37", "j36", "j35"}; !slices.Equal(got, want) {
		t.Errorf("ListJobs: got %v, want %v", got, want)
	}
}
