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

	"github.com/hashicorp/raft"
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

func (e compatEntry) log() *raft.Log {
	return &raft.Log{Index: e.Index, Type: raft.LogCommand, Data: append([]byte{e.Type}, e.Data...)}
}

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

// compatViews gathers the read views in the shape of views.json.
func compatViews(tb testing.TB, f *FSM) any {
	tb.Helper()
	jobs := f.Jobs()
	details := map[string]any{}
	tasks := map[string]any{}
	results := map[string]any{}
	for _, j := range jobs {
		d, _ := f.Job(j.ID)
		details[j.ID] = d
		for _, t := range d.Tasks {
			info, _ := f.TaskInfo(t.ID)
			tasks[t.ID] = info
		}
		split, encode, audio, _ := f.Results(j.ID)
		results[j.ID] = map[string]any{"split": split, "encode": encode, "audio": audio}
	}
	v := map[string]any{"jobs": jobs, "details": details, "agents": f.Agents(), "counters": f.Counters(),
		"scores": f.AgentScores(), "active": f.ActiveAttempts(), "tasks": tasks, "results": results}
	return normalJSON(tb, v)
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
			if got := compatResult(f.Apply(e.log())); got != e.Result {
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
