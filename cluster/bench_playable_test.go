package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/farmbench"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/scheduler"
)

// Time to playable (issue 16): upload complete → playable for the owner, p50
// and max over several runs of 30 s, 2-minute and 20-minute 1080p sources,
// beside the total job time, and the timeline of one run per length. The
// public clock needs the API's screening: BenchmarkFarmPublicPlayable in
// package api measures it.
//
//	make bench-farm
//	SUNOMI_BENCH_PLAYABLE_LENGTHS=30,120 SUNOMI_BENCH_PLAYABLE_RUNS=2 \
//	  go test -run '^$' -bench BenchmarkFarmTimeToPlayable -benchtime 1x -timeout 60m ./cluster/

// benchPlayableLengths are issue 16's source lengths, in seconds.
var benchPlayableLengths = []int{30, 120, 1200}

// benchPlayableFarm is a farm whose jobs the benchmark times: this
// checkout's, or the revision farmbench.BeforeEnv names.
type benchPlayableFarm struct {
	name string
	farm *farmtest.Farm
}

// benchPlayableRow is what the runs of one source length measured on one
// farm.
type benchPlayableRow struct {
	seconds  int
	farm     string
	before   *benchPlayableRow // the same length on the farm before, if any
	playable []time.Duration   // created → playableAt, every run
	total    []time.Duration   // created → done, the runs that went to the end
	timeline []farmbench.Event
	chunks   int
}

// BenchmarkFarmTimeToPlayable encodes each source length (rungs
// 1080,720,480,360, default segment and chunk) on one coordinator and two
// agents of one slot, farmbench.Runs times, one job at a time. The source is
// uploaded once per length and every run submits a job of it, so that the
// job's Created is the moment the upload completed, stamped by the leader
// like playableAt. The first farmbench.FullRuns runs go to the job's end
// (total job time, and the timeline of the first); the others cancel the job
// once it is playable and wait for the agents to drop its attempts. With
// farmbench.BeforeEnv set, a second farm runs that revision's binaries and
// every run is done on both, one after the other, so that total job times
// compare under the same load.
func BenchmarkFarmTimeToPlayable(b *testing.B) {
	skipShortBench(b)
	b.StopTimer()
	lengths := farmbench.Lengths(b, benchPlayableLengths)
	runs := farmbench.Runs(b)
	sources := map[int]string{}
	for _, secs := range lengths {
		start := time.Now()
		sources[secs] = farmbench.Generate(b, secs)
		b.Logf("%s source: %s (ready in %s)", farmbench.LengthName(secs), sources[secs], time.Since(start).Round(time.Second))
	}
	var farms []benchPlayableFarm
	if rev := farmbench.Before(); rev != "" {
		bin := farmbench.BeforeBinaries(b, rev)
		farms = append(farms, benchPlayableFarm{name: rev, farm: farmtest.Start(b, farmtest.Options{Coordinators: 1, Agents: 2, Binaries: bin})})
	}
	farms = append(farms, benchPlayableFarm{name: "this", farm: farmtest.Start(b, farmtest.Options{Coordinators: 1, Agents: 2})})
	var rows []benchPlayableRow
	for _, secs := range lengths {
		full := farmbench.FullRuns(b, secs, runs)
		keys := make([]string, len(farms))
		length := make([]benchPlayableRow, len(farms))
		for i, fm := range farms {
			keys[i] = benchUploadSource(b, fm.farm, sources[secs])
			length[i] = benchPlayableRow{seconds: secs, farm: fm.name}
		}
		for run := range runs {
			for i, fm := range farms {
				r := &length[i]
				j := benchPlayableRun(b, fm.farm, keys[i], secs, run < full)
				at, _ := farmbench.Playable(j)
				playable := at.Sub(j.Created)
				r.playable = append(r.playable, playable)
				line := fmt.Sprintf("%s run %d on %s: job %s playable after %.2f s", farmbench.LengthName(secs), run+1, fm.name, j.ID, playable.Seconds())
				if j.PlayableAt == nil {
					line += " (no playableAt: first published by its stitch, at its end)"
				}
				if j.State == scheduler.JobDone {
					r.total = append(r.total, j.Updated.Sub(j.Created))
					line += fmt.Sprintf(", done after %.1f s", j.Updated.Sub(j.Created).Seconds())
				}
				b.Log(line)
				if run == 0 {
					r.timeline, r.chunks = farmbench.Timeline(j), j.ChunksTotal
				}
			}
		}
		if len(length) == 2 {
			length[1].before = &length[0]
		}
		rows = append(rows, length...)
	}
	fmt.Print(benchPlayableReport(rows, runs))
	for _, r := range rows {
		name := strings.ReplaceAll(farmbench.LengthName(r.seconds), " ", "")
		if r.farm != "this" {
			name += "-before"
		}
		b.ReportMetric(farmbench.Median(r.playable).Seconds(), "s-playable-p50-"+name)
		b.ReportMetric(farmbench.Max(r.playable).Seconds(), "s-playable-max-"+name)
		if len(r.total) > 0 {
			b.ReportMetric(farmbench.Median(r.total).Seconds(), "s-total-p50-"+name)
		}
	}
}

// benchUploadSource stores src in the farm's storage once; every run's job
// reads it.
func benchUploadSource(b *testing.B, f *farmtest.Farm, src string) string {
	b.Helper()
	file, size := farmbench.Open(b, src)
	defer file.Close()
	key := fmt.Sprintf("uploads/playable-bench-%d.mp4", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := f.Client().Upload(ctx, key, file, size); err != nil {
		b.Fatalf("upload %s: %v", src, err)
	}
	return key
}

// benchPlayableRun submits a job of the stored source key and follows it
// until it is playable; then it waits for the job's end (toEnd), or cancels
// it and waits until the agents are idle again. It returns the last job
// view, with its tasks.
func benchPlayableRun(b *testing.B, f *farmtest.Farm, key string, seconds int, toEnd bool) wire.Job {
	b.Helper()
	c := f.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	j, err := c.SubmitJob(ctx, "", wire.SubmitJob{Source: key, Options: wire.JobOptions{Rungs: benchLadder}})
	cancel()
	if err != nil {
		b.Fatalf("submit %s: %v", key, err)
	}
	var view wire.Job
	// The wait grows with the source: a 20-minute job had done 42 of its 76
	// chunks after 23 minutes on the shared 2-core machine under a load of 15.
	timeout := benchJobTimeout + 3*time.Duration(seconds)*time.Second
	f.Eventually(timeout, "job "+j.ID+" playable", func(ctx context.Context) (bool, error) {
		if view, err = c.Job(ctx, j.ID); err != nil {
			return false, err
		}
		_, playable := farmbench.Playable(view)
		if view.State.Finished() && !playable {
			b.Fatalf("job %s ended %s before it was playable: %s", j.ID, view.State, view.Error)
		}
		return playable, nil
	})
	if toEnd {
		if view = f.WaitJob(j.ID, timeout); view.State != scheduler.JobDone {
			b.Fatalf("job %s ended %s: %s", j.ID, view.State, view.Error)
		}
		return view
	}
	if view.State.Finished() {
		return view // done before its cancellation: nothing to cancel
	}
	return farmbench.CancelAndSettle(b, f, j.ID)
}

// benchPlayableReport prints the table of rows against issue 16's targets,
// and the timeline of each length's first run on each farm.
func benchPlayableReport(rows []benchPlayableRow, runs int) string {
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nTime to playable: 1920x1080 30 fps sources with audio (x264 CRF 18, ~20 Mb/s, 2 s GOP), rungs %s,\n"+
		"default segment and chunk, 1 coordinator, 2 agents × 1 slot, %d CPUs; %d runs per length, one job at a time.\n"+
		"Clock: upload complete (the job's created) → the owner's playableAt, both stamped by the leader.\n",
		benchRungs, runtime.NumCPU(), runs)
	fmt.Fprintf(&w, "  %-8s %-8s %6s %9s %9s %15s %9s\n", "source", "farm", "chunks", "p50 (s)", "max (s)", "total p50 (s)", "change")
	var medians []time.Duration
	var lengths []int
	medianOK, maxOK, totalOK := true, true, true
	for _, r := range rows {
		p50, worst := farmbench.Median(r.playable), farmbench.Max(r.playable)
		total, change := "–", ""
		if len(r.total) > 0 {
			total = fmt.Sprintf("%.1f (%d)", farmbench.Median(r.total).Seconds(), len(r.total))
		}
		if r.farm == "this" {
			medians, lengths = append(medians, p50), append(lengths, r.seconds)
			medianOK = medianOK && p50 <= farmbench.TargetMedian
			maxOK = maxOK && worst <= farmbench.TargetMax
			if r.before != nil && len(r.total) > 0 && len(r.before.total) > 0 {
				ratio := farmbench.Median(r.total).Seconds()/farmbench.Median(r.before.total).Seconds() - 1
				change = fmt.Sprintf("%+.1f%%", 100*ratio)
				totalOK = totalOK && ratio <= farmbench.TargetTotal
			}
		}
		fmt.Fprintf(&w, "  %-8s %-8s %6d %9.2f %9.2f %15s %9s\n",
			farmbench.LengthName(r.seconds), r.farm, r.chunks, p50.Seconds(), worst.Seconds(), total, change)
	}
	fmt.Fprintf(&w, "  this farm: p50 ≤ %.0f s for every length: %s; max ≤ %.0f s: %s\n",
		farmbench.TargetMedian.Seconds(), farmbench.Verdict(medianOK), farmbench.TargetMax.Seconds(), farmbench.Verdict(maxOK))
	if len(medians) > 1 {
		spread := medians[len(medians)-1] - medians[0]
		fmt.Fprintf(&w, "  %s p50 − %s p50 = %+.2f s (target ≤ %.1f s): %s\n", farmbench.LengthName(lengths[len(lengths)-1]),
			farmbench.LengthName(lengths[0]), spread.Seconds(), farmbench.TargetSpread.Seconds(), farmbench.Verdict(spread <= farmbench.TargetSpread))
	}
	if rows[len(rows)-1].before != nil {
		fmt.Fprintf(&w, "  total job time within %.0f%% of the farm before, every length: %s\n", 100*farmbench.TargetTotal, farmbench.Verdict(totalOK))
	} else {
		fmt.Fprintf(&w, "  no farm before to compare total job times with: set %s=f218ffe (the code before issue 16)\n", farmbench.BeforeEnv)
	}
	fmt.Fprintf(&w, "  total = created → done over the runs that went to the end (their count in brackets): by default\n"+
		"  every run up to %s, the first run beyond; the other runs cancel their job (DELETE /v1/jobs/{id})\n"+
		"  once it is playable (%s sets how many go to the end). Runs alternate between the farms.\n"+
		"  The public clock (after screening) is BenchmarkFarmPublicPlayable's, in package api.\n",
		farmbench.LengthName(int(farmbench.FullLengthLimit.Seconds())), farmbench.FullRunsEnv)
	for _, r := range rows {
		fmt.Fprintf(&w, "\nTimeline of the first %s run on %s (s after upload complete = job submitted):\n", farmbench.LengthName(r.seconds), r.farm)
		w.WriteString(farmbench.FormatTimeline("  ", r.timeline))
	}
	return w.String()
}
