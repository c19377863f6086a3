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
// head's part then the rest's, read through libav's HLS demuxer, has
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
	var audio []scheduler.TaskKind
	for _, task := range j.Tasks {
		if task.Kind == scheduler.KindAudio {
			audio = append(audio, task.Kind)
		}
	}
	if len(audio) != 2 {
		t.Errorf("%d audio tasks, want the head's part and the rest", len(audio))
	}
	// The rest's own fMP4 init segment is not published (the head's serves
	// both parts): the job's clean-up deletes it.
	waitTemporariesGone(t, f, s, j)
	f.Eventually(20*time.Second, "the rest's init segment collected", func(ctx context.Context) (bool, error) {
		objs, err := s.List(ctx, j.Output+"/audio/")
		return err == nil && !slices.ContainsFunc(objs, func(o storage.Info) bool {
			return strings.Contains(o.Key, "/p1_") && strings.HasSuffix(o.Key, "init.mp4")
		}), err
	})
	dir := fetchOutput(t, s, j.Output)
	wantContinuousAudio(t, filepath.Join(dir, "audio", "playlist.m3u8"), audioMinutes*60)
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
