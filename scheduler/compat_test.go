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
	"time"
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
// generator wrote from the HTTP contract's types of that time (oldJob,
// oldAgent below restate them).
func compatViews(tb testing.TB, f *FSM) any {
	tb.Helper()
	var jobs []oldJob
	details := map[string]any{}
	tasks := map[string]any{}
	results := map[string]any{}
	for _, j := range f.Jobs() {
		jobs = append(jobs, oldJobOf(j))
		d, _ := f.Job(j.ID)
		details[j.ID] = oldJobOf(d)
		for _, t := range d.Tasks {
			info, _ := f.TaskInfo(t.ID)
			tasks[t.ID] = info
		}
		split, encode, audio, _ := f.Results(j.ID)
		results[j.ID] = map[string]any{"split": split, "encode": encode, "audio": audio}
	}
	var agents []oldAgent
	for _, a := range f.Agents() {
		agents = append(agents, oldAgent{ID: a.ID, State: a.State, Addr: a.Addr, Slots: a.Slots, Busy: a.Busy,
			Cores: a.Cores, Encoders: a.Encoders, Version: a.Version, LastSeen: a.LastSeen})
	}
	v := map[string]any{"jobs": jobs, "details": details, "agents": agents, "counters": f.Counters(),
		"scores": f.AgentScores(), "active": f.ActiveAttempts(), "tasks": tasks, "results": results}
	return normalJSON(tb, v)
}

type oldJob struct {
	ID          string     `json:"id"`
	State       JobState   `json:"state"`
	Source      string     `json:"source"`
	Output      string     `json:"output"`
	Priority    int        `json:"priority"`
	Error       string     `json:"error,omitempty"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
	ChunksTotal int        `json:"chunksTotal"`
	ChunksDone  int        `json:"chunksDone"`
	Rungs       []oldRung  `json:"rungs,omitempty"`
	PlayableAt  *time.Time `json:"playableAt,omitempty"`
	Tasks       []oldTask  `json:"tasks,omitempty"`
}

type oldRung struct {
	Name        string `json:"name"`
	FramesDone  int64  `json:"framesDone"`
	FramesTotal int64  `json:"framesTotal"`
}

type oldTask struct {
	ID       string       `json:"id"`
	Kind     TaskKind     `json:"kind"`
	Index    int          `json:"index"`
	State    AttemptState `json:"state"`
	Winner   int          `json:"winner,omitempty"`
	Attempts []oldAttempt `json:"attempts,omitempty"`
}

type oldAttempt struct {
	N           int          `json:"n"`
	Agent       string       `json:"agent"`
	State       AttemptState `json:"state"`
	Error       string       `json:"error,omitempty"`
	FramesDone  int64        `json:"framesDone"`
	FramesTotal int64        `json:"framesTotal"`
	Started     time.Time    `json:"started"`
	Finished    time.Time    `json:"finished,omitzero"`
}

type oldAgent struct {
	ID       string     `json:"id"`
	State    AgentState `json:"state"`
	Addr     string     `json:"addr"`
	Slots    int        `json:"slots"`
	Busy     int        `json:"busy"`
	Cores    int        `json:"cores"`
	Encoders []string   `json:"encoders"`
	Version  string     `json:"version"`
	LastSeen time.Time  `json:"lastSeen"`
}

func oldJobOf(j Job) oldJob {
	o := oldJob{ID: j.ID, State: j.State, Source: j.Source, Output: j.Output, Priority: j.Priority, Error: j.Error,
		Created: j.Created, Updated: j.Updated, ChunksTotal: j.ChunksTotal, ChunksDone: j.ChunksDone, PlayableAt: j.PlayableAt}
	for _, r := range j.Rungs {
		o.Rungs = append(o.Rungs, oldRung{Name: r, FramesDone: j.FramesDone, FramesTotal: j.FramesTotal})
	}
	for _, t := range j.Tasks {
		ot := oldTask{ID: t.ID, Kind: t.Kind, Index: t.Index, State: t.State, Winner: t.Winner}
		for _, a := range t.Attempts {
			ot.Attempts = append(ot.Attempts, oldAttempt{N: a.N, Agent: a.Agent, State: a.State, Error: a.Error,
				FramesDone: a.FramesDone, FramesTotal: a.FramesTotal, Started: a.Started, Finished: a.Finished})
		}
		o.Tasks = append(o.Tasks, ot)
	}
	return o
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
