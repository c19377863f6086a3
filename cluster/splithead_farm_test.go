package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// longSource is the farm tests' long upload: 20 minutes of 160×90 at 15
// fps, one rung (90p, the source's size, under the 240p asked for).
const longMinutes, longFPS = 20, 15

var longJob = wire.JobOptions{Segment: "2s", Chunk: "60s", Rungs: []int{240}}

// submitHeldAfterHead submits the long source and waits for its split's
// head; then it holds the split's process where it is, mid-file, as a long
// upload's would still be reading (this machine splits the small source in
// a second or two, less than the first chunk takes to encode and publish).
// It returns the job and the held split.
func submitHeldAfterHead(t *testing.T, f *farmtest.Farm) (wire.Job, heldProcess) {
	t.Helper()
	return submitSourceHeldAfterHead(t, f, testmedia.Generate(t, testmedia.CFR(longMinutes*60, 160, 90, longFPS, false)))
}

// submitSourceHeldAfterHead is submitHeldAfterHead for the source src.
func submitSourceHeldAfterHead(t *testing.T, f *farmtest.Farm, src string) (wire.Job, heldProcess) {
	t.Helper()
	j := f.Submit(src, longJob)
	f.Eventually(time.Minute, "the split's head", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		if err != nil || len(job.Tasks) < 2 {
			return false, err
		}
		if job.Tasks[0].State == scheduler.StateDone {
			t.Fatalf("the split ended before its head was in")
		}
		return true, nil
	})
	return j, holdTaskProcess(t, j.ID+"-split")
}

// TestFarmPlayableBeforeSplitEnds: a 20-minute upload is playable — its
// master playlist published, playableAt set — while its split is still
// running, because the split reports the plan's head as soon as it has read
// the first chunk; the final ladder then has every frame, on segments of
// the planned length, with continuous timestamps.
func TestFarmPlayableBeforeSplitEnds(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	j, held := submitHeldAfterHead(t, f)
	waitPlayableWhileHeld(t, f, openStorage(t, f), j, nil)
	held.release()
	j = f.WaitJob(j.ID, 4*time.Minute)
	wantLongLadder(t, f, j)
	split := j.Tasks[0]
	if finished := split.Attempts[split.Winner-1].Finished; !j.PlayableAt.Before(finished) {
		t.Errorf("playable at %v, after the split finished at %v", j.PlayableAt, finished)
	}
}

// waitPlayableWhileHeld waits for the job to be playable — playableAt set,
// its master playlist published — and fails the test if its split ended
// first; more, when set, checks the output further.
func waitPlayableWhileHeld(t *testing.T, f *farmtest.Farm, s storage.Store, j wire.Job, more func(ctx context.Context, job wire.Job)) {
	t.Helper()
	f.Eventually(time.Minute, "the job playable", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		if err != nil || job.PlayableAt == nil {
			return false, err
		}
		if split := job.Tasks[0]; split.Kind != scheduler.KindSplit || split.State == scheduler.StateDone {
			t.Fatalf("the job became playable after its split ended (split %s %s)", split.ID, split.State)
		}
		if _, err := readObject(ctx, s, job.Output+"/master.m3u8"); err != nil {
			t.Fatalf("playable without a master playlist: %v", err)
		}
		if more != nil {
			more(ctx, job)
		}
		return true, nil
	})
}

// TestFarmLeaderFailoverAfterHead: the leader dies between the split's
// head and its completion; the new leader has the head's tasks, the split's
// completion adds the rest, and every chunk is encoded once into a whole
// ladder.
func TestFarmLeaderFailoverAfterHead(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 2})
	j, held := submitHeldAfterHead(t, f)
	old := f.Leader()
	old.Kill()
	f.WaitLeader(time.Minute)
	held.release()
	j = f.WaitJob(j.ID, 4*time.Minute)
	if now := f.Leader(); now == old {
		t.Fatalf("leader is still %s after it was killed", old.Name)
	}
	wantLongLadder(t, f, j)
	var chunks []int
	for _, task := range j.Tasks {
		if task.Kind == scheduler.KindEncode {
			chunks = append(chunks, task.Index)
		}
	}
	slices.Sort(chunks)
	// A 2 s first chunk, then 60 s chunks: 1 + 1198/60 rounded up.
	want := make([]int, 21)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(chunks, want) {
		t.Errorf("encode tasks of chunks %v, want each of 0..%d once", chunks, len(want)-1)
	}
}

// TestFarmSplitFailsAfterHead: the split's process dies after its head;
// the head's tasks stay, reading the chunk the failed attempt uploaded, the
// retried split reports no second head, and its completion adds the rest.
func TestFarmSplitFailsAfterHead(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	j, held := submitHeldAfterHead(t, f)
	held.kill()
	j = f.WaitJob(j.ID, 4*time.Minute)
	wantLongLadder(t, f, j)
	split := j.Tasks[0]
	if len(split.Attempts) != 2 || split.Attempts[0].State != scheduler.StateFailed || split.Winner != 2 {
		t.Errorf("split attempts %+v, want the first failed and the second the winner", split.Attempts)
	}
}

// wantLongLadder checks the long source's finished job: every task
// committed once, and its rung read through libav's HLS demuxer has every
// frame, on 2 s segments but the last, with continuous timestamps.
func wantLongLadder(t *testing.T, f *farmtest.Farm, j wire.Job) {
	t.Helper()
	dir := finishedOutput(t, f, j)
	playlist := filepath.Join(dir, "90p", "playlist.m3u8")
	p, err := hls.ParseMediaPlaylist(mustReadFile(t, playlist))
	if err != nil {
		t.Fatal(err)
	}
	for i, seg := range p.Segments {
		if i < len(p.Segments)-1 && math.Abs(seg.Duration-2) > 0.001 {
			t.Errorf("segment %d lasts %.3fs, want the planned 2s", i, seg.Duration)
		}
	}
	if len(p.Segments) != longMinutes*60/2 {
		t.Errorf("%d segments, want %d", len(p.Segments), longMinutes*60/2)
	}
	wantContinuous(t, playlist, longMinutes*60*longFPS, longFPS)
}

// wantContinuous reads a rung through libav's HLS demuxer: every frame of
// the source, one frame interval apart, from the start.
func wantContinuous(t *testing.T, playlist string, frames, fps int) {
	t.Helper()
	pts := packetTimes(t, playlist, "v:0")
	if len(pts) != frames {
		t.Errorf("%s has %d frames, want the source's %d", playlist, len(pts), frames)
	}
	slices.Sort(pts)
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; math.Abs(d-1/float64(fps)) > 0.002 {
			t.Errorf("%s: %.4fs between frames at %.3fs, want %.4fs", playlist, d, pts[i-1], 1/float64(fps))
			return
		}
	}
}

// packetTimes reads a playlist's stream (an ffprobe stream specifier)
// through libav's HLS demuxer and returns its packets' timestamps.
func packetTimes(t *testing.T, playlist, stream string) []float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", playlist).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", playlist, err)
	}
	var pts []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		v, err := strconv.ParseFloat(string(bytes.TrimRight(sc.Bytes(), ",")), 64)
		if err != nil {
			t.Fatalf("ffprobe %s: pts %q", playlist, sc.Text())
		}
		pts = append(pts, v)
	}
	return pts
}

// heldProcess is a task process stopped by holdTaskProcess.
type heldProcess struct{ pid int }

// holdTaskProcess stops the agent's task process of the task (SIGSTOP); it
// goes on at the end of the test at the latest.
func holdTaskProcess(t *testing.T, task string) heldProcess {
	t.Helper()
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range cmdlines {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte("run-task\x00")) || !bytes.Contains(b, []byte("/"+task+"-a")) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("hold the process of %s: %v", task, err)
		}
		h := heldProcess{pid: pid}
		t.Cleanup(h.release)
		return h
	}
	t.Fatalf("no task process of %s", task)
	return heldProcess{}
}

// release lets the process go on.
func (h heldProcess) release() { _ = syscall.Kill(h.pid, syscall.SIGCONT) }

// kill ends the process as a crash would.
func (h heldProcess) kill() { _ = syscall.Kill(h.pid, syscall.SIGKILL) }
