package cluster_test

import (
	"context"
	"math"
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
	"github.com/sunomi/sunomi/storage"
)

// audioMinutes is the length of the farm's upload with audio: as long as
// the long source, so that its split is still reading when the test holds
// it.
const audioMinutes = longMinutes

// TestFarmAudioPlayableBeforeSplitEnds: an upload with an audio track is
// playable — its master playlist published, its audio playlist with a
// segment — while its split is still held mid-file, because the head adds
// the audio up to the first chunk's end; the final audio rendition, the
// head's part then the rest's parts, read through libav's HLS demuxer, has
// continuous timestamps and lasts as long as the source, within one AAC
// frame.
func TestFarmAudioPlayableBeforeSplitEnds(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(audioMinutes*60, 160, 90, longFPS, true))
	j, held := submitSourceHeldAfterHead(t, f, src)
	s := openStorage(t, f)
	waitPlayableWhileHeld(t, f, s, j, func(ctx context.Context, job wire.Job) {
		b, err := readObject(ctx, s, job.Output+"/audio/playlist.m3u8")
		if err != nil {
			t.Fatalf("playable without an audio playlist: %v", err)
		}
		p, err := hls.ParseMediaPlaylist(b)
		if err != nil || len(p.Segments) == 0 {
			t.Fatalf("playable with an audio playlist of no segment (%v):\n%s", err, b)
		}
	})
	held.release()
	j = f.WaitJob(j.ID, 4*time.Minute)
	if j.State != scheduler.JobDone {
		t.Fatalf("job %s is %s (%s), want done", j.ID, j.State, j.Error)
	}
	wantCommittedOnce(t, j)
	// The head's part, then the rest in parts of a minute on the 60 s
	// chunks' ends, the last from 1142 s: 0..20.
	if parts := audioParts(j); len(parts) != audioMinutes+1 || parts[len(parts)-1].Index != audioMinutes {
		t.Errorf("%d audio tasks, want the head's part and the rest's %d parts", len(parts), audioMinutes)
	}
	// The parts' own fMP4 init segments are not published (the head's
	// serves every part): the job's clean-up deletes them.
	waitTemporariesGone(t, f, s, j)
	f.Eventually(20*time.Second, "the parts' init segments collected", func(ctx context.Context) (bool, error) {
		objs, err := s.List(ctx, j.Output+"/audio/")
		return err == nil && !slices.ContainsFunc(objs, func(o storage.Info) bool {
			return strings.Contains(o.Key, "/p") && strings.HasSuffix(o.Key, "init.mp4")
		}), err
	})
	dir := fetchOutput(t, s, j.Output)
	wantContinuousAudio(t, filepath.Join(dir, "audio", "playlist.m3u8"), audioMinutes*60)
}

// audioParts lists a job's audio tasks by part.
func audioParts(j wire.Job) []wire.Task {
	var parts []wire.Task
	for _, task := range j.Tasks {
		if task.Kind == scheduler.KindAudio {
			parts = append(parts, task)
		}
	}
	slices.SortFunc(parts, func(a, b wire.Task) int { return a.Index - b.Index })
	return parts
}

// progressiveAudioMinutes is the length of the upload whose audio is
// published part by part: four parts of the rest, on its 60 s chunks' ends.
const progressiveAudioMinutes = 4

// TestFarmAudioPublishedByParts: the rest of the audio is encoded in parts
// on the chunks' ends, and each part done in order publishes more of the
// audio playlist at once — a player finds segments past the head's while the
// last part is still to be done, instead of waiting for the whole track.
// (Parts run side by side: the last to be done may be any of them.) The
// final audio rendition has continuous timestamps, lasts as long as the
// source, and its segments start with the video's, within one AAC frame.
func TestFarmAudioPublishedByParts(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	seconds := progressiveAudioMinutes * 60
	j := f.Submit(testmedia.Generate(t, testmedia.CFR(seconds, 160, 90, longFPS, true)), longJob)
	s := openStorage(t, f)
	var grown int // segments in the audio playlist seen before every part was done
	f.Eventually(3*time.Minute, "the audio playlist grown before every part is done", func(ctx context.Context) (bool, error) {
		// The playlist first, then the job: a playlist read before the
		// parts are seen done was published before they were.
		b, err := readObject(ctx, s, j.Output+"/audio/playlist.m3u8")
		if err != nil {
			return false, nil // not published yet
		}
		p, err := hls.ParseMediaPlaylist(b)
		if err != nil {
			return false, err
		}
		job, err := f.Client().Job(ctx, j.ID)
		if err != nil {
			return false, err
		}
		parts := audioParts(job)
		if !slices.ContainsFunc(parts, func(p wire.Task) bool { return p.State != scheduler.StateDone }) {
			t.Fatalf("every audio part is done and the audio playlist has %d segments: it did not grow before", len(p.Segments))
		}
		grown = len(p.Segments)
		return len(parts) > 1 && grown > 1 && p.Type == hls.PlaylistEvent, nil
	})
	j = f.WaitJob(j.ID, 4*time.Minute)
	if parts := audioParts(j); len(parts) != progressiveAudioMinutes+1 {
		t.Errorf("%d audio tasks, want the head's part and the rest's %d parts", len(parts), progressiveAudioMinutes)
	}
	dir := finishedOutput(t, f, j)
	video := filepath.Join(dir, "90p", "playlist.m3u8")
	wantContinuous(t, video, seconds*longFPS, longFPS)
	audio := filepath.Join(dir, "audio", "playlist.m3u8")
	wantContinuousAudio(t, audio, float64(seconds))
	vp, err := hls.ParseMediaPlaylist(mustReadFile(t, video))
	if err != nil {
		t.Fatal(err)
	}
	ap, err := hls.ParseMediaPlaylist(mustReadFile(t, audio))
	if err != nil {
		t.Fatal(err)
	}
	if ap.Type != hls.PlaylistVOD || len(ap.Segments) != len(vp.Segments) || len(ap.Segments) <= grown {
		t.Fatalf("final audio playlist: %s with %d segments, want VOD with the video's %d (more than the %d seen growing)",
			ap.Type, len(ap.Segments), len(vp.Segments), grown)
	}
	// A segment starts with the first AAC frame at or after the video's
	// segment (the first also holds the encoder's priming frame, before
	// time zero); EXTINF's microseconds add up to less than a millisecond.
	const frame = 1024.0 / 48000
	audioAt, videoAt := -frame, 0.0
	for i := range ap.Segments {
		if d := audioAt - videoAt; i > 0 && (d < -1e-3 || d > frame+1e-3) {
			t.Errorf("audio segment %d starts at %.6f s, the video's at %.6f s: want within one AAC frame", i, audioAt, videoAt)
		}
		audioAt += ap.Segments[i].Duration
		videoAt += vp.Segments[i].Duration
	}
}

// wantContinuousAudio reads the audio rendition through libav's HLS
// demuxer: AAC frames one after the other, lasting the source's seconds
// within one frame.
func wantContinuousAudio(t *testing.T, playlist string, seconds float64) {
	t.Helper()
	const frame = 1024.0 / 48000
	pts := packetTimes(t, playlist, "a:0")
	// The first frame is the encoder's priming, before time zero.
	if got := float64(len(pts)-1) * frame; math.Abs(got-seconds) > frame {
		t.Errorf("%s: %d AAC frames, %.4fs of sound; want the source's %.0fs within one frame", playlist, len(pts), got, seconds)
	}
	slices.Sort(pts)
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; math.Abs(d-frame) > 1e-4 {
			t.Errorf("%s: %.6fs between AAC frames at %.3fs, want %.6fs", playlist, d, pts[i-1], frame)
			return
		}
	}
}
