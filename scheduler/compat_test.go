package scheduler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// compatDir holds a Raft log and a snapshot written by an older version of
// this package (see testdata/gen), with the read views it gave at the end.
// They are never regenerated: the current code must read them as they are.
const compatDir = "testdata/compat"

// compatEntry is one line of log.jsonl: the log entry is [Type][Data].
type compatEntry struct {
	Index  uint64          `json:"index"`
	Type   uint8           `json:"type"`
	Data   json.RawMessage `json:"data"`
	Result string          `json:"result"`
}

func (e compatEntry) entry() []byte { return append([]byte{e.Type}, e.Data...) }

func readCompatLog(tb testing.TB) []compatEntry {
	tb.Helper()
	f, err := os.Open(filepath.Join(compatDir, "log.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []compatEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e compatEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			tb.Fatalf("log.jsonl line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// compatResult prints Apply's result as the generator did.
func compatResult(res any) string {
	switch r := res.(type) {
	case nil:
		return "ok"
	case error:
		return "error: " + r.Error()
	case LeaseResult:
		b, _ := json.Marshal(r.Granted)
		return "granted " + string(b)
	}
	return fmt.Sprintf("%T %v", res, res)
}

// compatViews gathers the read views in the shape of views.json, which the
// generator wrote from the HTTP contract's bodies of that time (restated by
// oldJob and oldAgent, with their omitempty fields).
func compatViews(tb testing.TB, f *FSM) any {
	tb.Helper()
	jobs := []any{}
	details := map[string]any{}
	tasks := map[string]any{}
	results := map[string]any{}
	for _, j := range f.Jobs() {
		jobs = append(jobs, oldJob(j))
		d, _ := f.Job(j.ID)
		details[j.ID] = oldJob(d)
		for _, t := range d.Tasks {
			info, _ := f.TaskInfo(t.ID)
			tasks[t.ID] = info
		}
		split, encode, audio, _ := f.Results(j.ID)
		results[j.ID] = map[string]any{"split": split, "encode": encode, "audio": audio}
	}
	agents := []any{}
	for _, a := range f.Agents() {
		agents = append(agents, oldAgent(a))
	}
	v := map[string]any{"jobs": jobs, "details": details, "agents": agents, "counters": f.Counters(),
		"scores": f.AgentScores(), "active": f.ActiveAttempts(), "tasks": tasks, "results": results}
	return normalJSON(tb, v)
}

// body is a JSON object under construction; set leaves out what omitempty
// left out.
type body map[string]any

func (b body) set(key string, v any, omit bool) {
	if !omit {
		b[key] = v
	}
}

func oldJob(j Job) body {
	b := body{"id": j.ID, "state": j.State, "source": j.Source, "output": j.Output, "priority": j.Priority,
		"created": j.Created, "updated": j.Updated, "chunksTotal": j.ChunksTotal, "chunksDone": j.ChunksDone}
	b.set("error", j.Error, j.Error == "")
	b.set("playableAt", j.PlayableAt, j.PlayableAt == nil)
	var rungs, tasks []body
	for _, r := range j.Rungs {
		rungs = append(rungs, body{"name": r, "framesDone": j.FramesDone, "framesTotal": j.FramesTotal})
	}
	for _, t := range j.Tasks {
		tb := body{"id": t.ID, "kind": t.Kind, "index": t.Index, "state": t.State}
		tb.set("winner", t.Winner, t.Winner == 0)
		var attempts []body
		for _, a := range t.Attempts {
			ab := body{"n": a.N, "agent": a.Agent, "state": a.State, "framesDone": a.FramesDone,
				"framesTotal": a.FramesTotal, "started": a.Started}
			ab.set("error", a.Error, a.Error == "")
			ab.set("finished", a.Finished, a.Finished.IsZero())
			attempts = append(attempts, ab)
		}
		tb.set("attempts", attempts, len(attempts) == 0)
		tasks = append(tasks, tb)
	}
	b.set("rungs", rungs, len(rungs) == 0)
	b.set("tasks", tasks, len(tasks) == 0)
	return b
}

func oldAgent(a Agent) body {
	return body{"id": a.ID, "state": a.State, "addr": a.Addr, "slots": a.Slots, "busy": a.Busy, "cores": a.Cores,
		"encoders": a.Encoders, "version": a.Version, "lastSeen": a.LastSeen}
}

// normalJSON round-trips v through JSON, so values compare by their JSON.
func normalJSON(tb testing.TB, v any) any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestCompatFixture restores the old snapshot and replays the old log after
// it, and separately replays the whole old log from empty: every entry must
// give the result it gave then, and both must end in the views recorded then.
func TestCompatFixture(t *testing.T) {
	entries := readCompatLog(t)
	var meta struct {
		SnapshotIndex uint64 `json:"snapshotIndex"`
	}
	var want any
	for name, v := range map[string]any{"meta.json": &meta, "views.json": &want} {
		b, err := os.ReadFile(filepath.Join(compatDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	snap, err := os.ReadFile(filepath.Join(compatDir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}

	replay := func(t *testing.T, f *FSM, from uint64) {
		for _, e := range entries {
			if e.Index <= from {
				continue
			}
			if got := compatResult(f.Apply(e.Index, e.entry())); got != e.Result {
				t.Errorf("entry %d (%v): got %s, want %s", e.Index, CommandType(e.Type), got, e.Result)
			}
			if err := f.s.check(); err != nil {
				t.Fatalf("entry %d (%v): %v", e.Index, CommandType(e.Type), err)
			}
		}
	}
	full := NewFSM(nil)
	t.Run("log", func(t *testing.T) {
		replay(t, full, 0)
		if got := compatViews(t, full); !reflect.DeepEqual(got, want) {
			t.Errorf("views after the whole log differ:\ngot  %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
		}
	})
	t.Run("snapshot", func(t *testing.T) {
		f := restored(t, snap)
		replay(t, f, meta.SnapshotIndex)
		if got := compatViews(t, f); !reflect.DeepEqual(got, want) {
			t.Errorf("views after snapshot and log differ:\ngot  %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
		}
		if a, b := snapshotBytes(t, f), snapshotBytes(t, full); !bytes.Equal(a, b) {
			t.Errorf("state restored from the snapshot differs from the replayed log:\n%s\n%s", a, b)
		}
	})
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
