package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/farmbench"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
)

// Farm benchmarks (issue 4): real coordinator and agent processes on
// loopback. They measure and print; a missed target is reported, not failed,
// but a farm that fails a job fails the benchmark.
//
//	make bench-farm

// Targets of issue 4.
const (
	benchScalingTarget  = 1.85   // speedup of 2 agents over 1, at least
	benchRaftTarget     = 2000.0 // committed commands per second, at least
	benchFailoverTarget = 3.0    // seconds from leader kill to a new lease, median, at most
	benchRungs          = "1080,720,480,360"
	benchJobTimeout     = 30 * time.Minute
)

var benchLadder = []int{1080, 720, 480, 360}

func skipShortBench(b *testing.B) {
	b.Helper()
	if testing.Short() {
		b.Skip("farm benchmarks start processes and take minutes; run them without -short")
	}
}

// benchRunJob submits src to f and waits for it to finish; it fails the
// benchmark unless the job is done. It returns the job and the wall time
// from submit (before the upload) to done as the client saw it.
func benchRunJob(b *testing.B, f *farmtest.Farm, src string, opts wire.JobOptions) (wire.Job, time.Duration) {
	b.Helper()
	start := time.Now()
	j := f.Submit(src, opts)
	j = benchWaitDone(b, f, j.ID)
	return j, time.Since(start)
}

// benchWaitDone waits until the job finishes (Farm.WaitJob, which looks every
// testkit.PollInterval); it must end done.
func benchWaitDone(b *testing.B, f *farmtest.Farm, id string) wire.Job {
	b.Helper()
	j := f.WaitJob(id, benchJobTimeout)
	if j.State != scheduler.JobDone {
		b.Fatalf("job %s ended %s: %s", id, j.State, j.Error)
	}
	return j
}

func benchVerdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// BenchmarkFarmScaling runs the same 60 s 1080p job (rungs 1080,720,480,360)
// on one coordinator with (a) one agent of one slot and (b) two agents of one
// slot each, on this machine, and reports the speedup b over a.
func BenchmarkFarmScaling(b *testing.B) {
	skipShortBench(b)
	b.StopTimer()
	src := testmedia.Generate(b, farmbench.Source(60, "veryfast"))
	opts := wire.JobOptions{Rungs: benchLadder}
	var walls [2]time.Duration
	for i, agents := range []int{1, 2} {
		// One encoder thread per agent, as the target assumes: the rungs of
		// a chunk are encoded one after another.
		f := farmtest.Start(b, farmtest.Options{Coordinators: 1, Agents: agents, Slots: 1, AgentArgs: []string{"--encode-threads", "1"}})
		j, wall := benchRunJob(b, f, src, opts)
		walls[i] = wall
		b.Logf("%d agent(s): job %s done in %s (%d chunks)", agents, j.ID, wall.Round(time.Millisecond), j.ChunksTotal)
		for _, p := range f.Agents {
			p.Kill()
		}
		for _, c := range f.Coordinators {
			c.Kill()
		}
	}
	speedup := walls[0].Seconds() / walls[1].Seconds()
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nFarm scaling: 60 s 1920x1080 30 fps source, rungs %s, default segment/chunk, %d CPUs (%s)\n",
		benchRungs, runtime.NumCPU(), runtime.GOARCH)
	fmt.Fprintf(&w, "  %-34s %10s\n", "farm", "wall (s)")
	fmt.Fprintf(&w, "  %-34s %10.1f\n", "(a) 1 coordinator, 1 agent × 1 slot", walls[0].Seconds())
	fmt.Fprintf(&w, "  %-34s %10.1f\n", "(b) 1 coordinator, 2 agents × 1 slot", walls[1].Seconds())
	fmt.Fprintf(&w, "  speedup a/b %.2f× (target ≥ %.2f×: %s)\n", speedup, benchScalingTarget, benchVerdict(speedup >= benchScalingTarget))
	fmt.Fprintf(&w, "  note: agents run with --encode-threads 1 (a chunk's %d rungs one after another, x264 with\n"+
		"  1 thread each), so each agent uses one of the %d CPUs; split, audio and stitch run on one\n"+
		"  agent at the ends of the job.\n", len(benchLadder), runtime.NumCPU())
	fmt.Print(w.String())
	b.ReportMetric(speedup, "speedup")
	b.ReportMetric(walls[0].Seconds(), "s-1agent")
	b.ReportMetric(walls[1].Seconds(), "s-2agents")
}

// BenchmarkFarmRaftThroughput submits jobs concurrently to the leader of a
// 3-coordinator farm (no agents) for about 5 s: each accepted POST /v1/jobs
// is one command committed through Raft. It reports commands per second.
func BenchmarkFarmRaftThroughput(b *testing.B) {
	skipShortBench(b)
	b.StopTimer()
	f := farmtest.Start(b, farmtest.Options{Coordinators: 3})
	leader := f.Leader()
	// One small uploaded source every job refers to.
	src := testmedia.Generate(b, testmedia.CFR(1, 160, 120, 25, false))
	key := "uploads/raft-bench.mp4"
	{
		file, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := file.Stat()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = f.Client().Upload(ctx, key, file, st.Size())
		cancel()
		file.Close()
		if err != nil {
			b.Fatalf("upload: %v", err)
		}
	}
	const duration = 5 * time.Second
	workers := 32
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(duration)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client.New([]string{leader.URL()}, f.ClientTLS(), nil)
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := c.SubmitJob(ctx, "", wire.SubmitJob{Source: key, Options: smallJob})
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ok.Load() == 0 {
		b.Fatalf("no job was accepted (%d failed, first error %v)", failed.Load(), firstErr.Load())
	}
	rate := float64(ok.Load()) / elapsed.Seconds()
	// Every coordinator must come to list every accepted job (reads are
	// served locally, so a follower may lag for a moment).
	for _, c := range f.Coordinators {
		f.Eventually(30*time.Second, c.Name+" listing every accepted job", func(ctx context.Context) (bool, error) {
			jobs, err := client.New([]string{c.URL()}, f.ClientTLS(), nil).Jobs(ctx)
			if err != nil {
				return false, err
			}
			return int64(len(jobs)) >= ok.Load(), fmt.Errorf("%d jobs listed, %d accepted", len(jobs), ok.Load())
		})
	}
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nRaft throughput: 3 coordinators on loopback, %d concurrent HTTP clients → leader, %s\n", workers, elapsed.Round(time.Millisecond))
	fmt.Fprintf(&w, "  %-28s %10s\n", "measure", "value")
	fmt.Fprintf(&w, "  %-28s %10d\n", "jobs submitted (commands)", ok.Load())
	fmt.Fprintf(&w, "  %-28s %10d\n", "failed requests", failed.Load())
	fmt.Fprintf(&w, "  %-28s %10.0f\n", "commands/s", rate)
	fmt.Fprintf(&w, "  target ≥ %.0f/s: %s\n", benchRaftTarget, benchVerdict(rate >= benchRaftTarget))
	fmt.Fprintf(&w, "  note: each command is a full POST /v1/jobs (HTTPS with mutual TLS + JSON, certificate role check, storage Stat of\n"+
		"  the source, Raft apply with fsync on 3 nodes); clients, coordinators and their fsyncs share %d CPUs,\n"+
		"  so this is a lower bound on the Raft log's own rate.\n", runtime.NumCPU())
	if failed.Load() > 0 {
		fmt.Fprintf(&w, "  first error: %v\n", firstErr.Load())
	}
	fmt.Print(w.String())
	b.ReportMetric(rate, "commands/s")
}

// BenchmarkFarmFailover SIGKILLs the leader of a 3-coordinator, 2-agent farm
// while a job of many short chunks encodes, and measures the time from the
// kill until a task is leased again (an attempt started after the kill).
// Five rounds on one farm: the killed node is restarted and a new job
// submitted each time. It reports the median.
func BenchmarkFarmFailover(b *testing.B) {
	skipShortBench(b)
	b.StopTimer()
	f := farmtest.Start(b, farmtest.Options{Coordinators: 3, Agents: 2})
	src := testmedia.Generate(b, testmedia.CFR(40, 640, 360, 25, true))
	opts := wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{360, 240}}
	const rounds = 5
	var gaps []time.Duration
	var rows []string
	for round := 1; round <= rounds; round++ {
		j := f.Submit(src, opts)
		f.Eventually(2*time.Minute, "encoding under way", func(ctx context.Context) (bool, error) {
			job, err := f.Client().Job(ctx, j.ID)
			if err != nil {
				return false, err
			}
			if job.State.Finished() {
				b.Fatalf("job %s finished (%s) before the leader was killed", j.ID, job.State)
			}
			return job.State == scheduler.JobEncoding && job.ChunksDone >= 1, nil
		})
		old := f.Leader()
		var survivors []string
		for _, c := range f.Coordinators {
			if c != old {
				survivors = append(survivors, c.URL())
			}
		}
		killed := time.Now()
		old.Kill()
		c := client.New(survivors, f.ClientTLS(), nil)
		var gap time.Duration
		var leasedBy string
		deadline := killed.Add(2 * time.Minute)
		for gap == 0 {
			if time.Now().After(deadline) {
				b.Fatalf("round %d: no task leased within 2 min of killing leader %s", round, old.Name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			job, err := c.Job(ctx, j.ID)
			cancel()
			if err == nil {
				for _, task := range job.Tasks {
					for _, a := range task.Attempts {
						if a.Started.After(killed) && (gap == 0 || a.Started.Sub(killed) < gap) {
							gap, leasedBy = a.Started.Sub(killed), a.Agent
						}
					}
				}
				if gap == 0 && job.State.Finished() {
					b.Fatalf("round %d: job %s ended %s with no lease after the kill", round, j.ID, job.State)
				}
			}
			if gap == 0 {
				time.Sleep(50 * time.Millisecond)
			}
		}
		gaps = append(gaps, gap)
		newLeader := f.Leader()
		rows = append(rows, fmt.Sprintf("  %-6d %-12s %-12s %-8s %12.2f", round, old.Name, newLeader.Name, leasedBy, gap.Seconds()))
		benchWaitDone(b, f, j.ID)
		old.Restart(b)
		f.Eventually(time.Minute, old.Name+" back in the cluster", func(ctx context.Context) (bool, error) {
			cl, err := client.New([]string{old.URL()}, f.ClientTLS(), nil).Cluster(ctx)
			return err == nil && cl.Leader != "", err
		})
	}
	sorted := slices.Clone(gaps)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nFailover: 3 coordinators, 2 agents, SIGKILL of the leader during a job of 2 s chunks; kill → next lease\n")
	fmt.Fprintf(&w, "  %-6s %-12s %-12s %-8s %12s\n", "round", "killed", "new leader", "agent", "gap (s)")
	for _, r := range rows {
		fmt.Fprintln(&w, r)
	}
	fmt.Fprintf(&w, "  median %.2f s (target ≤ %.1f s: %s)\n", median.Seconds(), benchFailoverTarget, benchVerdict(median.Seconds() <= benchFailoverTarget))
	fmt.Fprintf(&w, "  note: farmtest runs coordinators with --fast (Raft heartbeat/election timeouts 300 ms,\n"+
		"  lease TTL 3 s); with the production Raft defaults (1 s) expect about 1 s more.\n")
	fmt.Print(w.String())
	b.ReportMetric(median.Seconds(), "s-median-failover")
}

// Failure detection (issue 12): production timings, not --fast.
const (
	benchDeathTarget = 5.0 // seconds from an agent's SIGKILL to its death in the state, at most
	// benchDeathBefore is kill → dead with memberlist's DefaultLANConfig,
	// which the coordinators and agents used before issue 12: the issue's
	// figure, and what this benchmark measured at c458d6e (8 rounds).
	benchDeathBefore = "7.3 s in issue 12; 5.3–6.8 s, median 5.8 s, measured by this benchmark before"
)

// BenchmarkFarmAgentDeath runs a 3-coordinator, 2-agent farm with the
// production Raft, gossip and lease timings, SIGKILLs the agent encoding a
// job's only chunk, and measures kill → the agent marked dead (the leader
// fails its attempt with "agent … died") → the chunk leased again on the other
// agent. Five rounds, the killed agent restarted between them. Any death of
// an agent that was not killed is a false death under load and is reported.
func BenchmarkFarmAgentDeath(b *testing.B) {
	skipShortBench(b)
	b.StopTimer()
	f := farmtest.Start(b, farmtest.Options{Coordinators: 3, Agents: 2, Production: true})
	// One 16 s chunk (the default) of 720p that takes seconds to encode, so
	// that the kill lands while it runs and the other agent is idle.
	src := testmedia.Generate(b, testmedia.CFR(12, 1280, 720, 30, true))
	opts := wire.JobOptions{Rungs: []int{720, 360}}
	const rounds = 5
	var deaths, releases []time.Duration
	var rows []string
	watch := benchWatchDeaths(f)
	for round := 1; round <= rounds; round++ {
		j := f.Submit(src, opts)
		var victim string
		var taskID string
		f.Eventually(2*time.Minute, "the chunk encoding", func(ctx context.Context) (bool, error) {
			job, err := f.Client().Job(ctx, j.ID)
			if err != nil {
				return false, err
			}
			if job.State.Finished() {
				b.Fatalf("job %s finished (%s) before an agent was killed", j.ID, job.State)
			}
			for _, task := range job.Tasks {
				for _, a := range task.Attempts {
					if task.Kind == scheduler.KindEncode && a.State == scheduler.StateRunning && a.FramesDone > 0 {
						victim, taskID = a.Agent, task.ID
						return true, nil
					}
				}
			}
			return false, nil
		})
		killedAgent := f.Agents[slices.IndexFunc(f.Agents, func(p *farmtest.Process) bool { return p.Name == victim })]
		watch.expect(victim)
		killed := time.Now()
		killedAgent.Kill()
		dead, released, cause := benchWaitRelease(b, f, j.ID, taskID, victim, killed)
		deaths, releases = append(deaths, dead), append(releases, released)
		rows = append(rows, fmt.Sprintf("  %-6d %-8s %12.2f %14.2f  %s", round, victim, dead.Seconds(), released.Seconds(), cause))
		benchWaitDone(b, f, j.ID)
		killedAgent.Restart(b)
		f.Eventually(time.Minute, victim+" alive again", func(ctx context.Context) (bool, error) {
			agents, err := f.Client().Agents(ctx)
			if err != nil {
				return false, err
			}
			i := slices.IndexFunc(agents, func(a wire.Agent) bool { return a.ID == victim })
			return i >= 0 && agents[i].State == scheduler.AgentAlive, nil
		})
		watch.expect("")
	}
	falseDeaths := watch.stop()
	worst := slices.Max(deaths)
	medianDead := benchMedian(deaths)
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nAgent death: 3 coordinators, 2 agents, production timings (no --fast; lease TTL 10 s), SIGKILL of\n"+
		"the agent encoding the only chunk; kill → agent dead in the state → chunk leased again\n")
	fmt.Fprintf(&w, "  %-6s %-8s %12s %14s  %s\n", "round", "agent", "dead (s)", "re-leased (s)", "cause")
	for _, r := range rows {
		fmt.Fprintln(&w, r)
	}
	fmt.Fprintf(&w, "  kill → dead median %.2f s, worst %.2f s (target ≤ %.0f s: %s)\n",
		medianDead.Seconds(), worst.Seconds(), benchDeathTarget, benchVerdict(worst.Seconds() <= benchDeathTarget))
	fmt.Fprintf(&w, "  before, with memberlist's DefaultLANConfig (1 s probes, 500 ms timeout): %s\n", benchDeathBefore)
	fmt.Fprintf(&w, "  kill → re-leased median %.2f s\n", benchMedian(releases).Seconds())
	fmt.Fprintf(&w, "  false deaths of agents that were not killed, under encoding load: %d\n", falseDeaths)
	fmt.Print(w.String())
	b.ReportMetric(medianDead.Seconds(), "s-kill-to-dead")
	b.ReportMetric(worst.Seconds(), "s-kill-to-dead-worst")
	b.ReportMetric(benchMedian(releases).Seconds(), "s-kill-to-released")
	b.ReportMetric(float64(falseDeaths), "false-deaths")
}

// benchWaitRelease follows task taskID of job id after agent victim was
// killed at killed: dead is when the leader failed victim's attempt (its
// Finished stamp), released when the task's next attempt started; cause is
// the failed attempt's error, which tells gossip's verdict ("agent … died")
// from the fallback lease expiry.
func benchWaitRelease(b *testing.B, f *farmtest.Farm, id, taskID, victim string, killed time.Time) (dead, released time.Duration, cause string) {
	b.Helper()
	f.Eventually(2*time.Minute, "the killed agent's chunk leased again", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, id)
		if err != nil {
			return false, err
		}
		i := slices.IndexFunc(job.Tasks, func(t wire.Task) bool { return t.ID == taskID })
		if i < 0 {
			return false, fmt.Errorf("task %s is not in job %s", taskID, id)
		}
		dead, released = 0, 0
		for _, a := range job.Tasks[i].Attempts {
			if a.Agent == victim && a.State == scheduler.StateFailed && a.Finished.After(killed) {
				dead, cause = a.Finished.Sub(killed), a.Error
			}
			if a.Agent != victim && a.Started.After(killed) && (released == 0 || a.Started.Sub(killed) < released) {
				released = a.Started.Sub(killed)
			}
		}
		return dead > 0 && released > 0, fmt.Errorf("dead after %s, re-leased after %s", dead, released)
	})
	return dead, released, cause
}

// deathWatch polls the farm's agents list and counts every agent seen not
// alive that was not killed on purpose: false deaths.
type deathWatch struct {
	mu       sync.Mutex
	expected string // the agent killed on purpose, "" between rounds
	false    map[string]bool
	done     chan struct{}
	wg       sync.WaitGroup
}

func benchWatchDeaths(f *farmtest.Farm) *deathWatch {
	w := &deathWatch{false: map[string]bool{}, done: make(chan struct{})}
	c := f.Client()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			agents, err := c.Agents(ctx)
			cancel()
			if err != nil {
				continue
			}
			w.mu.Lock()
			for _, a := range agents {
				if a.State != scheduler.AgentAlive && a.ID != w.expected {
					w.false[a.ID] = true
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// expect names the agent about to be killed ("" once it is back).
func (w *deathWatch) expect(agent string) {
	w.mu.Lock()
	w.expected = agent
	w.mu.Unlock()
}

// stop ends the watch and returns how many agents died without being killed.
func (w *deathWatch) stop() int {
	close(w.done)
	w.wg.Wait()
	return len(w.false)
}

func benchMedian(ds []time.Duration) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}
