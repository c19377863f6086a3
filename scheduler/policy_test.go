package scheduler

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// agentSlots registers agents that run slots attempts at once.
func (h *harness) agentSlots(slots int, ids ...string) {
	h.tb.Helper()
	for _, id := range ids {
		h.ok(RegisterAgent{Info: AgentInfo{ID: id, Slots: slots}, Now: h.now()})
	}
}

// splitVideo completes the job's split with chunks encode tasks of 8 media
// seconds and no audio task, so the encodes are all there is to lease.
func (h *harness) splitVideo(job, agent string, chunks int) {
	h.tb.Helper()
	n := h.lease1(agent, job+"-split")
	h.ok(Complete{Task: job + "-split", Attempt: n, NewTasks: plan(job, chunks)[:chunks], Rungs: rungs, Now: h.now()})
}

func enc(job string, i int) string { return job + "-encode-" + string(rune('0'+i)) }

// start reports an attempt's first progress: it leaves its agent's queue.
func (h *harness) start(task string, n int) {
	h.tb.Helper()
	h.ok(Progress{Task: task, Attempt: n, FramesDone: 1, FramesTotal: 100, Now: h.now()})
}

// hold leases tasks to agent and starts the first running of them.
func (h *harness) hold(agent string, running int, tasks ...string) {
	h.tb.Helper()
	for i, task := range tasks {
		n := h.lease1(agent, task)
		if i < running {
			h.start(task, n)
		}
	}
}

// unchanged applies a command that must fail with want and leave the state
// exactly as it was.
func (h *harness) unchanged(payload any, want error) {
	h.tb.Helper()
	before := snapshotBytes(h.tb, h.f)
	h.fails(payload, want)
	if after := snapshotBytes(h.tb, h.f); string(after) != string(before) {
		h.tb.Errorf("a refused %T changed the state", payload)
	}
}

func TestSteal(t *testing.T) {
	// a1 runs encode-0 with encode-1 queued behind it; encode-2 is pending.
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.agentSlots(1, "a1", "a2", "a3")
		h.submit("j1", 0)
		h.splitVideo("j1", "a3", 3)
		h.hold("a1", 1, enc("j1", 0), enc("j1", 1))
		return h
	}
	t.Run("queued attempt moves to the thief", func(t *testing.T) {
		h := setup(t)
		res := h.ok(Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a1", Attempt: 1, Now: h.now()})
		if got, want := res.(LeaseResult).Granted, []AttemptRef{{Task: enc("j1", 1), Attempt: 2}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("granted: got %v, want %v", got, want)
		}
		task := h.task(enc("j1", 1))
		old, mine := task.Attempts[0], task.Attempts[1]
		if old.State != StateCanceled || old.Error != "stolen by a2" || !old.Finished.Equal(h.clock) {
			t.Errorf("victim's attempt: got %+v", old)
		}
		if mine.Agent != "a2" || mine.State != StateLeased || !mine.Started.Equal(h.clock) || task.State != StateLeased {
			t.Errorf("thief's attempt: got %+v, task %s", mine, task.State)
		}
		if h.f.AttemptActive(enc("j1", 1), 1) || !h.f.AttemptActive(enc("j1", 1), 2) {
			t.Errorf("AttemptActive: the victim must abandon attempt 1, the thief keep attempt 2")
		}
		if got := h.f.Counters(); got != (Counters{Steals: 1}) {
			t.Errorf("counters: got %+v", got)
		}
		// The victim's late progress on the stolen attempt is refused.
		h.fails(Progress{Task: enc("j1", 1), Attempt: 1, FramesDone: 1, Now: h.now()}, ErrStaleAttempt)
	})

	tests := []struct {
		name  string
		setup func(h *harness)
		cmd   Steal
		want  error
	}{
		{"running attempt", nil, Steal{Thief: "a2", Task: enc("j1", 0), Victim: "a1", Attempt: 1}, ErrStaleAttempt},
		{"wrong victim", nil, Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a3", Attempt: 1}, ErrStaleAttempt},
		{"finished attempt", nil, Steal{Thief: "a2", Task: "j1-split", Victim: "a3", Attempt: 1}, ErrStaleAttempt},
		{"already stolen", func(h *harness) {
			h.ok(Steal{Thief: "a3", Task: enc("j1", 1), Victim: "a1", Attempt: 1, Now: h.now()})
		}, Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a1", Attempt: 1}, ErrStaleAttempt},
		{"started since", func(h *harness) { h.start(enc("j1", 1), 1) },
			Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a1", Attempt: 1}, ErrStaleAttempt},
		{"canceled job", func(h *harness) { h.ok(CancelJob{Job: "j1", Now: h.now()}) },
			Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a1", Attempt: 1}, ErrStaleAttempt},
		{"unknown task", nil, Steal{Thief: "a2", Task: "nope", Victim: "a1", Attempt: 1}, ErrNotFound},
		{"unknown attempt", nil, Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a1", Attempt: 2}, ErrNotFound},
		{"unknown thief", nil, Steal{Thief: "ghost", Task: enc("j1", 1), Victim: "a1", Attempt: 1}, ErrNotFound},
		{"draining thief", func(h *harness) { h.ok(AgentDown{ID: "a2", State: AgentDraining, Now: h.now()}) },
			Steal{Thief: "a2", Task: enc("j1", 1), Victim: "a1", Attempt: 1}, ErrInvalidInput},
		{"from itself", nil, Steal{Thief: "a1", Task: enc("j1", 1), Victim: "a1", Attempt: 1}, ErrInvalidInput},
		{"thief already holds the task", func(h *harness) {
			// a2 has a speculative backup of encode-0 queued; a1 runs the original.
			h.lease("a2", enc("j1", 2))
			h.ok(Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}, Speculative: true, Now: h.now()})
		}, Steal{Thief: "a1", Task: enc("j1", 0), Victim: "a2", Attempt: 2}, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			tt.cmd.Now = h.now()
			h.unchanged(tt.cmd, tt.want)
		})
	}

	t.Run("a stolen backup is still a backup", func(t *testing.T) {
		h := setup(t)
		h.lease("a2", enc("j1", 2))
		h.ok(Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}, Speculative: true, Now: h.now()})
		h.ok(Steal{Thief: "a3", Task: enc("j1", 0), Victim: "a2", Attempt: 2, Now: h.now()})
		h.start(enc("j1", 0), 3)
		h.complete(enc("j1", 0), 3)
		if got, want := h.f.Counters(), (Counters{Steals: 1, SpeculativeAttempts: 1, SpeculativeWins: 1}); got != want {
			t.Errorf("counters: got %+v, want %+v", got, want)
		}
	})
}

func TestStealFor(t *testing.T) {
	// Four one-slot agents and a job of chunks encodes; each case leases them.
	tests := []struct {
		name   string
		chunks int
		setup  func(h *harness)
		thief  string
		want   AttemptRef
		victim string
	}{
		{"most loaded agent's last queued attempt", 5, func(h *harness) {
			h.hold("a2", 1, enc("j1", 3), enc("j1", 4))
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1), enc("j1", 2))
		}, "a3", AttemptRef{Task: enc("j1", 2), Attempt: 1}, "a1"},
		{"last by lease order, not by index", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 2), enc("j1", 1))
		}, "a3", AttemptRef{Task: enc("j1", 1), Attempt: 1}, "a1"},
		{"ties go to the first agent by ID", 4, func(h *harness) {
			h.hold("a2", 1, enc("j1", 0), enc("j1", 1))
			h.hold("a1", 1, enc("j1", 2), enc("j1", 3))
		}, "a3", AttemptRef{Task: enc("j1", 3), Attempt: 1}, "a1"},
		{"pending work comes first", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1))
		}, "a3", AttemptRef{}, ""},
		{"never a running attempt", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0))
			h.hold("a2", 1, enc("j1", 1))
			h.hold("a4", 1, enc("j1", 2))
		}, "a3", AttemptRef{}, ""},
		{"a queued attempt not waiting behind another stays", 2, func(h *harness) {
			h.hold("a1", 0, enc("j1", 0))
			h.hold("a2", 1, enc("j1", 1))
		}, "a3", AttemptRef{}, ""},
		{"never from a draining agent", 5, func(h *harness) {
			h.hold("a2", 1, enc("j1", 3), enc("j1", 4))
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1), enc("j1", 2))
			h.ok(AgentDown{ID: "a1", State: AgentDraining, Now: h.now()})
		}, "a3", AttemptRef{Task: enc("j1", 4), Attempt: 1}, "a2"},
		{"not a task the thief failed", 3, func(h *harness) {
			h.ok(Fail{Task: enc("j1", 2), Attempt: h.lease1("a3", enc("j1", 2)), Error: "x", Now: h.now()})
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1), enc("j1", 2))
		}, "a3", AttemptRef{Task: enc("j1", 1), Attempt: 1}, "a1"},
		{"a busy thief steals nothing", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1))
			h.hold("a3", 1, enc("j1", 2))
		}, "a3", AttemptRef{}, ""},
		{"a thief with a queued attempt steals nothing", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1))
			h.hold("a3", 0, enc("j1", 2))
		}, "a3", AttemptRef{}, ""},
		{"a slow thief steals nothing", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1), enc("j1", 2))
			for id, score := range map[string]time.Duration{"a1": time.Second, "a2": time.Second, "a3": 5 * time.Second} {
				h.f.s.Agents[id].Score, h.f.s.Agents[id].Samples = score, 1
			}
		}, "a3", AttemptRef{}, ""},
		{"a draining thief steals nothing", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1), enc("j1", 2))
			h.ok(AgentDown{ID: "a3", State: AgentDraining, Now: h.now()})
		}, "a3", AttemptRef{}, ""},
		{"unknown thief", 3, func(h *harness) {
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1), enc("j1", 2))
		}, "ghost", AttemptRef{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agentSlots(1, "a1", "a2", "a3", "a4")
			h.submit("j1", 0)
			h.splitVideo("j1", "a4", tt.chunks)
			tt.setup(h)
			ref, victim, ok := stealFor(h.f.s, tt.thief)
			if ref != tt.want || victim != tt.victim || ok != (tt.victim != "") {
				t.Fatalf("stealFor(%s): got %v from %q (%v), want %v from %q", tt.thief, ref, victim, ok, tt.want, tt.victim)
			}
			if ok { // what the policy proposes, the command accepts
				h.ok(Steal{Thief: tt.thief, Task: ref.Task, Victim: victim, Attempt: ref.Attempt, Now: h.now()})
			}
		})
	}
}

func TestSpeculativeLease(t *testing.T) {
	// a1 runs encode-0 and has encode-1 queued; encode-2 is pending.
	tests := []struct {
		name  string
		setup func(h *harness)
		lease Lease
		want  []AttemptRef
	}{
		{"running task gets a backup", nil, Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}, Speculative: true},
			[]AttemptRef{{Task: enc("j1", 0), Attempt: 2}}},
		{"queued task is for stealing, not speculation", nil, Lease{Agent: "a2", Tasks: []string{enc("j1", 1)}, Speculative: true}, nil},
		{"pending task", nil, Lease{Agent: "a2", Tasks: []string{enc("j1", 2)}, Speculative: true}, nil},
		{"the agent's own task", nil, Lease{Agent: "a1", Tasks: []string{enc("j1", 0)}, Speculative: true}, nil},
		{"at most two active attempts", func(h *harness) {
			h.ok(Lease{Agent: "a3", Tasks: []string{enc("j1", 0)}, Speculative: true, Now: h.now()})
		}, Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}, Speculative: true}, nil},
		{"finished task", nil, Lease{Agent: "a2", Tasks: []string{"j1-split"}, Speculative: true}, nil},
		{"ordinary lease of a running task", nil, Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}}, nil},
		{"draining agent", func(h *harness) { h.ok(AgentDown{ID: "a2", State: AgentDraining, Now: h.now()}) },
			Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}, Speculative: true}, nil},
		{"canceled job", func(h *harness) { h.ok(CancelJob{Job: "j1", Now: h.now()}) },
			Lease{Agent: "a2", Tasks: []string{enc("j1", 0)}, Speculative: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agentSlots(1, "a1", "a2", "a3")
			h.submit("j1", 0)
			h.splitVideo("j1", "a3", 3)
			h.hold("a1", 1, enc("j1", 0), enc("j1", 1))
			if tt.setup != nil {
				tt.setup(h)
			}
			before := h.f.Counters()
			tt.lease.Now = h.now()
			got := h.ok(tt.lease).(LeaseResult).Granted
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("granted: got %v, want %v", got, tt.want)
			}
			if c := h.f.Counters(); c.SpeculativeAttempts != before.SpeculativeAttempts+uint64(len(got)) {
				t.Errorf("speculative attempts: got %d, want %d", c.SpeculativeAttempts, before.SpeculativeAttempts+uint64(len(got)))
			}
			for _, ref := range got {
				at := h.f.s.Tasks[ref.Task].Attempts[ref.Attempt-1]
				if !at.Speculative || at.Agent != tt.lease.Agent || at.State != StateLeased {
					t.Errorf("backup attempt: got %+v", at)
				}
				if task := h.task(ref.Task); task.State != StateRunning || task.Attempts[0].State != StateRunning {
					t.Errorf("the original must keep running: %+v", task)
				}
			}
		})
	}

	t.Run("an ordinary lease encodes as before", func(t *testing.T) {
		b := mustEncode(t, CmdLease, Lease{Agent: "a1", Tasks: []string{"t"}, Now: t0})
		if strings.Contains(string(b), "speculative") {
			t.Errorf("ordinary lease: got %s, want no speculative field", b[1:])
		}
	})
}

func TestSpeculativeRace(t *testing.T) {
	tests := []struct {
		name      string
		first     int // attempt that completes first: 1 the original, 2 the backup
		wantWins  uint64
		wantLoser int
	}{
		{"backup wins", 2, 1, 1},
		{"original wins", 1, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agentSlots(1, "a1", "a2")
			h.submit("j1", 0)
			h.splitVideo("j1", "a2", 1)
			task := enc("j1", 0)
			h.hold("a1", 1, task)
			h.ok(Lease{Agent: "a2", Tasks: []string{task}, Speculative: true, Now: h.now()})
			h.start(task, 2)
			h.complete(task, tt.first)
			got := h.task(task)
			if got.Winner != tt.first || got.Attempts[tt.wantLoser-1].State != StateCanceled {
				t.Fatalf("after the race: got %+v", got)
			}
			h.fails(Complete{Task: task, Attempt: tt.wantLoser, Now: h.now()}, ErrAlreadyCommitted)
			want := Counters{SpeculativeAttempts: 1, SpeculativeWins: tt.wantWins}
			if c := h.f.Counters(); c != want {
				t.Errorf("counters: got %+v, want %+v", c, want)
			}
			if c := restored(t, snapshotBytes(t, h.f)).Counters(); c != want {
				t.Errorf("counters after restore: got %+v, want %+v", c, want)
			}
			if h.job("j1").State != JobStitching {
				t.Errorf("job: got %s, want stitching", h.job("j1").State)
			}
		})
	}
}

func TestSpeculateFor(t *testing.T) {
	// Timeline of job j1 (8 media seconds a chunk, one-slot agents):
	// encode-0..2 ran 8 s each on a1..a3 (median 1 s per media second);
	// encode-3 runs on a4 from 10 s, encode-4 on a1 from 10 s, encode-5 on
	// a2 from 9 s (a6 failed it first); encode-6 is queued on a3. a5 and a6
	// are idle. With unfinished, encode-2 is still running on a3 and a6 runs
	// encode-6.
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	setup := func(t *testing.T, slots int, finished bool) *harness {
		h := newHarness(t)
		h.agentSlots(slots, "a1", "a2", "a3", "a4", "a5", "a6")
		h.submit("j1", 0)
		h.splitVideo("j1", "a1", 7)
		h.ok(Fail{Task: enc("j1", 5), Attempt: h.lease1("a6", enc("j1", 5)), Error: "x", Now: h.now()})
		for i, a := range []string{"a1", "a2", "a3"} {
			n := h.lease1(a, enc("j1", i))
			h.ok(Progress{Task: enc("j1", i), Attempt: n, FramesTotal: 100, Now: at(0)})
			if finished || i < 2 {
				h.ok(Complete{Task: enc("j1", i), Attempt: n, Now: at(8)})
			}
		}
		run := func(agent string, i int, from float64) {
			n := h.lease1(agent, enc("j1", i))
			h.ok(Progress{Task: enc("j1", i), Attempt: n, FramesTotal: 100, Now: at(from)})
		}
		run("a4", 3, 10)
		run("a1", 4, 10)
		run("a2", 5, 9)
		if finished {
			h.lease1("a3", enc("j1", 6))
		} else {
			run("a6", 6, 10) // a3 still runs encode-2
		}
		return h
	}
	tests := []struct {
		name       string
		slots      int
		unfinished bool // encode-2 still runs: two finished tasks only
		setup      func(h *harness)
		agent      string
		now        float64
		k          float64
		want       string
	}{
		{"below the threshold", 1, false, nil, "a5", 21, 1.5, ""},
		{"the straggler furthest behind", 1, false, nil, "a5", 23, 1.5, enc("j1", 5)},
		{"not a task the agent failed", 1, false, nil, "a6", 23, 1.5, enc("j1", 3)},
		{"a larger k waits longer", 1, false, nil, "a5", 23, 3, ""},
		{"a busy agent runs no backup", 1, false, nil, "a4", 23, 1.5, ""},
		{"an agent with a queued attempt runs no backup", 1, false, nil, "a3", 23, 1.5, ""},
		{"not the agent's own task", 2, false, nil, "a2", 23, 1.5, enc("j1", 3)},
		{"one backup a task", 1, false, func(h *harness) {
			// a6 runs a backup of encode-5 (the command leaves policy to the policy).
			h.ok(Lease{Agent: "a6", Tasks: []string{enc("j1", 5)}, Speculative: true, Now: h.now()})
			h.start(enc("j1", 5), 3)
		}, "a5", 23, 1.5, enc("j1", 3)},
		{"pending work comes first", 1, false, func(h *harness) { h.submit("j2", 0) }, "a5", 23, 1.5, ""},
		{"stealing comes first", 1, false, func(h *harness) {
			h.ok(Fail{Task: enc("j1", 6), Attempt: 1, Error: "x", Now: h.now()})
			h.lease1("a4", enc("j1", 6)) // queued behind encode-3
		}, "a5", 23, 1.5, ""},
		{"fewer than three finished", 1, true, nil, "a5", 23, 1.5, ""},
		{"three finished", 1, true, func(h *harness) { h.ok(Complete{Task: enc("j1", 2), Attempt: 1, Now: at(8)}) },
			"a5", 23, 1.5, enc("j1", 5)},
		{"a slow agent runs no backup", 1, false, func(h *harness) {
			h.f.s.Agents["a5"].Score, h.f.s.Agents["a5"].Samples = 5*time.Second, 1
		}, "a5", 23, 1.5, ""},
		{"a draining agent runs no backup", 1, false, func(h *harness) {
			h.ok(AgentDown{ID: "a5", State: AgentDraining, Now: h.now()})
		}, "a5", 23, 1.5, ""},
		{"unknown agent", 1, false, nil, "ghost", 23, 1.5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.slots, !tt.unfinished)
			if tt.setup != nil {
				tt.setup(h)
			}
			got, ok := speculateFor(h.f.s, tt.agent, at(tt.now), tt.k)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("speculateFor(%s, %vs, k=%v): got %q, %v; want %q", tt.agent, tt.now, tt.k, got, ok, tt.want)
			}
			if ok { // what the policy proposes, the command grants
				res := h.ok(Lease{Agent: tt.agent, Tasks: []string{got}, Speculative: true, Now: at(tt.now)})
				if g := res.(LeaseResult).Granted; len(g) != 1 {
					t.Errorf("speculative lease of %s: granted %v", got, g)
				}
			}
		})
	}
}

func TestAgentScores(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	h := newHarness(t)
	h.agentSlots(1, "a1", "a2", "a3", "a4")
	h.submit("j1", 0)
	h.splitVideo("j1", "a1", 9)
	if got := h.f.AgentScores(); len(got) != 0 {
		t.Errorf("a split is not an encode: got scores %v", got)
	}
	// ranFor leases chunk i to agent at from, reports progress at from+queued
	// (when progress is false, never) and completes it took seconds later.
	ranFor := func(agent string, i, from, queued, took int, progress bool) {
		t.Helper()
		g := h.ok(Lease{Agent: agent, Tasks: []string{enc("j1", i)}, Now: at(from)}).(LeaseResult).Granted
		if progress {
			h.ok(Progress{Task: enc("j1", i), Attempt: g[0].Attempt, FramesTotal: 1, Now: at(from + queued)})
		}
		h.ok(Complete{Task: enc("j1", i), Attempt: g[0].Attempt, Now: at(from + queued + took)})
	}
	ranFor("a1", 0, 0, 5, 8, true)   // queued 5 s, encoded 8 s: 1 s per media second
	ranFor("a1", 1, 20, 0, 16, true) // 2 s: 1 s + 0.3 × (2 s − 1 s)
	ranFor("a2", 2, 0, 0, 8, false)  // no progress: timed from the lease
	ranFor("a3", 3, 0, 0, 8, true)
	ranFor("a4", 4, 0, 0, 40, true) // 5× slower
	want := map[string]time.Duration{"a1": 1300 * time.Millisecond, "a2": time.Second, "a3": time.Second, "a4": 5 * time.Second}
	if got := h.f.AgentScores(); !reflect.DeepEqual(got, want) {
		t.Errorf("scores: got %v, want %v", got, want)
	}

	t.Run("a slow agent gets one task a lease", func(t *testing.T) {
		if got := nextTasks(h.f.s, "a4", 3); len(got) != 1 {
			t.Errorf("slow a4: got %v, want one task", got)
		}
		if got := nextTasks(h.f.s, "a3", 3); len(got) != 3 {
			t.Errorf("a3: got %v, want three tasks", got)
		}
	})

	t.Run("a race's loser is scored by the time it already took", func(t *testing.T) {
		// a3 runs chunk 5 from 100 s; a1's backup from 120 s wins at 128 s:
		// a3 took at least 28 s for 8 media seconds (3.5 s each).
		g := h.ok(Lease{Agent: "a3", Tasks: []string{enc("j1", 5)}, Now: at(100)}).(LeaseResult).Granted
		h.ok(Progress{Task: enc("j1", 5), Attempt: g[0].Attempt, Now: at(100)})
		h.ok(Lease{Agent: "a1", Tasks: []string{enc("j1", 5)}, Speculative: true, Now: at(120)})
		h.ok(Progress{Task: enc("j1", 5), Attempt: 2, Now: at(120)})
		h.ok(Complete{Task: enc("j1", 5), Attempt: 2, Now: at(128)})
		got := h.f.AgentScores()
		if want := time.Second + 750*time.Millisecond; got["a3"] != want { // 1 s + 0.3 × 2.5 s
			t.Errorf("loser a3: got %v, want %v", got["a3"], want)
		}
		if want := 1300*time.Millisecond - 90*time.Millisecond; got["a1"] != want { // 1.3 s + 0.3 × (1 s − 1.3 s)
			t.Errorf("winner a1: got %v, want %v", got["a1"], want)
		}
		// A backup that loses early proves nothing about its agent.
		g = h.ok(Lease{Agent: "a2", Tasks: []string{enc("j1", 6)}, Now: at(200)}).(LeaseResult).Granted
		h.ok(Progress{Task: enc("j1", 6), Attempt: g[0].Attempt, Now: at(200)})
		h.ok(Lease{Agent: "a3", Tasks: []string{enc("j1", 6)}, Speculative: true, Now: at(205)})
		h.ok(Progress{Task: enc("j1", 6), Attempt: 2, Now: at(205)})
		h.ok(Complete{Task: enc("j1", 6), Attempt: 1, Now: at(208)})
		if again := h.f.AgentScores()["a3"]; again != got["a3"] {
			t.Errorf("early loser a3: got %v, want %v unchanged", again, got["a3"])
		}
	})

	t.Run("scores survive a snapshot", func(t *testing.T) {
		if got, want := restored(t, snapshotBytes(t, h.f)).AgentScores(), h.f.AgentScores(); !reflect.DeepEqual(got, want) {
			t.Errorf("after restore: got %v, want %v", got, want)
		}
	})
}

func TestNextTasksFairness(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		n     int
		want  []string
	}{
		{"a short job submitted during a long one goes first", func(h *harness) {
			h.submit("long", 0)
			h.splitVideo("long", "a1", 8)
			h.hold("a1", 1, enc("long", 0), enc("long", 1))
			h.hold("a2", 1, enc("long", 2), enc("long", 3))
			h.submit("short", 0)
		}, 3, []string{"short-split", enc("long", 4), enc("long", 5)}},
		{"its chunks until it has as many active attempts", func(h *harness) {
			h.submit("long", 0)
			h.splitVideo("long", "a1", 8)
			h.hold("a1", 1, enc("long", 0), enc("long", 1))
			h.submit("short", 0)
			h.splitVideo("short", "a2", 3)
		}, 5, []string{enc("short", 0), enc("short", 1), enc("long", 2), enc("short", 2), enc("long", 3)}},
		{"equal jobs alternate, the older first", func(h *harness) {
			h.submit("a", 0)
			h.submit("b", 0)
			h.splitVideo("b", "a1", 2)
			h.splitVideo("a", "a1", 2)
		}, 4, []string{enc("a", 0), enc("b", 0), enc("a", 1), enc("b", 1)}},
		{"priority before fairness", func(h *harness) {
			h.submit("low", 0)
			h.submit("high", 1)
			h.splitVideo("high", "a1", 3)
			h.hold("a2", 1, enc("high", 0))
		}, 3, []string{enc("high", 1), enc("high", 2), "low-split"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agentSlots(1, "a1", "a2", "a3")
			tt.setup(h)
			if got := nextTasks(h.f.s, "a3", tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlayable(t *testing.T) {
	var changed []string
	h := newHarness(t)
	h.f = NewFSM(func(id string) { changed = append(changed, id) })
	h.agent("a1")
	h.submit("j1", 0)
	if h.job("j1").PlayableAt != nil {
		t.Fatalf("a new job is playable")
	}

	changed = nil
	first := h.now()
	h.ok(Playable{Job: "j1", Now: first})
	j := h.job("j1")
	if j.PlayableAt == nil || !j.PlayableAt.Equal(first) || !j.Updated.Equal(first) {
		t.Fatalf("after Playable: playableAt %v, updated %v; want %v", j.PlayableAt, j.Updated, first)
	}
	if !slices.Equal(changed, []string{"j1"}) {
		t.Errorf("onChange: got %v, want [j1]", changed)
	}
	*j.PlayableAt = t0 // views are copies
	if again := h.job("j1").PlayableAt; !again.Equal(first) {
		t.Errorf("the view shares PlayableAt with the state")
	}

	tests := []struct {
		name string
		cmd  Playable
		want error
	}{
		{"again, later", Playable{Job: "j1", Now: first.Add(time.Hour)}, nil},
		{"unknown job", Playable{Job: "nope", Now: first}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshotBytes(t, h.f)
			if res := h.do(tt.cmd); !errors.Is(asError(res), tt.want) {
				t.Fatalf("got %v, want %v", res, tt.want)
			}
			if after := snapshotBytes(t, h.f); string(after) != string(before) {
				t.Errorf("the state changed")
			}
		})
	}
	if got := restored(t, snapshotBytes(t, h.f)); !reflect.DeepEqual(must(got.Job("j1")), h.job("j1")) {
		t.Errorf("PlayableAt lost in a snapshot")
	}
	if j := must(h.f.Jobs()[0], true); j.PlayableAt == nil {
		t.Errorf("Jobs: no PlayableAt")
	}
}

func asError(res any) error {
	err, _ := res.(error)
	return err
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("not found")
	}
	return v
}
