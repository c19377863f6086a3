package scheduler

import (
	"container/heap"
	"fmt"
	"io"
	"math/rand"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/media"
)

// The scheduler simulation drives the real FSM (every command encoded and
// applied as a log entry) and the real policy functions with simulated agents
// in virtual time: no sleeping, no wall clock, one seeded random source, so
// a configuration always gives the same schedule.
//
// Each agent runs one task at a time at its own speed and holds up to
// prefetch more leased but not started. When it has room it asks, like the
// leader's lease handler does, for work through FindWork's policy: pending
// tasks (a Lease), else — when enabled — an attempt to steal (a Steal), else
// a straggler to back up (a speculative Lease). An agent drops an
// attempt as soon as it is no longer active (the heartbeat's Abandon list,
// here without delay). Agents are polled after every event, starting at a
// rotating agent, and every simTick seconds, as progress reports wake the
// leader's long polls.

// simConfig describes one simulated farm and workload.
type simConfig struct {
	agents   int     // including the slow one
	chunks   int     // encode tasks over all jobs
	jobs     []int   // each job's share of the chunks, in parts
	slow     float64 // speed of the one slow agent
	prefetch int     // leased-not-started attempts an agent may hold
	k        float64 // speculation threshold (see speculateFor)
	seed     int64

	steal, speculate bool

	// hardware agents (the first ones) advertise h264_nvenc besides
	// libx264; every other job has a high ladder that prefers hardware,
	// and with hardware agents job 4 asks for h264_nvenc by name.
	hardware int
	// hardwareDies, when positive, is when every hardware agent dies, and
	// hardwareReturns when they register again.
	hardwareDies, hardwareReturns float64
}

// simResult is what a simulation measured, in virtual seconds.
type simResult struct {
	makespan   float64 // until the last encode task committed
	lowerBound float64 // max(total work / total speed, longest task on the fastest agent)
	counters   Counters
}

func (r simResult) ratio() float64 { return r.makespan / r.lowerBound }

// simTick is how often, in virtual seconds, idle agents ask again.
const simTick = 1.0

type simAgent struct {
	id      string
	speed   float64 // media work per second: 1 encodes one unit of work a second
	queue   []AttemptRef
	running *AttemptRef
	dead    bool
}

type simEvent struct {
	at    float64
	seq   int
	agent *simAgent   // nil for a tick
	ref   AttemptRef  // the attempt that finishes
	run   *AttemptRef // the agent's running pointer when it was started
	die   bool        // the hardware agents die
	back  bool        // the hardware agents return
}

type simEvents []simEvent

func (e simEvents) Len() int { return len(e) }
func (e simEvents) Less(i, j int) bool {
	if e[i].at != e[j].at {
		return e[i].at < e[j].at
	}
	return e[i].seq < e[j].seq
}
func (e simEvents) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *simEvents) Push(x any)   { *e = append(*e, x.(simEvent)) }
func (e *simEvents) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

type simulation struct {
	cfg    simConfig
	f      *FSM
	index  uint64
	now    float64
	seq    int
	events simEvents
	agents []*simAgent
	work   map[string]float64 // encode task → work units
	jobs   []string
	last   float64 // when the last encode committed
	result simResult
}

func (s *simulation) time() time.Time { return t0.Add(time.Duration(s.now * float64(time.Second))) }

// apply runs a command through Encode and Apply, like a committed log entry.
func (s *simulation) apply(ct CommandType, payload any) any {
	data, err := Encode(ct, payload)
	if err != nil {
		panic(err)
	}
	s.index++
	return s.f.Apply(s.index, data)
}

func (s *simulation) push(ev simEvent) {
	s.seq++
	ev.seq = s.seq
	heap.Push(&s.events, ev)
}

// runSimulation simulates cfg to the end of its last job.
func runSimulation(cfg simConfig) simResult {
	return simulate(cfg).result
}

// simulate runs cfg and returns the simulation, its state machine included.
func simulate(cfg simConfig) *simulation {
	r := rand.New(rand.NewSource(cfg.seed))
	s := &simulation{cfg: cfg, f: NewFSM(nil), work: map[string]float64{}}
	slowAt := cfg.agents / 3
	var totalSpeed, maxSpeed float64
	for i := range cfg.agents {
		a := &simAgent{id: fmt.Sprintf("a%02d", i), speed: 0.7 + 0.6*r.Float64()}
		if i == slowAt {
			a.speed = cfg.slow
		}
		totalSpeed += a.speed
		maxSpeed = max(maxSpeed, a.speed)
		s.agents = append(s.agents, a)
		encoders := []string{media.EncoderX264}
		if i < cfg.hardware {
			encoders = []string{media.EncoderNVENC, media.EncoderX264}
		}
		s.apply(CmdRegisterAgent, RegisterAgent{Info: AgentInfo{ID: a.id, Slots: 1, Encoders: encoders}, Now: s.time()})
	}

	// Jobs arrive at time zero already split (the split is not what is
	// measured): chunks of 2–10 media seconds whose content costs 0.7–1.3
	// work units a media second, in the jobs' shares.
	parts := 0
	for _, p := range cfg.jobs {
		parts += p
	}
	var totalWork, longest float64
	left := cfg.chunks
	for ji, p := range cfg.jobs {
		n := cfg.chunks * p / parts
		if ji == len(cfg.jobs)-1 {
			n = left
		}
		left -= n
		id := fmt.Sprintf("job%d", ji)
		s.jobs = append(s.jobs, id)
		requested := media.EncoderAuto
		if cfg.hardware > 0 && ji == 4 {
			requested = media.EncoderNVENC
		}
		s.apply(CmdSubmitJob, SubmitJob{ID: id, Source: "up/" + id, Encoder: requested, Now: s.time()})
		top := 720
		if ji%2 == 1 {
			top = 1080
		}
		var tasks []NewTask
		for c := range n {
			media := 2 + 8*r.Float64()
			w := media * (0.7 + 0.6*r.Float64())
			tid := fmt.Sprintf("%s-e%05d", id, c)
			tasks = append(tasks, NewTask{ID: tid, Kind: KindEncode, Index: c, MediaSeconds: media, Prefer: PreferredEncoders(top)})
			s.work[tid] = w
			totalWork += w
			longest = max(longest, w)
		}
		res := s.apply(CmdLease, Lease{Agent: s.agents[0].id, Tasks: []string{id + "-split"}, Now: s.time()}).(LeaseResult)
		s.apply(CmdComplete, Complete{Task: id + "-split", Attempt: res.Granted[0].Attempt, NewTasks: tasks, Rungs: []string{"720"}, Now: s.time()})
	}

	s.push(simEvent{at: 0})
	if cfg.hardwareDies > 0 {
		s.push(simEvent{at: cfg.hardwareDies, die: true})
	}
	if cfg.hardwareReturns > 0 {
		s.push(simEvent{at: cfg.hardwareReturns, back: true})
	}
	for s.events.Len() > 0 && !s.done() {
		ev := heap.Pop(&s.events).(simEvent)
		s.now = ev.at
		switch {
		case ev.die:
			for _, a := range s.agents[:cfg.hardware] {
				a.dead = true
				s.apply(CmdAgentDown, AgentDown{ID: a.id, State: AgentDead, Now: s.time()})
			}
		case ev.back:
			for _, a := range s.agents[:cfg.hardware] {
				a.dead, a.queue, a.running = false, nil, nil
				s.apply(CmdRegisterAgent, RegisterAgent{Info: AgentInfo{ID: a.id, Slots: 1,
					Encoders: []string{media.EncoderNVENC, media.EncoderX264}}, Now: s.time()})
			}
		case ev.agent == nil:
			s.push(simEvent{at: s.now + simTick})
		case ev.agent.dead:
			// A dead agent reports nothing.
		case ev.agent.running == ev.run:
			ev.agent.running = nil
			res := s.apply(CmdComplete, Complete{Task: ev.ref.Task, Attempt: ev.ref.Attempt, Now: s.time()})
			if _, lost := res.(error); !lost && s.work[ev.ref.Task] > 0 {
				s.last = s.now
			}
		}
		s.poll()
	}
	s.result = simResult{
		makespan:   s.last,
		lowerBound: max(totalWork/totalSpeed, longest/maxSpeed),
		counters:   s.f.Counters(),
	}
	return s
}

// done reports whether every job ended (they can only end done here).
func (s *simulation) done() bool {
	s.f.mu.RLock()
	defer s.f.mu.RUnlock()
	return len(s.f.s.Active) == 0
}

// poll lets every agent drop what it lost, start what it holds and ask for
// more, starting at a rotating agent so none is always first.
func (s *simulation) poll() {
	n := len(s.agents)
	for i := range n {
		a := s.agents[(s.seq+i)%n]
		if a.dead {
			continue
		}
		s.drop(a)
		s.startNext(a)
		s.ask(a)
		s.startNext(a)
	}
}

func (s *simulation) drop(a *simAgent) {
	if a.running != nil && !s.f.AttemptActive(a.running.Task, a.running.Attempt) {
		a.running = nil // its finish event no longer matches
	}
	kept := a.queue[:0]
	for _, ref := range a.queue {
		if s.f.AttemptActive(ref.Task, ref.Attempt) {
			kept = append(kept, ref)
		}
	}
	a.queue = kept
}

func (s *simulation) startNext(a *simAgent) {
	if a.running != nil || len(a.queue) == 0 {
		return
	}
	ref := a.queue[0]
	a.queue = a.queue[1:]
	s.apply(CmdProgress, Progress{Task: ref.Task, Attempt: ref.Attempt, FramesTotal: 1, Now: s.time()})
	a.running = &ref
	s.push(simEvent{at: s.now + s.work[ref.Task]/a.speed, agent: a, ref: ref, run: a.running})
}

func (s *simulation) ask(a *simAgent) {
	held := len(a.queue)
	if a.running != nil {
		held++
	}
	free := 1 + s.cfg.prefetch - held
	if free <= 0 {
		return
	}
	s.f.mu.RLock()
	ct, cmd, ok := findWork(s.f.s, a.id, free, s.time(), policy{steal: s.cfg.steal, speculate: s.cfg.speculate, k: s.cfg.k})
	s.f.mu.RUnlock()
	if !ok {
		return
	}
	// A refused command (an error) grants nothing.
	if lr, ok := s.apply(ct, cmd).(LeaseResult); ok {
		a.queue = append(a.queue, lr.Granted...)
	}
}

// simPolicies are the rows of the table: with and without stealing and
// speculation.
var simPolicies = []struct {
	name             string
	steal, speculate bool
}{
	{"leases only", false, false},
	{"+ stealing", true, false},
	{"+ speculation", false, true},
	{"stealing + speculation", true, true},
}

// simTable runs every policy on cfg and writes the table.
func simTable(w io.Writer, cfg simConfig) map[string]simResult {
	fmt.Fprintf(w, "scheduler simulation: %d agents (speeds 0.7–1.3, one at %.1f), %d chunks in %d jobs, prefetch %d, k=%.1f, seed %d\n",
		cfg.agents, cfg.slow, cfg.chunks, len(cfg.jobs), cfg.prefetch, cfg.k, cfg.seed)
	fmt.Fprintf(w, "%-24s %10s %12s %7s %7s %12s %5s\n", "policy", "makespan", "lower bound", "ratio", "steals", "speculative", "wins")
	out := map[string]simResult{}
	for _, p := range simPolicies {
		c := cfg
		c.steal, c.speculate = p.steal, p.speculate
		r := runSimulation(c)
		out[p.name] = r
		fmt.Fprintf(w, "%-24s %9.1fs %11.1fs %7.3f %7d %12d %5d\n", p.name, r.makespan, r.lowerBound, r.ratio(),
			r.counters.Steals, r.counters.SpeculativeAttempts, r.counters.SpeculativeWins)
	}
	return out
}

var benchSim = simConfig{agents: 64, chunks: 2000, jobs: []int{8, 5, 2, 1}, slow: 0.2, prefetch: 1, k: 1.5, seed: 1}

var printSimTable sync.Once

// BenchmarkSchedulerSimulation is the benchmark 2: 64 agents with
// heterogeneous speeds and one 5× slower, 2,000 chunks in four jobs; the
// makespan with stealing and speculation should be within 10% of the lower
// bound. It prints the table once and times the full-policy simulation.
func BenchmarkSchedulerSimulation(b *testing.B) {
	printSimTable.Do(func() { simTable(os.Stdout, benchSim) })
	cfg := benchSim
	cfg.steal, cfg.speculate = true, true
	var r simResult
	for b.Loop() {
		r = runSimulation(cfg)
	}
	b.ReportMetric(r.ratio(), "makespan/bound")
	b.ReportMetric(r.makespan, "makespan-s")
	b.ReportMetric(float64(r.counters.Steals), "steals")
	b.ReportMetric(float64(r.counters.SpeculativeAttempts), "backups")
}

func TestSchedulerSimulation(t *testing.T) {
	cfg := simConfig{agents: 8, chunks: 200, jobs: []int{3, 1}, slow: 0.2, prefetch: 1, k: 1.5, seed: 1}
	var out testWriter
	res := simTable(&out, cfg)
	t.Log("\n" + string(out))
	both, none := res["stealing + speculation"], res["leases only"]
	if got := both.ratio(); got > 1.10 {
		t.Errorf("stealing + speculation: makespan %.1fs is %.3f× the lower bound %.1fs, want ≤ 1.10", both.makespan, got, both.lowerBound)
	}
	if both.makespan >= none.makespan {
		t.Errorf("stealing + speculation: makespan %.1fs, want less than leases only (%.1fs)", both.makespan, none.makespan)
	}
	if c := both.counters; c.Steals == 0 || c.SpeculativeAttempts == 0 {
		t.Errorf("stealing + speculation: counters %+v, want steals and speculative attempts", c)
	}
	// Virtual time and a seeded source: the same configuration, the same run.
	cfg.steal, cfg.speculate = true, true
	if again := runSimulation(cfg); again != both {
		t.Errorf("a second run differs: %+v vs %+v", again, both)
	}
}

type testWriter []byte

func (w *testWriter) Write(p []byte) (int, error) {
	*w = append(*w, p...)
	return len(p), nil
}

// TestSimulationEncoderFamilies runs a farm where some agents have a
// hardware encoder: small high-ladder jobs prefer it, one job asks for
// h264_nvenc by name, and the big low-ladder jobs ask for "auto", which is
// libx264 on every agent. Every job's committed chunks come from one
// encoder family. When the hardware agents die midway, the jobs pinned to
// hardware fall back to software and still finish; when they come back,
// those jobs stay on software (without the pin they would switch back and
// mix again).
func TestSimulationEncoderFamilies(t *testing.T) {
	tests := []struct {
		name          string
		dies, returns float64
	}{
		{"hardware stays", 0, 0},
		{"hardware dies midway", 40, 0},
		{"hardware dies and returns", 40, 70},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := simConfig{agents: 8, hardware: 3, chunks: 240, jobs: []int{4, 1, 4, 1, 3, 1}, slow: 0.2, prefetch: 1,
				k: 1.5, seed: 3, steal: true, speculate: true, hardwareDies: tt.dies, hardwareReturns: tt.returns}
			s := simulate(cfg)
			used := map[Family]int{}
			fellBack := 0
			for _, id := range s.jobs {
				j, _ := s.f.Job(id)
				if j.State != JobDone {
					t.Fatalf("job %s: %s, want done", id, j.State)
				}
				// The committed chunks' families in the order they were leased.
				var winners []Attempt
				for _, task := range j.Tasks {
					if task.Kind == KindEncode {
						winners = append(winners, task.Attempts[task.Winner-1])
					}
				}
				slices.SortStableFunc(winners, func(x, y Attempt) int { return x.Started.Compare(y.Started) })
				var fams []Family
				for _, w := range winners {
					if w.Encoder == "" {
						t.Fatalf("job %s: a committed attempt has no resolved encoder", id)
					}
					f := FamilyOf(w.Encoder)
					used[f]++
					if len(fams) == 0 || fams[len(fams)-1] != f {
						fams = append(fams, f)
					}
				}
				switch {
				case len(fams) == 1:
				case tt.dies > 0 && slices.Equal(fams, []Family{FamilyHardware, FamilySoftware}):
					fellBack++ // hardware until the hardware died, software after
				default:
					t.Errorf("job %s: encoder families in lease order %v", id, fams)
				}
			}
			if used[FamilyHardware] == 0 || used[FamilySoftware] == 0 {
				t.Errorf("chunks by family %v: want both families used", used)
			}
			if tt.dies > 0 && fellBack == 0 {
				t.Errorf("no job fell back from hardware to software: the fallback was not exercised")
			}
			t.Logf("chunks by family %v, %d of %d jobs fell back", used, fellBack, len(s.jobs))
		})
	}
}
