package scheduler

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"testing"
	"text/tabwriter"
	"time"
)

// retentionSim runs jobs start to finish through real log entries on
// simulated agents, and plays the leader's retention (collect, record,
// compact after the retention, forget gone agents) unless retain is false,
// which is the farm before retention existed. Every simulated second one
// job is submitted and every job in flight moves one stage on, so a few
// jobs are always queued, splitting, encoding or stitching.
type retentionSim struct {
	f       *FSM
	index   uint64
	now     time.Time
	retain  bool
	keep    time.Duration // job and agent retention
	agents  []string
	churned int
	jobs    int
	flight  []*simJob
}

// simJob is a job in flight and the stage it reached.
type simJob struct {
	id, agent string
	stage     int
}

func newRetentionSim(retain bool, keep time.Duration) *retentionSim {
	s := &retentionSim{f: NewFSM(nil), now: t0, retain: retain, keep: keep}
	for range 8 {
		s.addAgent()
	}
	return s
}

func (s *retentionSim) apply(payload any) any {
	ct, _ := commandType(payload)
	b, err := Encode(ct, payload)
	if err != nil {
		panic(err)
	}
	s.index++
	res := s.f.Apply(s.index, b)
	if err, ok := res.(error); ok {
		panic(fmt.Sprintf("%v: %v", ct, err))
	}
	return res
}

func (s *retentionSim) addAgent() {
	id := fmt.Sprintf("agent-%d", len(s.agents)+s.churned)
	s.agents = append(s.agents, id)
	s.apply(RegisterAgent{Info: AgentInfo{ID: id, Slots: 4, Encoders: []string{"libx264"}}, Now: s.now})
}

// step is one simulated second: a job is submitted with an idempotency
// key, and every job in flight moves on a stage: split leased, split done
// (two chunks and audio) and encodes leased, encodes done and stitch
// leased, stitch done.
func (s *retentionSim) step() {
	s.now = s.now.Add(time.Second)
	s.jobs++
	id := fmt.Sprintf("job-%d", s.jobs)
	s.apply(SubmitJob{ID: id, Source: "uploads/" + id, Output: "videos/" + id + "/hls", SourceInput: "uploads/" + id,
		IdempotencyKey: "video-" + id, Now: s.now})
	s.flight = append(s.flight, &simJob{id: id, agent: s.agents[s.jobs%len(s.agents)]})
	for _, j := range s.flight {
		j.stage++
		switch j.stage {
		case 1:
			s.lease(j, j.id+"-split")
		case 2:
			s.complete(j, j.id+"-split")
			s.lease(j, j.id+"-encode-0", j.id+"-encode-1", j.id+"-audio")
		case 3:
			s.complete(j, j.id+"-encode-0", j.id+"-encode-1", j.id+"-audio")
			s.lease(j, j.id+"-stitch")
		case 4:
			s.complete(j, j.id+"-stitch")
		}
	}
	s.flight = slices.DeleteFunc(s.flight, func(j *simJob) bool { return j.stage == 4 })
	// Every thousand jobs an idle agent dies and another joins.
	if s.jobs%1000 == 0 {
		i := slices.IndexFunc(s.agents, func(a string) bool {
			return !slices.ContainsFunc(s.flight, func(j *simJob) bool { return j.agent == a })
		})
		s.apply(AgentDown{ID: s.agents[i], State: AgentDead, Now: s.now})
		s.agents, s.churned = slices.Delete(s.agents, i, i+1), s.churned+1
		s.addAgent()
	}
	if s.retain {
		s.retention()
	}
}

func (s *retentionSim) lease(j *simJob, tasks ...string) {
	if got := s.apply(Lease{Agent: j.agent, Tasks: tasks, Now: s.now}).(LeaseResult).Granted; len(got) != len(tasks) {
		panic(fmt.Sprintf("lease %v to %s: granted %v", tasks, j.agent, got))
	}
}

// complete commits attempt 1 of each task.
func (s *retentionSim) complete(j *simJob, tasks ...string) {
	for _, task := range tasks {
		c := Complete{Task: task, Attempt: 1, Result: result(task), Now: s.now,
			Outputs: []Object{{Name: task + ".ts", Size: 1 << 20, SHA256: "00"}}}
		if task == j.id+"-split" {
			c.NewTasks, c.Rungs = plan(j.id, 2), rungs
		}
		s.apply(c)
	}
}

// retention is one tick of the leader's retention work (cluster/retention.go)
// with storage that always succeeds.
func (s *retentionSim) retention() {
	for _, id := range s.f.Uncollected() {
		s.apply(JobCollected{Job: id, Now: s.now})
	}
	if ids := s.f.Compactable(s.now.Add(-s.keep), 256); len(ids) > 0 {
		s.apply(CompactJobs{Jobs: ids, Now: s.now})
	}
	if ids := s.f.GoneAgents(s.now.Add(-s.keep)); len(ids) > 0 {
		s.apply(ForgetAgents{Agents: ids, Now: s.now})
	}
}

// leaderTick is what the leader reads from the state on a tick: its lease
// timers' active attempts, the retention work, and the encoding jobs the
// publishing loop looks at. Before retention existed the leader walked
// every job ever run (Jobs) on every tick instead.
func (s *retentionSim) leaderTick() int {
	n := len(s.f.ActiveAttempts())
	if !s.retain {
		return n + len(s.f.Jobs())
	}
	n += len(s.f.Uncollected()) + len(s.f.Compactable(s.now.Add(-s.keep), 256)) + len(s.f.GoneAgents(s.now.Add(-s.keep)))
	return n + len(s.f.ListJobs(JobQuery{States: []JobState{JobEncoding}, Limit: math.MaxInt}).Jobs)
}

// tickTime is the median time of a leader tick's reads.
func (s *retentionSim) tickTime(reps int) time.Duration {
	var ds []time.Duration
	for range reps {
		start := time.Now()
		s.leaderTick()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

type retentionPoint struct {
	jobs, held, agents int
	tick               time.Duration
	snapshot           int
}

func (s *retentionSim) measure(reps int) retentionPoint {
	snap, err := s.f.Snapshot()
	if err != nil {
		panic(err)
	}
	s.f.mu.RLock()
	held, agents := len(s.f.s.Jobs), len(s.f.s.Agents)
	s.f.mu.RUnlock()
	return retentionPoint{jobs: s.jobs, held: held, agents: agents, tick: s.tickTime(reps), snapshot: len(snap)}
}

// runRetention runs jobs up to each checkpoint and measures there.
func runRetention(retain bool, keep time.Duration, checkpoints []int, reps int) []retentionPoint {
	s := newRetentionSim(retain, keep)
	var out []retentionPoint
	for _, n := range checkpoints {
		for s.jobs < n {
			s.step()
		}
		out = append(out, s.measure(reps))
	}
	return out
}

// BenchmarkSchedulerRetention (issue 12) shows that the leader's tick and
// the snapshot stay flat over 100,000 submitted-and-finished jobs once
// finished jobs are compacted a retention (here ten simulated minutes, at
// one job a second) after their clean-up, beside the same farm without
// retention, whose leader walked every job on every tick (up to 10,000
// jobs). It runs in about half a minute.
func BenchmarkSchedulerRetention(b *testing.B) {
	checkpoints := []int{1_000, 10_000, 100_000}
	for b.Loop() {
		with := runRetention(true, 10*time.Minute, checkpoints, 51)
		// Without retention 100,000 jobs take minutes and gigabytes:
		// the contrast stops at 10,000, where the trend is plain.
		without := runRetention(false, 0, checkpoints[:2], 5)
		retentionTable(os.Stdout, with, without)
		last := with[len(with)-1]
		b.ReportMetric(float64(last.tick)/float64(time.Microsecond), "tick-µs@100k")
		b.ReportMetric(float64(last.snapshot), "snapshot-bytes@100k")
	}
}

func retentionTable(w io.Writer, with, without []retentionPoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "jobs run\tjobs held\tagents held\tleader tick\tsnapshot\t\tno retention: jobs held\tleader tick\tsnapshot\t")
	for i, p := range with {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%d B\t", p.jobs, p.held, p.agents, micros(p.tick), p.snapshot)
		if i < len(without) {
			q := without[i]
			fmt.Fprintf(tw, "\t%d\t%s\t%d B\t\n", q.held, micros(q.tick), q.snapshot)
		} else {
			fmt.Fprintf(tw, "\t-\t-\t-\t\n")
		}
	}
	tw.Flush()
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

// TestRetentionKeepsStateFlat is the benchmark's claim at a test's size:
// with a retention of 100 jobs, the state held after 5,000 jobs is the
// state held after 500.
func TestRetentionKeepsStateFlat(t *testing.T) {
	points := runRetention(true, 100*time.Second, []int{500, 5_000}, 5)
	var out testWriter
	retentionTable(&out, points, runRetention(false, 0, []int{500, 5_000}, 1))
	t.Log("\n" + string(out))
	small, large := points[0], points[1]
	if large.held > 110 || large.held != small.held {
		t.Errorf("jobs held after %d jobs: %d, after %d: %d; want the same, about the retention's 100", large.jobs, large.held, small.jobs, small.held)
	}
	if float64(large.snapshot) > 1.05*float64(small.snapshot) {
		t.Errorf("snapshot after %d jobs: %d bytes, after %d: %d bytes; want flat", large.jobs, large.snapshot, small.jobs, small.snapshot)
	}
	if large.agents > 9 {
		t.Errorf("%d agents held, want the 8 alive plus at most one dead within its retention", large.agents)
	}
}
