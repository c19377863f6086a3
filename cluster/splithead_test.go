package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// splitResultOf is a split result of chunks, each read from its own file,
// and audio.
func splitResultOf(t *testing.T, chunks int) json.RawMessage {
	t.Helper()
	res := media.SplitResult{Probe: &media.Probe{Duration: float64(2 * chunks)},
		Video: &media.VideoSettings{Rungs: []media.Rung{{Name: "240p", Short: 240}}},
		Audio: &media.AudioSpec{Source: "audio.nut"}} // a head's audio only says there is some
	for i := range chunks {
		name := "chunk_0000" + string(rune('0'+i)) + ".nut"
		res.Extracted.Chunks = append(res.Extracted.Chunks, name)
		res.Chunks = append(res.Chunks, media.ChunkSpec{Source: name, Chunk: media.Chunk{Index: i, Start: float64(2 * i), End: float64(2*i + 2)}})
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headResultOf is a head's split result: chunk 0, and audio without its
// start extracted, which only says there is some.
func headResultOf(t *testing.T) json.RawMessage {
	t.Helper()
	var res media.SplitResult
	if err := json.Unmarshal(splitResultOf(t, 1), &res); err != nil {
		t.Fatal(err)
	}
	res.Audio.Source = ""
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSplitHeadEndpoint: a split attempt's own agent reports its head once,
// with outputs granted to the attempt and stored as reported, each head
// task reading one of them; the split's completion then adds only the
// rest. Every other head is refused and changes nothing.
func TestSplitHeadEndpoint(t *testing.T) {
	f := newAuthorityFixture(t)
	a1, a2 := certOf(t, f.ca, pki.RoleAgent, "a1"), certOf(t, f.ca, pki.RoleAgent, "a2")
	j, asg := f.leaseSplit(a1)
	f.call(a2, "/v1/agent/lease?wait=0s", wire.LeaseRequest{Agent: wire.AgentInfo{ID: "a2", Slots: 1}}, nil)
	ref := wire.AttemptRef{Task: asg.Task, Attempt: asg.Attempt}
	upload := func(name, body string) wire.Object {
		t.Helper()
		if status, msg := f.call(a1, "/v1/agent/uploads", wire.UploadRequest{Agent: "a1", AttemptRef: ref, Names: []string{name}}, nil); status != http.StatusOK {
			t.Fatalf("upload URLs: %d %s", status, msg)
		}
		if body != "" {
			if err := f.store.Put(context.Background(), splitPrefix(j.ID, ref.Attempt)+name, strings.NewReader(body), int64(len(body))); err != nil {
				t.Fatal(err)
			}
		}
		return wire.Object{Name: name, Size: int64(len(body)), SHA256: sha(body)}
	}
	chunk0 := wire.Object{Name: "chunk_00000.nut", Size: 6, SHA256: sha("chunk0")}
	head := wire.SplitHead{Agent: "a1", AttemptRef: ref, Result: headResultOf(t), Outputs: []wire.Object{chunk0}}
	before, _ := f.n.fsm.Job(j.ID)
	for _, tt := range []struct {
		name    string
		caller  string
		edit    func(h *wire.SplitHead)
		want    int
		wantMsg string
	}{
		{"another agent's attempt", "a2", func(h *wire.SplitHead) { h.Agent = "a2" }, http.StatusForbidden, "a1"},
		{"an output not granted", "a1", func(*wire.SplitHead) {}, http.StatusBadRequest, "not granted"},
		{"an output granted, not uploaded", "a1", func(*wire.SplitHead) { upload("chunk_00000.nut", "") }, http.StatusConflict, "never uploaded"},
		{"a chunk the head did not upload", "a1", func(h *wire.SplitHead) {
			h.Outputs = []wire.Object{upload("other.nut", "other")}
		}, http.StatusBadRequest, "did not upload"},
		{"not a split result", "a1", func(h *wire.SplitHead) {
			upload("chunk_00000.nut", "chunk0")
			h.Result = json.RawMessage(`[]`)
		}, http.StatusBadRequest, "split head"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := head
			tt.edit(&h)
			caller := a1
			if tt.caller == "a2" {
				caller = a2
			}
			if status, msg := f.call(caller, "/v1/agent/head", h, nil); status != tt.want || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got %d %q, want %d mentioning %q", status, msg, tt.want, tt.wantMsg)
			}
			if after, _ := f.n.fsm.Job(j.ID); len(after.Tasks) != len(before.Tasks) || after.State != before.State {
				t.Errorf("the job changed: %s with %d tasks", after.State, len(after.Tasks))
			}
		})
	}

	if status, msg := f.call(a1, "/v1/agent/head", head, nil); status != http.StatusNoContent {
		t.Fatalf("head: %d %s", status, msg)
	}
	job, _ := f.n.fsm.Job(j.ID)
	if job.State != scheduler.JobEncoding || len(job.Tasks) != 2 || job.Tasks[1].Kind != scheduler.KindEncode {
		t.Fatalf("after the head: job %s with tasks %+v, want encoding with chunk 0's", job.State, job.Tasks)
	}
	encode0 := job.Tasks[1].ID
	if info, _ := f.n.fsm.TaskInfo(encode0); info.Inputs["chunk_00000.nut"] != splitPrefix(j.ID, ref.Attempt)+"chunk_00000.nut" {
		t.Errorf("chunk 0's task reads %v", info.Inputs)
	}
	if status, msg := f.call(a1, "/v1/agent/head", head, nil); status != http.StatusBadRequest || !strings.Contains(msg, "already") {
		t.Errorf("a second head: got %d %q, want 400", status, msg)
	}

	chunk1 := upload("chunk_00001.nut", "chunk1")
	complete := wire.Complete{Agent: "a1", AttemptRef: ref, Result: splitResultOf(t, 2),
		Outputs: []wire.Object{chunk0, chunk1, {Name: "other.nut", Size: 5, SHA256: sha("other")}}}
	if status, msg := f.call(a1, "/v1/agent/complete", complete, nil); status != http.StatusNoContent {
		t.Fatalf("complete after the head: %d %s", status, msg)
	}
	job, _ = f.n.fsm.Job(j.ID)
	if len(job.Tasks) != 4 || job.Tasks[1].ID != encode0 || job.Tasks[2].Index != 1 || job.Tasks[3].Kind != scheduler.KindAudio {
		t.Errorf("after the complete: tasks %+v, want the split, the head's chunk 0, chunk 1 and the audio", job.Tasks)
	}
}
