// Package farmbench holds what the farm's time-to-playable benchmarks share
// (cluster's owner clock, api's public clock): the 1080p sources they encode,
// the knobs read from the environment, the statistics, and the timeline of
// one job read from the job view (GET /v1/jobs/{id}), so that both keep
// working whatever the farm does inside.
package farmbench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
)

// The environment variables that shape a run, so that a quick one is possible
// (SUNOMI_BENCH_PLAYABLE_LENGTHS=30 SUNOMI_BENCH_PLAYABLE_RUNS=2).
const (
	// LengthsEnv lists the source lengths, comma-separated, in seconds or as
	// Go durations (30,120,1200 or 30s,2m,20m).
	LengthsEnv = "SUNOMI_BENCH_PLAYABLE_LENGTHS"
	// RunsEnv is the number of jobs per length.
	RunsEnv = "SUNOMI_BENCH_PLAYABLE_RUNS"
	// FullRunsEnv is how many of a length's runs go to the job's end, the
	// first ones; the others cancel their job once it is playable.
	FullRunsEnv = "SUNOMI_BENCH_PLAYABLE_FULL_RUNS"
	// BeforeEnv names a git revision (f218ffe, the code before issue 16)
	// whose farm runs every job too, alternating with this checkout's, so
	// that "total job time within 3%" compares two farms under the same
	// load: the machine is shared and its load moves the totals by far more.
	BeforeEnv = "SUNOMI_BENCH_PLAYABLE_BEFORE"
)

// DefaultRuns is the number of runs per length of issue 16.
const DefaultRuns = 5

// FullLengthLimit is the longest source whose runs all go to the end by
// default: a 20-minute job takes about 17 minutes on the 2-core machine, so
// only the first run of a longer source measures the total job time.
const FullLengthLimit = 2 * time.Minute

// loopBase is the clip longer sources repeat: 120 s holds whole GOPs (2 s)
// and whole AAC frames (5625 of 1024 samples at 48 kHz), so that the loop
// joins without a gap or an overlap in either stream.
const loopBase = 120

// Source is a 1920x1080 30 fps clip with audio: testsrc2 with temporal grain
// so that x264 has to work, encoded like a camera would (CRF 18, about
// 20 Mb/s at ultrafast, 2 s GOP). preset is the source encode's x264 preset.
func Source(seconds int, preset string) testmedia.Spec {
	return testmedia.Spec{
		Name: fmt.Sprintf("farm-bench-%ds-1920x1080-30fps-noise-%s", seconds, preset),
		Ext:  "mp4",
		Args: []string{
			"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1920x1080:rate=30:duration=%d,noise=alls=3:allf=t,format=yuv420p", seconds),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:beep_factor=4:sample_rate=48000:duration=%d", seconds),
			"-c:v", "libx264", "-preset", preset, "-crf", "18", "-g", "60", "-pix_fmt", "yuv420p",
			"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
			"-movflags", "+faststart",
		},
	}
}

// Generate returns the path of a cached ultrafast Source of the given
// length. Generating 1080p with grain runs at about half real time on this
// machine's 2 cores (8 minutes for 20 minutes of video), so a length that is a
// multiple of 120 s repeats the 120 s clip by stream copy instead, which
// takes seconds and yields the same bit rate and GOPs a camera file of that
// length has. Clips are cached on disk (testmedia), across processes.
func Generate(tb testing.TB, seconds int) string {
	tb.Helper()
	if seconds <= loopBase || seconds%loopBase != 0 {
		return testmedia.Generate(tb, Source(seconds, "ultrafast"))
	}
	base := testmedia.Generate(tb, Source(loopBase, "ultrafast"))
	return testmedia.Generate(tb, testmedia.Spec{
		Name: fmt.Sprintf("farm-bench-%ds-1920x1080-30fps-noise-ultrafast-loop%d", seconds, loopBase),
		Ext:  "mp4",
		Args: []string{"-stream_loop", strconv.Itoa(seconds/loopBase - 1), "-i", base, "-c", "copy", "-movflags", "+faststart"},
	})
}

// Open opens a source for upload and returns its size.
func Open(tb testing.TB, path string) (*os.File, int64) {
	tb.Helper()
	file, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		tb.Fatal(err)
	}
	return file, st.Size()
}

// Lengths are the source lengths in seconds from LengthsEnv, def without it.
func Lengths(tb testing.TB, def []int) []int {
	tb.Helper()
	v := strings.TrimSpace(os.Getenv(LengthsEnv))
	if v == "" {
		return def
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil {
			d, derr := time.ParseDuration(f)
			if derr != nil || d < time.Second || d%time.Second != 0 {
				tb.Fatalf("%s=%q: %q is neither whole seconds nor a duration in whole seconds", LengthsEnv, v, f)
			}
			n = int(d / time.Second)
		}
		if n < 1 {
			tb.Fatalf("%s=%q: %q is not a positive length", LengthsEnv, v, f)
		}
		out = append(out, n)
	}
	return out
}

// Runs is the number of runs per length from RunsEnv, DefaultRuns without it.
func Runs(tb testing.TB) int {
	tb.Helper()
	return intEnv(tb, RunsEnv, DefaultRuns, 1)
}

// FullRuns is how many of runs go to the job's end for a source of seconds:
// FullRunsEnv (at most runs; 0 for none, time to playable only), or by
// default every run up to FullLengthLimit and the first beyond it.
func FullRuns(tb testing.TB, seconds, runs int) int {
	tb.Helper()
	def := runs
	if time.Duration(seconds)*time.Second > FullLengthLimit {
		def = 1
	}
	return min(intEnv(tb, FullRunsEnv, def, 0), runs)
}

// intEnv is the whole number in the environment variable name, at least least;
// def without it.
func intEnv(tb testing.TB, name string, def, least int) int {
	tb.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		tb.Fatalf("%s=%q: want a whole number from %d", name, v, least)
	}
	return n
}

// Before is the revision BeforeEnv names, "" for none.
func Before() string { return strings.TrimSpace(os.Getenv(BeforeEnv)) }

// BeforeBinaries builds cmd/coordinator, cmd/agent and cmd/sunomi as they
// were at rev (from git archive, so the checkout is left alone) into the
// user's cache, once per commit, and returns their directory for
// farmtest.Options.Binaries.
func BeforeBinaries(tb testing.TB, rev string) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out, err := exec.Command("git", "-C", root, "rev-parse", "--verify", rev+"^{commit}").Output()
	if err != nil {
		tb.Fatalf("%s=%q: not a commit of this repository: %v", BeforeEnv, rev, err)
	}
	commit := strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256([]byte(commit))
	dir := filepath.Join(cache, "sunomi", "bench-bin", hex.EncodeToString(sum[:6]))
	names := []string{"coordinator", "agent", "sunomi"}
	if built(dir, names) {
		return dir
	}
	src := tb.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, commit, src)
	if out, err := archive.CombinedOutput(); err != nil {
		tb.Fatalf("git archive %s: %v\n%s", commit, err, out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, name := range names {
		// Built under a temporary name and renamed, so that an interrupted
		// build leaves no binary that looks complete.
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", name, os.Getpid()))
		build := exec.Command("go", "build", "-o", tmp, "./cmd/"+name)
		build.Dir = src
		if out, err := build.CombinedOutput(); err != nil {
			os.Remove(tmp)
			tb.Fatalf("go build ./cmd/%s at %s: %v\n%s", name, commit, err, out)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// built reports whether dir holds every one of names.
func built(dir string, names []string) bool {
	for _, name := range names {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// LengthName is how tables name a source length: "30 s", "2 min", "20 min".
func LengthName(seconds int) string {
	if seconds >= 60 && seconds%60 == 0 {
		return fmt.Sprintf("%d min", seconds/60)
	}
	return fmt.Sprintf("%d s", seconds)
}

// Median is the middle of ds (the upper one of an even count); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// Max is the largest of ds; 0 for none.
func Max(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

// Targets of issue 16 for upload-complete → playable, per audience.
const (
	TargetMedian = 3 * time.Second        // p50 of every length, at most
	TargetMax    = 5 * time.Second        // every run, at most
	TargetSpread = 500 * time.Millisecond // the longest source's p50 over the shortest one's, at most
	// TargetTotal is how much slower than before a job may get.
	TargetTotal = 0.03
)

// Verdict is how tables say whether a target was met.
func Verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// Playable is when job j became playable for its owner: its playableAt, or,
// for a job done without one, its end. The leader's progressive publishing
// leaves a job to its stitch once the stitch is leased, so a short job whose
// chunks all finish at once is first published by the stitch, at its end
// (the API then counts the video playable from its publication). ok is false
// while the job is not playable yet.
func Playable(j wire.Job) (at time.Time, ok bool) {
	switch {
	case j.PlayableAt != nil:
		return *j.PlayableAt, true
	case j.State == scheduler.JobDone:
		return j.Updated, true
	}
	return time.Time{}, false
}

// Event is one moment of a job, from its submission (the job's Created: on
// the farm alone, where the source is stored before the job exists, the
// moment the upload completed).
type Event struct {
	At   time.Duration
	What string
}

// Timeline lists where a job's time went, as the job view tells it: the
// split, audio and stitch attempts (leased → finished), every encode attempt
// of chunk 0 (whatever the tasks that encode it: one for all rungs, or
// several), the first lease and last completion of the other chunks, and
// when the job became playable and ended. Attempt times are the leader's
// stamps: leased is when the agent got the task, running when it reported
// first progress (it had downloaded the inputs, the split's being the whole
// source, and waited for a free slot: an agent prefetches one task while it
// runs another), finished when its completion was committed.
func Timeline(j wire.Job) []Event {
	var ev []Event
	at := func(t time.Time, what string, args ...any) {
		if !t.IsZero() {
			ev = append(ev, Event{At: t.Sub(j.Created), What: fmt.Sprintf(what, args...)})
		}
	}
	at(j.Created, "job submitted (created)")
	var laterLeased, laterDone time.Time
	var laterAgent string
	var laterTasks int
	for _, t := range j.Tasks {
		name := taskName(j.ID, t)
		switch {
		case t.Kind == scheduler.KindEncode && t.Index > 0:
			laterTasks++
			for _, a := range t.Attempts {
				if laterLeased.IsZero() || a.Started.Before(laterLeased) {
					laterLeased, laterAgent = a.Started, a.Agent
				}
				if a.State == scheduler.StateDone && a.Finished.After(laterDone) {
					laterDone = a.Finished
				}
			}
		case t.Kind == scheduler.KindEncodeAV1:
			// Not part of the H.264 ladder's time to playable.
		default:
			for _, a := range t.Attempts {
				at(a.Started, "%s leased by %s (attempt %d)", name, a.Agent, a.N)
				at(a.Running, "%s running: inputs downloaded, task process started", name)
				if a.Error != "" {
					at(a.Finished, "%s %s: %s", name, a.State, a.Error)
				} else {
					at(a.Finished, "%s %s", name, a.State)
				}
			}
		}
	}
	if laterTasks > 0 {
		at(laterLeased, "first encode of chunks 1–%d leased by %s", laterTasks, laterAgent)
		at(laterDone, "last encode of chunks 1–%d done", laterTasks)
	}
	if j.PlayableAt != nil {
		at(*j.PlayableAt, "PLAYABLE for the owner (playableAt)")
	}
	if j.State.Finished() {
		at(j.Updated, "job %s", j.State)
	}
	slices.SortStableFunc(ev, func(a, b Event) int { return int(a.At - b.At) })
	return ev
}

// taskName names a task in the timeline: its kind, and for an encode its
// chunk and the ID's tail (which tells tasks of one chunk apart).
func taskName(jobID string, t wire.Task) string {
	if t.Kind != scheduler.KindEncode {
		return string(t.Kind)
	}
	return fmt.Sprintf("encode chunk %d [%s]", t.Index, strings.TrimPrefix(t.ID, jobID+"-"))
}

// FormatTimeline writes a timeline, one event a line, each line starting
// with indent.
func FormatTimeline(indent string, ev []Event) string {
	var b strings.Builder
	for _, e := range ev {
		fmt.Fprintf(&b, "%s%9.2f s  %s\n", indent, e.At.Seconds(), e.What)
	}
	return b.String()
}

// agentHeartbeat is how often agents send heartbeats
// (agent.DefaultHeartbeat): the answer to one tells an agent to abandon the
// attempts of a canceled job.
const agentHeartbeat = 2 * time.Second

// CancelAndSettle cancels job id (DELETE /v1/jobs/{id}), waits for it to end
// and for the agents to drop its attempts, so that the next run starts on an
// idle farm, and returns the job's last view.
func CancelAndSettle(tb testing.TB, f *farmtest.Farm, id string) wire.Job {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := f.Client().CancelJob(ctx, id)
	cancel()
	if err != nil {
		tb.Fatalf("cancel job %s: %v", id, err)
	}
	j := f.WaitJob(id, time.Minute)
	waitIdle(tb, f)
	return j
}

// waitIdle waits until no agent holds an attempt in the cluster's state and
// then two heartbeats more: an agent hears of a canceled attempt on its next
// heartbeat, and one still encoding it would slow the next run down.
func waitIdle(tb testing.TB, f *farmtest.Farm) {
	tb.Helper()
	f.Eventually(time.Minute, "every agent idle", func(ctx context.Context) (bool, error) {
		agents, err := f.Client().Agents(ctx)
		if err != nil {
			return false, err
		}
		for _, a := range agents {
			if a.Busy > 0 {
				return false, fmt.Errorf("%s holds %d attempts", a.ID, a.Busy)
			}
		}
		return true, nil
	})
	heard := time.NewTimer(2 * agentHeartbeat)
	defer heard.Stop()
	<-heard.C
}
