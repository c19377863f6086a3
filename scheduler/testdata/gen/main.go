// Command gen wrote the compatibility fixture in scheduler/testdata/compat:
// a Raft log and a snapshot made by the scheduler as it was before the domain
// moved out of cluster/wire, and the read views the state machine gave for
// them. TestCompatFixture restores and replays them on the current code.
//
// Do not run it again: the fixture's point is that its bytes were written by
// an older version. A new fixture for a newer version goes in a new directory.
//
//	go run ./scheduler/testdata/gen scheduler/testdata/compat
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// entry is one line of log.jsonl: the log entry is [Type][Data].
type entry struct {
	Index uint64          `json:"index"`
	Type  uint8           `json:"type"`
	Data  json.RawMessage `json:"data"`
	// Result is what Apply returned, as printed by resultString.
	Result string `json:"result"`
}

type memSink struct{ bytes.Buffer }

func (s *memSink) ID() string    { return "fixture" }
func (s *memSink) Close() error  { return nil }
func (s *memSink) Cancel() error { return nil }

// resultString prints Apply's result the way the test compares it.
func resultString(res any) string {
	switch r := res.(type) {
	case nil:
		return "ok"
	case error:
		return "error: " + r.Error()
	case scheduler.LeaseResult:
		b, _ := json.Marshal(r.Granted)
		return "granted " + string(b)
	}
	return fmt.Sprintf("%T %v", res, res)
}

type gen struct {
	f       *scheduler.FSM
	entries []entry
	clock   time.Time
}

func (g *gen) now() time.Time {
	g.clock = g.clock.Add(time.Second)
	return g.clock
}

func (g *gen) do(t scheduler.CommandType, payload any) any {
	data, err := scheduler.Encode(t, payload)
	if err != nil {
		log.Fatal(err)
	}
	index := uint64(len(g.entries) + 1)
	res := g.f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data})
	g.entries = append(g.entries, entry{Index: index, Type: data[0], Data: data[1:], Result: resultString(res)})
	return res
}

func (g *gen) attempt(res any) int {
	lr, ok := res.(scheduler.LeaseResult)
	if !ok || len(lr.Granted) != 1 {
		log.Fatalf("want one granted attempt, got %v", res)
	}
	return lr.Granted[0].Attempt
}

func (g *gen) lease(agent string, tasks ...string) any {
	return g.do(scheduler.CmdLease, scheduler.Lease{Agent: agent, Tasks: tasks, Now: g.now()})
}

func (g *gen) progress(task string, n int, done int64) {
	g.do(scheduler.CmdProgress, scheduler.Progress{Task: task, Attempt: n, FramesDone: done, FramesTotal: 240, Now: g.now()})
}

func (g *gen) complete(task string, n int) any {
	return g.do(scheduler.CmdComplete, scheduler.Complete{Task: task, Attempt: n,
		Result:  json.RawMessage(`{"task":"` + task + `","attempt":` + fmt.Sprint(n) + `}`),
		Outputs: []wire.Object{{Name: fmt.Sprintf("720p/%s_a%d.ts", task, n), Size: 1000 + int64(n), SHA256: "ab12"}},
		Now:     g.now()})
}

func (g *gen) submit(id string, priority int, encoder string) {
	g.do(scheduler.CmdSubmitJob, scheduler.SubmitJob{
		ID: id,
		Submit: wire.SubmitJob{Source: "uploads/" + id + ".mp4", Priority: priority,
			Options: wire.JobOptions{Segment: "4s", Encoder: encoder, Rungs: []int{1080, 720}}},
		Output:      "videos/" + id + "/hls",
		SplitSpec:   json.RawMessage(`{"options":{"Segment":4000000000,"Encoder":"` + encoder + `"}}`),
		SourceInput: "uploads/" + id + ".mp4",
		Now:         g.now(),
	})
}

// split completes a job's split with chunks encode tasks and an audio task.
func (g *gen) split(job string, n, chunks int, prefer []string) {
	var tasks []scheduler.NewTask
	for i := range chunks {
		tasks = append(tasks, scheduler.NewTask{ID: fmt.Sprintf("%s-e%05d", job, i), Kind: wire.TaskEncode, Index: i,
			Spec:   json.RawMessage(fmt.Sprintf(`{"chunk":{"index":%d}}`, i)),
			Inputs: map[string]string{fmt.Sprintf("c%d.mkv", i): fmt.Sprintf("jobs/%s/chunks/c%d.mkv", job, i)}, MediaSeconds: 8, Prefer: prefer})
	}
	tasks = append(tasks, scheduler.NewTask{ID: job + "-audio", Kind: wire.TaskAudio, Spec: json.RawMessage(`{"source":"audio.mka"}`),
		Inputs: map[string]string{"audio.mka": "jobs/" + job + "/chunks/audio.mka"}, MediaSeconds: 8 * float64(chunks)})
	g.do(scheduler.CmdComplete, scheduler.Complete{Task: job + "-split", Attempt: n,
		Result:   json.RawMessage(`{"probe":{"duration":` + fmt.Sprint(8*chunks) + `}}`),
		Outputs:  []wire.Object{{Name: "c0.mkv", Size: 5000, SHA256: "cd34"}},
		NewTasks: tasks, Rungs: []string{"1080p", "720p"}, Now: g.now()})
}

// views is what the state machine's read methods returned at the end.
type views struct {
	Jobs     []wire.Job                    `json:"jobs"`
	Details  map[string]wire.Job           `json:"details"`
	Agents   []wire.Agent                  `json:"agents"`
	Counters scheduler.Counters            `json:"counters"`
	Scores   map[string]time.Duration      `json:"scores"`
	Active   []scheduler.ActiveAttempt     `json:"active"`
	Tasks    map[string]scheduler.TaskInfo `json:"tasks"`
	Results  map[string]map[string]any     `json:"results"`
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: gen DIR")
	}
	dir := os.Args[1]
	g := &gen{f: scheduler.NewFSM(nil), clock: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	hw := []string{"h264_nvenc", "h264_qsv"}

	for _, a := range []wire.AgentInfo{
		{ID: "cpu1", Addr: "10.0.0.1:9000", Slots: 2, Cores: 8, Encoders: []string{"libx264"}, Version: "v1"},
		{ID: "gpu1", Addr: "10.0.0.2:9000", Slots: 2, Cores: 16, Encoders: []string{"h264_nvenc", "libx264"}, Version: "v1"},
		{ID: "cpu2", Addr: "10.0.0.3:9000", Slots: 1, Cores: 4, Encoders: []string{"libx264"}, Version: "v1"},
	} {
		g.do(scheduler.CmdRegisterAgent, scheduler.RegisterAgent{Info: a, Now: g.now()})
	}
	g.submit("j1", 0, "auto")
	g.submit("j2", 5, "libx264")
	g.submit("j3", 0, "")
	g.submit("j4", 1, "auto")

	// j1: split with preferences, encodes leased, stolen, backed up, failed,
	// expired, then done with a playable stitch.
	n := g.attempt(g.lease("cpu1", "j1-split"))
	g.progress("j1-split", n, 0)
	g.split("j1", n, 4, hw)
	g.lease("gpu1", "j1-e00000", "j1-e00001", "j1-e00002")
	g.lease("cpu1", "j1-audio")
	g.progress("j1-e00000", 1, 120)
	g.do(scheduler.CmdSteal, scheduler.Steal{Thief: "cpu2", Task: "j1-e00002", Victim: "gpu1", Attempt: 1, Now: g.now()})
	// A steal of an attempt that started meanwhile is refused.
	g.do(scheduler.CmdSteal, scheduler.Steal{Thief: "cpu2", Task: "j1-e00000", Victim: "gpu1", Attempt: 1, Now: g.now()})
	g.progress("j1-e00000", 1, 240)
	g.complete("j1-e00000", 1)
	g.progress("j1-e00001", 1, 10)
	g.do(scheduler.CmdLease, scheduler.Lease{Agent: "cpu1", Tasks: []string{"j1-e00001"}, Speculative: true, Now: g.now()})
	g.progress("j1-e00001", 2, 100)
	g.complete("j1-e00001", 2)
	g.complete("j1-e00001", 1) // the loser: already committed
	g.lease("cpu1", "j1-e00003")
	g.do(scheduler.CmdFail, scheduler.Fail{Task: "j1-e00003", Attempt: 1, Error: "decoder crashed", Now: g.now()})
	g.lease("gpu1", "j1-e00003")
	g.do(scheduler.CmdExpireAttempt, scheduler.ExpireAttempt{Task: "j1-e00003", Attempt: 2, Reason: "lease expired: agent gpu1 stopped heartbeating", Now: g.now()})
	g.do(scheduler.CmdPlayable, scheduler.Playable{Job: "j1", Now: g.now()})

	// The snapshot is taken here; the rest of the log follows it.
	snapIndex := uint64(len(g.entries))
	snap, err := g.f.Snapshot()
	if err != nil {
		log.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		log.Fatal(err)
	}

	g.do(scheduler.CmdPlayable, scheduler.Playable{Job: "j1", Now: g.now()}) // only the first counts
	g.lease("gpu1", "j1-e00003")
	g.progress("j1-e00003", 3, 240)
	g.complete("j1-e00003", 3)
	g.progress("j1-e00002", 2, 240)
	g.complete("j1-e00002", 2)
	g.progress("j1-audio", 1, 0)
	g.complete("j1-audio", 1)
	g.lease("cpu2", "j1-stitch")
	g.complete("j1-stitch", 1)

	// j2: a permanent failure fails the job at once.
	g.lease("gpu1", "j2-split")
	g.do(scheduler.CmdFail, scheduler.Fail{Task: "j2-split", Attempt: 1, Error: "invalid data found when processing input", Permanent: true, Now: g.now()})

	// j3: canceled, then canceled again (refused).
	g.do(scheduler.CmdCancelJob, scheduler.CancelJob{Job: "j3", Now: g.now()})
	g.do(scheduler.CmdCancelJob, scheduler.CancelJob{Job: "j3", Now: g.now()})

	// j4: split without preferences; agents drain, die, leave and return.
	n = g.attempt(g.lease("cpu2", "j4-split"))
	g.split("j4", n, 3, nil)
	g.lease("cpu1", "j4-e00000", "j4-e00001")
	g.lease("cpu2", "j4-e00002")
	g.progress("j4-e00000", 1, 50)
	g.do(scheduler.CmdAgentDown, scheduler.AgentDown{ID: "cpu2", State: scheduler.AgentDraining, Now: g.now()})
	g.lease("cpu2", "j4-audio") // a draining agent gets nothing
	g.do(scheduler.CmdAgentDown, scheduler.AgentDown{ID: "cpu1", State: scheduler.AgentDead, Now: g.now()})
	g.do(scheduler.CmdAgentDown, scheduler.AgentDown{ID: "cpu2", State: scheduler.AgentLeft, Now: g.now()})
	g.do(scheduler.CmdAgentDown, scheduler.AgentDown{ID: "nobody", State: scheduler.AgentDead, Now: g.now()})
	g.do(scheduler.CmdRegisterAgent, scheduler.RegisterAgent{Info: wire.AgentInfo{ID: "cpu1", Addr: "10.0.0.1:9001", Slots: 3, Cores: 8,
		Encoders: []string{"libx264"}, Version: "v2"}, Now: g.now()})
	g.lease("cpu1", "j4-e00000", "j4-audio")
	g.progress("j4-audio", 1, 0)
	g.do(scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j4", Submit: wire.SubmitJob{Source: "x"}, Now: g.now()}) // duplicate: refused

	v := views{Jobs: g.f.Jobs(), Details: map[string]wire.Job{}, Agents: g.f.Agents(), Counters: g.f.Counters(),
		Scores: g.f.AgentScores(), Active: g.f.ActiveAttempts(), Tasks: map[string]scheduler.TaskInfo{},
		Results: map[string]map[string]any{}}
	for _, j := range v.Jobs {
		d, _ := g.f.Job(j.ID)
		v.Details[j.ID] = d
		for _, t := range d.Tasks {
			info, _ := g.f.TaskInfo(t.ID)
			v.Tasks[t.ID] = info
		}
		split, encode, audio, _ := g.f.Results(j.ID)
		v.Results[j.ID] = map[string]any{"split": split, "encode": encode, "audio": audio}
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	var logBuf bytes.Buffer
	for _, e := range g.entries {
		b, err := json.Marshal(e)
		if err != nil {
			log.Fatal(err)
		}
		logBuf.Write(append(b, '\n'))
	}
	viewBytes, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	meta := fmt.Sprintf("{\n  \"snapshotIndex\": %d\n}\n", snapIndex)
	for name, b := range map[string][]byte{"log.jsonl": logBuf.Bytes(), "snapshot.json": sink.Bytes(),
		"views.json": append(viewBytes, '\n'), "meta.json": []byte(meta)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
