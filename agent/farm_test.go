package agent

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/segmenter"
	"github.com/sunomi/sunomi/storage/layout"
)

// completeOf waits for the next report and requires a completion.
func completeOf(t *testing.T, f *fakeCoordinator) *wire.Complete {
	t.Helper()
	rep := f.next(t, 2*time.Minute)
	if rep.complete == nil {
		t.Fatalf("got %s, want complete", rep)
	}
	return rep.complete
}

func outputNames(c *wire.Complete) []string {
	var names []string
	for _, o := range c.Outputs {
		names = append(names, o.Name)
	}
	return names
}

// TestFarmTasksThroughTaskProcesses runs a whole job's tasks — split, every
// chunk's encode, audio, stitch — through the agent, its task processes and
// the fake coordinator's storage, wiring each task's inputs to the outputs
// of the tasks before it as the coordinator does.
func TestFarmTasksThroughTaskProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes media")
	}
	src := testmedia.Generate(t, testmedia.CFR(4, 320, 240, 30, true))
	f := newFakeCoordinator(t)
	// A realistic memory limit must leave room for real tasks.
	startAgent(t, f, func(c *Config) { c.Slots, c.MemoryLimit = 2, 4<<30 })

	opts := media.Options{Segment: 2 * time.Second, Chunk: 2 * time.Second, Encoder: media.EncoderX264,
		Rungs: []media.RungSpec{{Short: 240, MaxBitrate: 400_000}}}
	split := wire.Assignment{Task: "j-split", Attempt: 1, Job: "j", Kind: scheduler.KindSplit,
		Spec:   jsonOf(t, media.SplitSpec{Options: opts}),
		Inputs: map[string]string{media.SplitInput: f.fileURL("source.mp4", src)}, MediaSeconds: 4}
	f.add(split)
	done := completeOf(t, f)
	var job media.SplitResult
	if err := json.Unmarshal(done.Result, &job); err != nil {
		t.Fatal(err)
	}
	if len(job.Chunks) != 2 || job.Audio == nil || job.Video == nil {
		t.Fatalf("split planned %d chunks, audio %v, video %v; want 2 chunks, audio and video", len(job.Chunks), job.Audio != nil, job.Video != nil)
	}
	wantSplitOutputs := []string{job.Audio.Source, job.Chunks[0].Source, job.Chunks[1].Source}
	// The head's files (chunk 0 and the audio up to its end) are the split's outputs too.
	f.mu.Lock()
	for _, h := range f.heads {
		for _, o := range h.head.Outputs {
			if !slices.Contains(wantSplitOutputs, o.Name) {
				wantSplitOutputs = append(wantSplitOutputs, o.Name)
			}
		}
	}
	f.mu.Unlock()
	slices.Sort(wantSplitOutputs)
	if got := outputNames(done); !slices.Equal(got, wantSplitOutputs) {
		t.Errorf("split outputs %v, want the chunks, the audio track and the head's files %v", got, wantSplitOutputs)
	}
	splitRef := refOf(split)

	// Encode tasks and the audio task read the split's outputs.
	var tasks []wire.Assignment
	for i, c := range job.Chunks {
		// Later attempts write under their own names, whatever the split planned.
		tasks = append(tasks, wire.Assignment{Task: fmt.Sprintf("j-e%05d", i), Attempt: i + 1, Job: "j", Kind: scheduler.KindEncode,
			Spec:         jsonOf(t, media.EncodeSpec{Chunk: c, Video: *job.Video}),
			Inputs:       map[string]string{c.Source: f.objectURL(splitRef, c.Source)},
			MediaSeconds: c.Chunk.End - c.Chunk.Start})
	}
	tasks = append(tasks, wire.Assignment{Task: "j-audio", Attempt: 3, Job: "j", Kind: scheduler.KindAudio,
		Spec: jsonOf(t, job.Audio), Inputs: map[string]string{job.Audio.Source: f.objectURL(splitRef, job.Audio.Source)},
		MediaSeconds: job.Probe.Duration})
	f.add(tasks...)
	chunks := make([]*media.ChunkResult, len(job.Chunks))
	var audio *media.AudioResult
	spec := media.StitchSpec{Split: done.Result, Chunks: make([]json.RawMessage, len(job.Chunks))}
	for range tasks {
		c := completeOf(t, f)
		if c.Task == "j-audio" {
			spec.Audio = c.Result
			if err := json.Unmarshal(c.Result, &audio); err != nil {
				t.Fatal(err)
			}
			for _, n := range outputNames(c) {
				if ext := filepath.Ext(n); (ext == ".ts" || ext == ".m4s" || ext == ".mp4") && !strings.HasPrefix(n, "audio/a3_") {
					t.Errorf("audio attempt 3 wrote %s, want audio/a3_…", n)
				}
			}
			continue
		}
		var res media.ChunkResult
		if err := json.Unmarshal(c.Result, &res); err != nil {
			t.Fatal(err)
		}
		chunks[res.Index], spec.Chunks[res.Index] = &res, c.Result
		for _, r := range res.Rungs {
			for _, seg := range r.Files {
				if !slices.Contains(outputNames(c), seg.File) {
					t.Errorf("%s: segment %s not among the outputs %v", c.Task, seg.File, outputNames(c))
				}
				if want := fmt.Sprintf("_a%d_", c.Attempt); !strings.Contains(seg.File, want) {
					t.Errorf("%s attempt %d wrote segment %s, want a name with %s", c.Task, c.Attempt, seg.File, want)
				}
			}
		}
		// Progress: an estimate at the start, the frame count at the end.
		ps := f.progressOf(c.AttemptRef)
		if len(ps) < 2 || ps[0].FramesDone != 0 || ps[len(ps)-1].FramesDone != int64(res.Frames) || res.Frames != 60 {
			t.Errorf("%s: progress %+v for %d frames; want 0 of about 60 first and %d of %d last", c.Task, ps, res.Frames, res.Frames, res.Frames)
		} else if est := ps[0].FramesTotal; est < 55 || est > 65 {
			t.Errorf("%s: estimated %d frames, want about 60", c.Task, est)
		}
	}

	// The stitch task gets the encodes' thumbnails and posters and the
	// audio's speech track as inputs, which the agent places in its output
	// directory.
	results := media.Results{Split: &job, Chunks: chunks, Audio: audio}
	inputs := map[string]string{}
	for i, c := range chunks {
		ref := refOf(tasks[i])
		for _, th := range c.Thumbnails {
			inputs[th.File] = f.objectURL(ref, th.File)
		}
		if c.Poster != nil {
			inputs[c.Poster.File] = f.objectURL(ref, c.Poster.File)
		}
	}
	if audio.Speech != nil {
		inputs[audio.Speech.File] = f.objectURL(refOf(tasks[len(tasks)-1]), audio.Speech.File)
	}
	if len(inputs) != len(results.Inputs()) || len(inputs) == 0 {
		t.Fatalf("stitch inputs %v, want the %d the results name", inputs, len(results.Inputs()))
	}
	f.add(wire.Assignment{Task: "j-stitch", Attempt: 1, Job: "j", Kind: scheduler.KindStitch, Spec: jsonOf(t, spec),
		Inputs: inputs, MediaSeconds: job.Probe.Duration})
	c := completeOf(t, f)
	var out pipeline.Output
	if err := json.Unmarshal(c.Result, &out); err != nil {
		t.Fatal(err)
	}
	names := outputNames(c)
	for _, want := range []string{"master.m3u8", "240p/playlist.m3u8", "audio/playlist.m3u8", layout.StoryboardImage, layout.StoryboardVTT,
		layout.PHashFile, layout.SpeechFile} {
		if !slices.Contains(names, want) {
			t.Errorf("stitch outputs %v lack %s", names, want)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "thumbs/") || strings.HasSuffix(n, "_16k.wav") {
			t.Errorf("stitch uploaded its input %s", n)
		}
	}
	master, _ := f.object(c.AttemptRef, "master.m3u8")
	if !strings.Contains(string(master), "240p/playlist.m3u8") || out.Duration < 3.9 || out.Duration > 4.1 {
		t.Errorf("master playlist %q, duration %.3f s; want the 240p rung and 4 s", master, out.Duration)
	}
}

// TestSplitReportsItsHead: a split task's process reports the plan's head
// while it reads on; the agent uploads the head's first chunk, posts the
// head before the completion, and the completion lists the chunk again
// without uploading it twice.
func TestSplitReportsItsHead(t *testing.T) {
	if testing.Short() {
		t.Skip("splits media")
	}
	src := testmedia.Generate(t, testmedia.CFR(60, 160, 90, 30, true))
	f := newFakeCoordinator(t)
	startAgent(t, f, func(c *Config) { c.Slots = 1 })
	opts := media.Options{Segment: 2 * time.Second, Chunk: 10 * time.Second, FirstChunk: 2 * time.Second}
	split := wire.Assignment{Task: "j-split", Attempt: 2, Job: "j", Kind: scheduler.KindSplit,
		Spec:   jsonOf(t, media.SplitSpec{Options: opts}),
		Inputs: map[string]string{media.SplitInput: f.fileURL("source.mp4", src)}, MediaSeconds: 60}
	f.add(split)
	done := completeOf(t, f)
	f.mu.Lock()
	heads, puts := slices.Clone(f.heads), maps.Clone(f.puts)
	f.mu.Unlock()
	if len(heads) != 1 {
		t.Fatalf("%d heads reported, want one", len(heads))
	}
	h := heads[0]
	var head media.SplitResult
	if err := json.Unmarshal(h.head.Result, &head); err != nil {
		t.Fatal(err)
	}
	// The source has audio: the head uploads its start too.
	if h.head.AttemptRef != refOf(split) || len(head.Chunks) != 1 || len(h.head.Outputs) != 2 || h.head.Outputs[0].Name != head.Chunks[0].Source ||
		head.Audio == nil || h.head.Outputs[1].Name != head.Audio.Source {
		t.Fatalf("head %+v of %d chunks, want attempt 2's with chunk 0 and its file, and the audio's start", h.head, len(head.Chunks))
	}
	chunk0 := h.head.Outputs[0]
	if int64(len(h.stored)) != chunk0.Size || chunk0.Size == 0 {
		t.Errorf("chunk 0 was %d bytes in storage when the head came, want its %d", len(h.stored), chunk0.Size)
	}
	if i := slices.IndexFunc(done.Outputs, func(o wire.Object) bool { return o.Name == chunk0.Name }); i < 0 || done.Outputs[i] != chunk0 {
		t.Errorf("completion outputs %v, want %+v among them", done.Outputs, chunk0)
	}
	if n := puts["j-split/2/"+chunk0.Name]; n != 1 {
		t.Errorf("chunk 0 uploaded %d times, want once", n)
	}
	var job media.SplitResult
	if err := json.Unmarshal(done.Result, &job); err != nil {
		t.Fatal(err)
	}
	if len(job.Chunks) != 7 || job.Chunks[0].Chunk != head.Chunks[0].Chunk || !reflect.DeepEqual(job.Video, head.Video) {
		t.Errorf("split of %d chunks, first %+v, video %+v; want 7, the head's %+v and %+v", len(job.Chunks), job.Chunks[0].Chunk, job.Video, head.Chunks[0].Chunk, head.Video)
	}
}

// TestInvalidSourceFailsPermanently runs a real split task on a file that
// is not media: the pipeline's reason comes back as a permanent failure.
func TestInvalidSourceFailsPermanently(t *testing.T) {
	f := newFakeCoordinator(t)
	startAgent(t, f, nil)
	f.add(wire.Assignment{Task: "j-split", Attempt: 1, Job: "j", Kind: scheduler.KindSplit, Spec: jsonOf(t, media.SplitSpec{}),
		Inputs: map[string]string{media.SplitInput: f.fileURL("text.mp4", testmedia.TextFile(t))}})
	rep := f.next(t, time.Minute)
	if rep.fail == nil || !rep.fail.Permanent || !strings.HasPrefix(rep.fail.Error, segmenter.ErrInvalidMedia.Error()+": ") {
		t.Errorf("got %s, want a permanent failure saying the media is invalid", rep)
	}
}

// faststart is CFR with its index first, as uploads from phones and
// editors mostly are (and the farm benchmark's sources): its head can be
// cut from its first bytes.
func faststart(seconds int) testmedia.Spec {
	s := testmedia.CFR(seconds, 160, 90, 30, true)
	s.Name += "-faststart"
	s.Remux = []string{"-c", "copy", "-movflags", "+faststart"}
	return s
}

// TestStalledSourceDownloadReleasesTheSplit: a download that stops
// moving is given up by the stall watchdog, try after try, and the split
// waiting for its bytes fails with the stall as its reason.
func TestStalledSourceDownloadReleasesTheSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("splits media")
	}
	was := stallTimeout
	stallTimeout = 300 * time.Millisecond
	t.Cleanup(func() { stallTimeout = was })
	f, split, _ := heldSplit(t, false) // never released
	rep := f.next(t, time.Minute)
	if rep.fail == nil || rep.ref() != refOf(split) || rep.fail.Error != `download input "source": no data for 300ms` {
		t.Fatalf("got %s, want the split failed with the stall", rep)
	}
}

// heldSplit starts an agent and a split of a faststart source whose
// download stops halfway until release is called (see fakeCoordinator.hold).
func heldSplit(t *testing.T, broken bool) (f *fakeCoordinator, split wire.Assignment, release func()) {
	t.Helper()
	src := testmedia.Generate(t, faststart(60))
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	f = newFakeCoordinator(t)
	release = f.hold("source.mp4", st.Size()/2, broken)
	t.Cleanup(release)
	startAgent(t, f, func(c *Config) { c.Slots = 1 })
	opts := media.Options{Segment: 2 * time.Second, Chunk: 10 * time.Second, FirstChunk: 2 * time.Second}
	split = wire.Assignment{Task: "j-split", Attempt: 1, Job: "j", Kind: scheduler.KindSplit,
		Spec:   jsonOf(t, media.SplitSpec{Options: opts}),
		Inputs: map[string]string{media.SplitInput: f.fileURL("source.mp4", src)}, MediaSeconds: 60}
	f.add(split)
	testkit.WaitFor(t, time.Minute, "the split's head while half its source is held back", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.heads) > 0
	})
	return f, split, release
}

// TestSplitReadsItsSourceWhileItDownloads: the split reports its head
// while the second half of its source has not arrived, and completes with
// the whole source's plan once it has.
func TestSplitReadsItsSourceWhileItDownloads(t *testing.T) {
	if testing.Short() {
		t.Skip("splits media")
	}
	f, _, release := heldSplit(t, false)
	f.noReport(t, 300*time.Millisecond) // no completion from half a source
	release()
	done := completeOf(t, f)
	var job media.SplitResult
	if err := json.Unmarshal(done.Result, &job); err != nil {
		t.Fatal(err)
	}
	if len(job.Chunks) != 7 || job.Probe.Duration < 59.9 || job.Probe.Duration > 60.1 {
		t.Errorf("split of %d chunks over %.3f s, want 7 over the whole 60 s", len(job.Chunks), job.Probe.Duration)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.heads) != 1 {
		t.Errorf("%d heads reported, want one", len(f.heads))
	}
}

// TestSourceDownloadFailingAfterTheHead: a download that breaks after the
// head was reported fails the attempt with the download's reason — no
// second head, no completion from half a source.
func TestSourceDownloadFailingAfterTheHead(t *testing.T) {
	if testing.Short() {
		t.Skip("splits media")
	}
	f, split, release := heldSplit(t, true)
	release()
	rep := f.next(t, time.Minute)
	if rep.fail == nil || rep.ref() != refOf(split) || rep.fail.Permanent ||
		rep.fail.Error != `download input "source": HTTP 403: Request has expired` {
		t.Fatalf("got %s, want the split failed (not permanently) with the download's reason", rep)
	}
	f.noReport(t, 300*time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.heads) != 1 {
		t.Errorf("%d heads reported, want one", len(f.heads))
	}
}
