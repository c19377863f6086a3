package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestFarmAV1 runs a job with AV1 rungs on two agents. The job publishes its
// H.264 ladder and ends as it would without AV1, before any AV1 task is
// leased; its AV1 job then encodes the AV1 rungs and adds them to the master
// playlist and the DASH manifest, with CODECS read from their bitstreams.
// The AV1 rungs decode, with the H.264 rungs' segment count and durations,
// and every file the ladder names survives both jobs' clean-ups.
func TestFarmAV1(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(4, 640, 360, 15, true))
	j := f.Submit(src, wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{360, 240}, Segments: "fmp4", AV1: "all"})
	j = f.WaitJob(j.ID, 3*time.Minute)
	if j.State != scheduler.JobDone {
		t.Fatalf("job %s is %s (%s), want done", j.ID, j.State, j.Error)
	}
	if j.AV1Job != scheduler.AV1JobID(j.ID) {
		t.Fatalf("job's AV1 job %q, want %q", j.AV1Job, scheduler.AV1JobID(j.ID))
	}
	// The H.264 ladder was published when the job became playable, or, for
	// a job so quick that its stitch came first, when the stitch ended.
	published := publishedAt(t, j)
	av1 := f.WaitJob(j.AV1Job, 5*time.Minute)
	if av1.State != scheduler.JobDone || av1.Parent != j.ID {
		t.Fatalf("AV1 job %s (%s) of parent %q, want done of %s", av1.State, av1.Error, av1.Parent, j.ID)
	}
	wantCommittedOnce(t, av1)

	// The H.264 ladder was published before any AV1 task was leased.
	var av1Tasks int
	for _, task := range av1.Tasks {
		if task.Kind != scheduler.KindEncodeAV1 {
			t.Errorf("AV1 job's task %s is %s", task.ID, task.Kind)
		}
		av1Tasks++
		for _, a := range task.Attempts {
			if a.Started.Before(published) {
				t.Errorf("AV1 task %s leased at %s, before the H.264 ladder was published at %s", task.ID, a.Started, published)
			}
		}
	}
	if av1Tasks != 2*j.ChunksTotal {
		t.Errorf("%d AV1 tasks, want 2 rungs × %d chunks", av1Tasks, j.ChunksTotal)
	}

	// Both jobs' clean-ups: the job's waits for its AV1 job, whose tasks
	// read its chunk sources.
	waitCollected(f, j.ID, av1.ID)
	s := openStorage(t, f)
	if left, err := s.List(context.Background(), "jobs/"+j.ID+"/"); err != nil || len(left) > 0 {
		t.Errorf("chunk sources left after both clean-ups: %d (%v)", len(left), err)
	}
	dir := fetchOutput(t, s, j.Output)

	master, err := hls.ParseMasterPlaylist(mustReadFile(t, filepath.Join(dir, layout.MasterPlaylist)))
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, v := range master.Variants {
		uris = append(uris, v.URI)
		if strings.HasSuffix(filepath.Dir(v.URI), "-av1") != strings.HasPrefix(v.Codecs[0], "av01.") {
			t.Errorf("variant %s has CODECS %v", v.URI, v.Codecs)
		}
	}
	if want := []string{"360p/playlist.m3u8", "240p/playlist.m3u8", "360p-av1/playlist.m3u8", "240p-av1/playlist.m3u8"}; !slices.Equal(uris, want) {
		t.Fatalf("master variants %v, want %v", uris, want)
	}
	m, err := hls.ParseDASHManifest(mustReadFile(t, filepath.Join(dir, layout.DASHManifest)))
	if err != nil {
		t.Fatal(err)
	}
	var av1Reps int
	for _, set := range m.Sets {
		for _, r := range set.Representations {
			if strings.HasPrefix(r.Codecs, "av01.") {
				av1Reps++
			}
			for _, uri := range append([]string{r.Init}, segmentURIs(r)...) {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(uri))); err != nil {
					t.Errorf("manifest names %s: %v", uri, err)
				}
			}
		}
	}
	if m.Dynamic || av1Reps != 2 {
		t.Errorf("manifest dynamic %v with %d AV1 representations, want static with 2", m.Dynamic, av1Reps)
	}

	for _, rung := range []string{"360p", "240p"} {
		h264 := mediaPlaylist(t, dir, rung)
		av1 := mediaPlaylist(t, dir, rung+"-av1")
		if len(av1.Segments) != len(h264.Segments) || av1.Map == "" {
			t.Fatalf("%s-av1: %d segments (init %q), %s: %d", rung, len(av1.Segments), av1.Map, rung, len(h264.Segments))
		}
		for i := range av1.Segments {
			if d, want := av1.Segments[i].Duration, h264.Segments[i].Duration; d != want {
				t.Errorf("%s-av1 segment %d lasts %v, the H.264 one %v", rung, i, d, want)
			}
		}
		if codec, frames := decodeRung(t, filepath.Join(dir, rung+"-av1"), av1); codec != "av1" || frames != 60 {
			t.Errorf("%s-av1 decodes as %s with %d frames, want av1 with the source's 60", rung, codec, frames)
		}
	}
}

// waitCollected waits until the jobs' clean-ups are recorded.
func waitCollected(f *farmtest.Farm, ids ...string) {
	f.Eventually(time.Minute, "jobs collected", func(ctx context.Context) (bool, error) {
		for _, id := range ids {
			job, err := f.Client().Job(ctx, id)
			if err != nil || job.CollectedAt == nil {
				return false, err
			}
		}
		return true, nil
	})
}

// publishedAt is when a done job's H.264 ladder was first published: when
// it became playable, else when its stitch task committed.
func publishedAt(t *testing.T, j wire.Job) time.Time {
	t.Helper()
	if j.PlayableAt != nil {
		return *j.PlayableAt
	}
	for _, task := range j.Tasks {
		if task.Kind == scheduler.KindStitch && task.Winner > 0 {
			return task.Attempts[task.Winner-1].Finished
		}
	}
	t.Fatalf("job %s was neither playable nor stitched", j.ID)
	return time.Time{}
}

func mediaPlaylist(t *testing.T, dir, rung string) *hls.MediaPlaylist {
	t.Helper()
	pl, err := hls.ParseMediaPlaylist(mustReadFile(t, filepath.Join(dir, rung, layout.MediaPlaylist)))
	if err != nil {
		t.Fatalf("%s: %v", rung, err)
	}
	return pl
}

// decodeRung joins an fMP4 rung's init and segments into one file and
// decodes it with ffprobe: its codec and the frames that decoded.
func decodeRung(t *testing.T, dir string, pl *hls.MediaPlaylist) (codec string, frames int) {
	t.Helper()
	data := mustReadFile(t, filepath.Join(dir, pl.Map))
	for _, s := range pl.Segments {
		data = append(data, mustReadFile(t, filepath.Join(dir, s.URI))...)
	}
	joined := filepath.Join(t.TempDir(), "rung.mp4")
	if err := os.WriteFile(joined, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
		"-of", "csv=p=0", joined).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", dir, err, out)
	}
	return strings.TrimSpace(string(out)), countFrames(t, joined)
}

// TestFarmAV1WithoutAV1Agents: with no agent advertising the AV1 encoder,
// the job publishes its H.264 ladder and ends done as without AV1, and its
// AV1 job fails after the coordinator's --av1-agent-wait with a reason
// that names the encoder, instead of waiting for ever; the ladder stays
// H.264 only and both clean-ups run.
func TestFarmAV1WithoutAV1Agents(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2,
		AgentArgs: []string{"--av1=false"}, CoordinatorArgs: []string{"--av1-agent-wait=2s"}})
	src := testmedia.Generate(t, testmedia.CFR(3, 320, 240, 15, true))
	j := f.Submit(src, wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{240}, AV1: "all"})
	j = f.WaitJob(j.ID, 2*time.Minute)
	if j.State != scheduler.JobDone || j.AV1Job == "" {
		t.Fatalf("job %s (%s) with AV1 job %q, want done with one", j.State, j.Error, j.AV1Job)
	}
	av1 := f.WaitJob(j.AV1Job, time.Minute)
	if av1.State != scheduler.JobFailed || !strings.Contains(av1.Error, "libsvtav1") {
		t.Fatalf("AV1 job %s (%q), want failed naming libsvtav1", av1.State, av1.Error)
	}
	for _, task := range av1.Tasks {
		if len(task.Attempts) > 0 {
			t.Errorf("AV1 task %s was leased to an agent without AV1: %+v", task.ID, task.Attempts)
		}
	}
	waitCollected(f, j.ID, av1.ID)
	s := openStorage(t, f)
	dir := fetchOutput(t, s, j.Output)
	master, err := hls.ParseMasterPlaylist(mustReadFile(t, filepath.Join(dir, layout.MasterPlaylist)))
	if err != nil {
		t.Fatal(err)
	}
	if len(master.Variants) != 1 || master.Variants[0].URI != "240p/playlist.m3u8" {
		t.Errorf("master variants %+v, want the H.264 240p alone", master.Variants)
	}
	if got := countFrames(t, filepath.Join(dir, "240p", layout.MediaPlaylist)); got != 45 {
		t.Errorf("240p has %d frames, want the source's 45", got)
	}
}

// TestFarmAddAV1 adds AV1 rungs to a done job submitted without them (the
// farm's part of AV1 by popularity): its AV1 job splits the source again,
// since the job's chunks were collected, and adds the AV1 rung to the
// published ladder. A job of MPEG-TS segments is refused.
func TestFarmAddAV1(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(3, 320, 240, 15, true))
	opts := wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{240}}
	j := f.Submit(src, opts)
	opts.Segments = "ts"
	ts := f.Submit(src, opts)
	j, ts = f.WaitJob(j.ID, 2*time.Minute), f.WaitJob(ts.ID, 2*time.Minute)
	if j.State != scheduler.JobDone || j.AV1Job != "" {
		t.Fatalf("job %s (%s) with AV1 job %q, want done without", j.State, j.Error, j.AV1Job)
	}
	waitCollected(f, j.ID)
	ctx := context.Background()
	if _, err := f.Client().AddAV1(ctx, ts.ID); err == nil || !strings.Contains(err.Error(), "fMP4") {
		t.Errorf("AV1 for an MPEG-TS job: %v, want a refusal naming fMP4", err)
	}
	av1, err := f.Client().AddAV1(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client().AddAV1(ctx, j.ID); err == nil {
		t.Error("a second AV1 job for the same job was accepted")
	}
	if av1 = f.WaitJob(av1.ID, 3*time.Minute); av1.State != scheduler.JobDone || av1.Parent != j.ID {
		t.Fatalf("AV1 job %s (%s) of %q, want done of %s", av1.State, av1.Error, av1.Parent, j.ID)
	}
	waitCollected(f, av1.ID)
	s := openStorage(t, f)
	if left, err := s.List(ctx, "jobs/"+av1.ID+"/"); err != nil || len(left) > 0 {
		t.Errorf("the AV1 job's chunk sources left after its clean-up: %d (%v)", len(left), err)
	}
	dir := fetchOutput(t, s, j.Output)
	master, err := hls.ParseMasterPlaylist(mustReadFile(t, filepath.Join(dir, layout.MasterPlaylist)))
	if err != nil {
		t.Fatal(err)
	}
	if len(master.Variants) != 2 || master.Variants[1].URI != "240p-av1/playlist.m3u8" || !strings.HasPrefix(master.Variants[1].Codecs[0], "av01.") {
		t.Fatalf("master variants %+v, want 240p then 240p-av1 with an av01 CODECS", master.Variants)
	}
	pl := mediaPlaylist(t, dir, "240p-av1")
	if h264 := mediaPlaylist(t, dir, "240p"); len(pl.Segments) != len(h264.Segments) {
		t.Errorf("240p-av1 has %d segments, 240p %d", len(pl.Segments), len(h264.Segments))
	}
	if codec, frames := decodeRung(t, filepath.Join(dir, "240p-av1"), pl); codec != "av1" || frames != 45 {
		t.Errorf("240p-av1 decodes as %s with %d frames, want av1 with the source's 45", codec, frames)
	}
}
