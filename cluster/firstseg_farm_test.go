package cluster_test

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestFarmShortFirstSegment: a farm job of the default 4 s segments cuts
// its first segment at 2 s in every rung and in the audio, every later
// segment 4 s after the one before; each rendition, read through libav's
// HLS demuxer, has every frame, continuous, and every playlist announces
// the 4 s target.
func TestFarmShortFirstSegment(t *testing.T) {
	skipShort(t)
	const seconds, fps = 13, 25
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(seconds, 640, 360, fps, true))
	j := f.Submit(src, wire.JobOptions{Chunk: "8s", Rungs: []int{360, 240}})
	j = f.WaitJob(j.ID, 3*time.Minute)
	wantPublished(t, f, j, seconds*fps)
	dir := finishedOutput(t, f, j)
	// 2 s, then 4 s segments from 2 s: 2, 4, 4 and the last 3 s.
	want := []float64{2, 4, 4, 3}
	for _, rung := range []string{"360p", "240p"} {
		playlist := filepath.Join(dir, rung, layout.MediaPlaylist)
		wantSegmentLengths(t, playlist, want, 1.0/fps)
		wantContinuous(t, playlist, seconds*fps, fps)
	}
	const aacFrame = 1024.0 / 48000
	playlist := filepath.Join(dir, layout.AudioDir, layout.MediaPlaylist)
	// An audio segment starts on the AAC frame at or after its boundary,
	// and the first also holds the encoder's priming frame.
	wantSegmentLengths(t, playlist, want, 2*aacFrame)
	pts := packetTimes(t, playlist, "a:0")
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; math.Abs(d-aacFrame) > 1e-4 {
			t.Fatalf("%s: %.5fs between AAC frames at %.3fs, want %.5fs", playlist, d, pts[i-1], aacFrame)
		}
	}
}

// wantSegmentLengths checks a playlist's EXTINFs against want, within tol,
// and that it announces the longest as its target.
func wantSegmentLengths(t *testing.T, playlist string, want []float64, tol float64) {
	t.Helper()
	p, err := hls.ParseMediaPlaylist(mustReadFile(t, playlist))
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, s := range p.Segments {
		got = append(got, s.Duration)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: segments of %v s, want %v s", playlist, got, want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Errorf("%s: segments of %v s, want %v s (within %.3f s)", playlist, got, want, tol)
			break
		}
	}
	if target := int(slices.Max(want)); p.TargetDuration != target {
		t.Errorf("%s: EXT-X-TARGETDURATION %d, want %d", playlist, p.TargetDuration, target)
	}
}
