package scheduler

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// chooser draws the random choices of a command sequence: *rand.Rand for the
// determinism test, the fuzzer's bytes for FuzzApply.
type chooser interface{ Intn(n int) int }

type byteChooser struct{ b []byte }

func (c *byteChooser) Intn(n int) int {
	if len(c.b) == 0 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

// randomCommand builds a command from the FSM's current state the way a
// leader would — mostly valid, some stale, duplicated or invalid — and
// returns its log entry. It reads only ordered views, so the same choices
// over the same state give the same entry.
func randomCommand(r chooser, f *FSM, now time.Time) []byte {
	agents := []string{"a0", "a1", "a2", "a3"}
	agent := agents[r.Intn(len(agents))]
	jobs := f.Jobs()
	pickJob := func() string {
		if len(jobs) == 0 || r.Intn(8) == 0 {
			return "nojob"
		}
		return jobs[r.Intn(len(jobs))].ID
	}
	// pickAttempt mostly picks an active attempt, otherwise any (task, n).
	pickAttempt := func() (string, int) {
		if aa := f.ActiveAttempts(); len(aa) > 0 && r.Intn(4) > 0 {
			a := aa[r.Intn(len(aa))]
			return a.Task, a.Attempt
		}
		j, ok := f.Job(pickJob())
		if !ok || len(j.Tasks) == 0 {
			return "notask", 1
		}
		t := j.Tasks[r.Intn(len(j.Tasks))]
		return t.ID, r.Intn(len(t.Attempts) + 2)
	}

	var ct CommandType
	var payload any
	switch r.Intn(17) {
	case 0:
		// Some agents have a hardware encoder that tasks may prefer, some
		// run AV1 tasks.
		encoders := [][]string{nil, {"libx264"}, {"libx264", "h264_nvenc"}, {"h264_qsv"}, {"libx264", "libsvtav1"}}[r.Intn(5)]
		ct, payload = CmdRegisterAgent, RegisterAgent{Info: AgentInfo{ID: agent, Slots: 1 + r.Intn(4), Encoders: encoders}, Now: now}
	case 1:
		if r.Intn(3) > 0 {
			ct, payload = CmdRegisterAgent, RegisterAgent{Info: AgentInfo{ID: agent, Slots: 2}, Now: now}
			break
		}
		states := []AgentState{AgentDead, AgentLeft, AgentDraining, "zombie"}
		ct, payload = CmdAgentDown, AgentDown{ID: agent, State: states[r.Intn(len(states))], Now: now}
	case 2:
		id := fmt.Sprintf("j%d", len(jobs)-r.Intn(2)) // sometimes a duplicate
		// Keys repeat across submissions, sometimes for another source.
		source := "up/" + []string{id, "other"}[r.Intn(2)]
		key := []string{"", "", "k" + id, fmt.Sprintf("k%d", r.Intn(4))}[r.Intn(4)]
		ct, payload = CmdSubmitJob, SubmitJob{ID: id, Source: source, Priority: r.Intn(3), SourceInput: source,
			Encoder: []string{"", "auto", "libx264", "h264_nvenc"}[r.Intn(4)], IdempotencyKey: key, Now: now}
	case 3, 4:
		// Mostly what FindWork proposes, encoders resolved; otherwise an
		// encoder the agent may not offer, or a task that is not pending.
		var lease Lease
		if ct, cmd, ok := findWork(f.s, agent, 1+r.Intn(3), now, policy{}); ok && ct == CmdLease {
			lease = cmd.(Lease)
		}
		lease.Agent, lease.Now = agent, now
		if r.Intn(4) == 0 {
			task, _ := pickAttempt()
			lease.Tasks = append(lease.Tasks, task)
			lease.Encoders = map[string]string{task: []string{"libx264", "h264_nvenc", "h264_qsv"}[r.Intn(3)]}
		}
		ct, payload = CmdLease, lease
	case 5:
		task, n := pickAttempt()
		ct, payload = CmdProgress, Progress{Task: task, Attempt: n, FramesDone: int64(r.Intn(100)), FramesTotal: 100, Now: now}
	case 6, 7:
		task, n := pickAttempt()
		c := Complete{Task: task, Attempt: n, Result: json.RawMessage(fmt.Sprintf(`{"by":%d}`, n)), Now: now}
		if info, ok := f.TaskInfo(task); ok && info.Kind == KindEncode && r.Intn(4) > 0 {
			c.Result = partResult(info) // a spread part's result must match its rungs
		}
		if info, ok := f.TaskInfo(task); ok && info.Kind == KindSplit {
			c.NewTasks = plan(info.Job, r.Intn(4))
			if r.Intn(3) == 0 { // AV1 rungs, in an AV1 job
				c.NewTasks = planAV1(info.Job, r.Intn(4))
			}
			c.Rungs = rungs
			if r.Intn(8) == 0 && len(c.NewTasks) > 1 {
				c.NewTasks[0].Index = 7 // invalid plan
			}
			if r.Intn(4) == 0 {
				c.NewTasks = c.NewTasks[:len(c.NewTasks)-1] // no audio
			}
			if r.Intn(3) == 0 {
				c.NewTasks = spreadPlan(c.NewTasks) // chunk 0 in one task per rung
			}
			if r.Intn(4) > 0 { // after a head, mostly the rest only
				c.NewTasks = slices.DeleteFunc(c.NewTasks, func(nt NewTask) bool { _, taken := f.TaskInfo(nt.ID); return taken })
			}
			if r.Intn(2) == 0 { // a high ladder: encodes prefer hardware
				for i := range c.NewTasks {
					if c.NewTasks[i].Kind == KindEncode {
						c.NewTasks[i].Prefer = []string{"h264_nvenc", "h264_qsv"}
					}
				}
			}
		}
		ct, payload = CmdComplete, c
	case 8:
		task, n := pickAttempt()
		ct, payload = CmdFail, Fail{Task: task, Attempt: n, Error: fmt.Sprintf("boom %d", r.Intn(3)), Permanent: r.Intn(10) == 0, Now: now}
	case 11:
		// Mostly what the policy proposes; otherwise any attempt, which is
		// usually refused (running, finished, wrong victim, self-theft).
		ref, victim, ok := stealFor(f.s, agent)
		if !ok || r.Intn(3) == 0 {
			ref.Task, ref.Attempt = pickAttempt()
			victim = agents[r.Intn(len(agents))]
			for _, a := range f.ActiveAttempts() {
				if a.Task == ref.Task && a.Attempt == ref.Attempt && r.Intn(4) > 0 {
					victim = a.Agent
				}
			}
		}
		enc := ""
		if t, a := f.s.Tasks[ref.Task], f.s.Agents[agent]; t != nil && a != nil {
			enc, _ = f.s.encoderFor(f.s.Jobs[t.Job], t, a)
		}
		ct, payload = CmdSteal, Steal{Thief: agent, Task: ref.Task, Victim: victim, Attempt: ref.Attempt, Encoder: enc, Now: now}
	case 12:
		task, ok := speculateFor(f.s, agent, now, []float64{0.5, 1.5}[r.Intn(2)])
		if !ok || r.Intn(3) == 0 {
			task, _ = pickAttempt()
		}
		ct, payload = CmdLease, Lease{Agent: agent, Tasks: []string{task}, Speculative: true, Now: now}
	case 13:
		if r.Intn(3) == 0 { // a split's head, mostly of an active split attempt
			task, n := pickAttempt()
			job := f.JobOfTask(task)
			ct, payload = CmdSplitHead, SplitHead{Task: task, Attempt: n, Agent: agent, Result: json.RawMessage(`{"head":1}`),
				NewTasks: plan(job, 2)[:1+r.Intn(2)], Rungs: rungs, Now: now}
			break
		}
		if r.Intn(2) == 0 {
			ct, payload = CmdPlayable, Playable{Job: pickJob(), Now: now}
			break
		}
		if r.Intn(4) == 0 { // AV1 added to a job afterwards
			ct, payload = CmdAddAV1Job, AddAV1Job{Job: pickJob(), SplitSpec: json.RawMessage(`{}`), Now: now}
			break
		}
		// An AV1 job ends done (refused while tasks are left), or failed.
		job := pickJob()
		if r.Intn(4) > 0 {
			job = AV1JobID(job)
		}
		ct, payload = CmdEndAV1Job, EndAV1Job{Job: job, Error: []string{"", "no AV1 agent"}[r.Intn(2)], Now: now}
	case 14:
		// Mostly a job awaiting collection, else any (unfinished, unknown).
		job := pickJob()
		if due := f.Uncollected(); len(due) > 0 && r.Intn(4) > 0 {
			job = due[r.Intn(len(due))]
		}
		ct, payload = CmdJobCollected, JobCollected{Job: job, Now: now}
	case 15:
		// What a leader compacts, plus any job (uncollected ones stay).
		jobs := f.Compactable(now.Add(-time.Duration(r.Intn(60))*time.Second), 1+r.Intn(3))
		ct, payload = CmdCompactJobs, CompactJobs{Jobs: append(jobs, pickJob()), Now: now}
	case 16:
		ct, payload = CmdForgetAgents, ForgetAgents{Agents: []string{agent}, Now: now}
	case 9:
		if r.Intn(3) == 0 {
			ct, payload = CmdCancelJob, CancelJob{Job: pickJob(), Now: now}
			break
		}
		fallthrough
	default:
		task, n := pickAttempt()
		ct, payload = CmdExpireAttempt, ExpireAttempt{Task: task, Attempt: n, Reason: "lease expired", Now: now}
	}
	data, err := Encode(ct, payload)
	if err != nil {
		panic(err)
	}
	return data
}

func applyData(f *FSM, index int, data []byte) string {
	return fmt.Sprint(f.Apply(uint64(index), data))
}

// TestDeterminism applies the same random command sequence to two FSMs and,
// from the middle on, to a third restored from a snapshot of the first: their
// results and final snapshots must be identical.
func TestDeterminism(t *testing.T) {
	const steps = 1500
	finished := map[JobState]int{}
	var counters Counters
	heads := 0 // split heads applied
	for seed := range int64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			a, b := NewFSM(nil), NewFSM(nil)
			var c *FSM
			for i := range steps {
				if i == steps/2 {
					c = restored(t, snapshotBytes(t, a))
				}
				data := randomCommand(r, a, t0.Add(time.Duration(i)*time.Second))
				ra, rb := applyData(a, i+1, data), applyData(b, i+1, data)
				if data[0] == byte(CmdSplitHead) && ra == "<nil>" {
					heads++
				}
				if ra != rb {
					t.Fatalf("step %d: results differ: %s vs %s", i, ra, rb)
				}
				if c != nil {
					if rc := applyData(c, i+1, data); rc != ra {
						t.Fatalf("step %d: restored FSM's result differs: %s vs %s", i, rc, ra)
					}
				}
				if err := a.s.check(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			sa, sb, sc := snapshotBytes(t, a), snapshotBytes(t, b), snapshotBytes(t, c)
			if string(sa) != string(sb) || string(sa) != string(sc) {
				t.Fatalf("snapshots differ:\n%s\n%s\n%s", sa, sb, sc)
			}
			for _, j := range a.Jobs() {
				finished[j.State]++
			}
			finished["compacted"] += int(a.s.Seq) - len(a.s.Jobs)
			ca := a.Counters()
			counters.Steals += ca.Steals
			counters.SpeculativeAttempts += ca.SpeculativeAttempts
			counters.SpeculativeWins += ca.SpeculativeWins
		})
	}
	// The generator must reach every ending, or the test proves little.
	for _, s := range []JobState{JobDone, JobFailed, JobCanceled, "compacted"} {
		if finished[s] == 0 {
			t.Errorf("no job ended %s: %v", s, finished)
		}
	}
	if heads == 0 {
		t.Errorf("the generator never applied a split's head")
	}
	if counters.Steals == 0 || counters.SpeculativeAttempts == 0 || counters.SpeculativeWins == 0 {
		t.Errorf("the generator never stole, speculated or won with a backup: %+v", counters)
	}
	t.Logf("job states: %v, counters %+v, %d heads", finished, counters, heads)
}

// FuzzApply feeds well-formed command sequences chosen by the fuzzer's bytes
// and checks the invariants after every command, then a snapshot round trip.
func FuzzApply(f *testing.F) {
	r := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 16, 300, 3000} {
		seed := make([]byte, n)
		r.Read(seed)
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteChooser{b: data}
		fsm := NewFSM(nil)
		for i := 0; len(r.b) > 0 && i < 1000; i++ {
			cmd := randomCommand(r, fsm, t0.Add(time.Duration(i)*time.Second))
			applyData(fsm, i+1, cmd)
			if err := fsm.s.check(); err != nil {
				t.Fatalf("command %d (%v): %v", i, CommandType(cmd[0]), err)
			}
		}
		snap := snapshotBytes(t, fsm)
		if again := snapshotBytes(t, restored(t, snap)); string(again) != string(snap) {
			t.Fatalf("snapshot round trip differs")
		}
	})
}
