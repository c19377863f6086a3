package segmenter

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// rescale converts ts from time base from to time base to, rounding to nearest.
func rescale(ts int64, from, to media.Rational) int64 {
	r := new(big.Rat).SetFrac(
		new(big.Int).Mul(big.NewInt(ts), big.NewInt(int64(from.Num)*int64(to.Den))),
		big.NewInt(int64(from.Den)*int64(to.Num)))
	f, _ := r.Float64()
	if f < 0 {
		return -int64(-f + 0.5)
	}
	return int64(f + 0.5)
}

func TestExtract(t *testing.T) {
	skipShort(t)
	tests := []struct {
		spec           testmedia.Spec
		segment, chunk time.Duration
		wantChunks     int
	}{
		// Keyframes at 0 and 20 s: every chunk needs pre-roll from a
		// keyframe far before its start, and most end past their end.
		{testmedia.LongGOP(30), 4 * time.Second, 8 * time.Second, 4},
		{testmedia.CFR(12, 320, 240, 30, true), time.Second, 2 * time.Second, 6},
		// MPEG-TS: time base 1/90000 and a non-zero origin.
		{testmedia.CFRTS(6, 320, 240, 30, true), time.Second, 2 * time.Second, 3},
		{testmedia.VFR(5), time.Second, 2 * time.Second, 3},
		{testmedia.NoAudio(3), time.Second, time.Second, 3},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			t.Parallel()
			src := testmedia.Generate(t, tt.spec)
			p := probe(t, src)
			plan, err := PlanChunks(p.Video, tt.segment, tt.chunk)
			if err != nil {
				t.Fatalf("PlanChunks error: %v", err)
			}
			if got := len(plan.Chunks); got != tt.wantChunks {
				t.Fatalf("plan has %d chunks, want %d", got, tt.wantChunks)
			}
			dir := t.TempDir()
			out, err := Extract(context.Background(), src, p, plan, dir)
			if err != nil {
				t.Fatalf("Extract error: %v", err)
			}
			if got, want := out.VideoShift, media.DurationToPTS(ExtractShift, p.Video.TimeBase); got != want {
				t.Errorf("VideoShift = %d, want ExtractShift in the video time base %d", got, want)
			}
			wantChunkFiles(t, src, p, plan, out)
			wantAudioFile(t, p, out, dir)
		})
	}
}

// wantChunkFiles decodes every chunk file and checks that, keeping the frames
// with StartPTS <= pts < EndPTS of each, the chunks give back every source
// frame exactly once.
func wantChunkFiles(t *testing.T, src string, p *media.Probe, plan media.Plan, out media.Extracted) {
	t.Helper()
	if len(out.Chunks) != len(plan.Chunks) {
		t.Fatalf("Extract wrote %d chunk files, want %d", len(out.Chunks), len(plan.Chunks))
	}
	owner := map[int64][]int{} // frame pts (plan time base) → chunks that keep it
	for i, c := range plan.Chunks {
		path := out.Chunks[i]
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Fatalf("chunk %d: file %s: %v, want a non-empty file", i, path, err)
		}
		streams, format := ffprobeStreams(t, path)
		if format.FormatName != "nut" {
			t.Errorf("chunk %d: format = %q, want nut", i, format.FormatName)
		}
		if len(streams) != 1 || streams[0].CodecType != "video" || streams[0].CodecName != p.Video.Codec {
			t.Fatalf("chunk %d: streams = %+v, want one %s video stream", i, streams, p.Video.Codec)
		}
		// The time base is checked by TestExtractKeepsTimeBase; here frames
		// are compared whatever it is.
		tb := parseTimeBase(t, streams[0].TimeBase)
		var decoded []int64
		for _, pts := range ffprobeFramePTS(t, path, false) {
			decoded = append(decoded, rescale(pts, tb, plan.TimeBase)-out.VideoShift)
		}
		if len(decoded) == 0 {
			t.Fatalf("chunk %d: no frame decodes", i)
		}
		// Decoding starts at the keyframe the plan names.
		if decoded[0] != c.SourceStartPTS {
			t.Errorf("chunk %d: first decoded frame at %d, want SourceStartPTS %d", i, decoded[0], c.SourceStartPTS)
		}
		kept := 0
		for _, pts := range decoded {
			if c.Contains(pts) {
				owner[pts] = append(owner[pts], i)
				kept++
			}
		}
		if kept == 0 {
			t.Errorf("chunk %d: no decoded frame in [%d, %d)", i, c.StartPTS, c.EndPTS)
		}
	}
	source := ffprobeFramePTS(t, src, false)
	for _, pts := range source {
		if got := owner[pts]; len(got) != 1 {
			t.Errorf("source frame at %d is kept by chunks %v, want exactly one", pts, got)
		}
		delete(owner, pts)
	}
	for pts, chunks := range owner {
		t.Errorf("chunks %v keep a frame at %d that the source does not have", chunks, pts)
	}
}

// wantAudioFile checks that the whole audio track was copied when there is one.
func wantAudioFile(t *testing.T, p *media.Probe, out media.Extracted, dir string) {
	t.Helper()
	path := filepath.Join(dir, "audio.nut")
	if p.Audio == nil {
		if out.Audio != "" {
			t.Errorf("Audio = %q, want none for a source without audio", out.Audio)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stat %s: %v, want no file", path, err)
		}
		return
	}
	if out.Audio != path {
		t.Errorf("Audio = %q, want %q", out.Audio, path)
	}
	if got, want := out.AudioShift, media.DurationToPTS(ExtractShift, p.Audio.TimeBase); got != want {
		t.Errorf("AudioShift = %d, want ExtractShift in the audio time base %d", got, want)
	}
	streams, _ := ffprobeStreams(t, path)
	if len(streams) != 1 || streams[0].CodecType != "audio" || streams[0].CodecName != p.Audio.Codec {
		t.Fatalf("audio.nut streams = %+v, want one %s audio stream", streams, p.Audio.Codec)
	}
	a := streams[0]
	if n, _ := strconv.Atoi(a.NbReadPacket); n != p.Audio.Packets {
		t.Errorf("audio.nut has %d packets, want the source's %d", n, p.Audio.Packets)
	}
	// Compare on the source's time base, within one tick of the file's.
	tb := parseTimeBase(t, a.TimeBase)
	start := rescale(a.StartPTS, tb, p.Audio.TimeBase) - out.AudioShift
	tick := max(rescale(1, tb, p.Audio.TimeBase), 1)
	if d := start - p.Audio.StartPTS; d < -tick || d > tick {
		t.Errorf("audio.nut starts at %d (%v) = %d in the source time base less the shift, want the source's %d",
			a.StartPTS, tb, start, p.Audio.StartPTS)
	}
}

func TestExtractCanceled(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, testmedia.Tiny())
	p := probe(t, src)
	plan, err := PlanChunks(p.Video, time.Second, time.Second)
	if err != nil {
		t.Fatalf("PlanChunks error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Extract(ctx, src, p, plan, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("Extract(canceled) error = %v, want context.Canceled", err)
	}
}

// TestExtractSharedKeyframe checks chunks that share one source keyframe
// range: with a 20 s GOP and 4 s chunks, five chunks are all cut from the
// same keyframe, and each must still start there.
func TestExtractSharedKeyframe(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, testmedia.LongGOP(30))
	p := probe(t, src)
	plan, err := PlanChunks(p.Video, 4*time.Second, 4*time.Second)
	if err != nil {
		t.Fatalf("PlanChunks error: %v", err)
	}
	var starts []int64
	for _, c := range plan.Chunks {
		starts = append(starts, c.SourceStartPTS)
	}
	k := p.Video.Keyframes
	if want := []int64{k[0], k[0], k[0], k[0], k[0], k[1], k[1], k[1]}; !slices.Equal(starts, want) {
		t.Fatalf("SourceStartPTS = %v, want %v", starts, want)
	}
	out, err := Extract(context.Background(), src, p, plan, t.TempDir())
	if err != nil {
		t.Fatalf("Extract error: %v", err)
	}
	wantChunkFiles(t, src, p, plan, out)
}

// TestExtractKeepsTimeBase checks what extractFormat promises: NUT may pick a
// finer time base than the source's, but every source tick stays a whole
// number of chunk ticks, so no video timestamp is rounded; the audio file
// counts in samples.
func TestExtractKeepsTimeBase(t *testing.T) {
	skipShort(t)
	tests := []testmedia.Spec{
		testmedia.CFR(3, 320, 240, 30, true),   // mp4: video 1/15360, audio 1/48000
		testmedia.CFRTS(3, 320, 240, 30, true), // mpegts: both 1/90000
		testmedia.NonSquarePixels(3),           // mp4 at 29.97 fps: video 1/30000
		testmedia.Interlaced(3),                // mpegts with mp2 audio
	}
	for _, spec := range tests {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			src := testmedia.Generate(t, spec)
			p := probe(t, src)
			plan, err := PlanChunks(p.Video, time.Second, 2*time.Second)
			if err != nil {
				t.Fatalf("PlanChunks error: %v", err)
			}
			out, err := Extract(context.Background(), src, p, plan, t.TempDir())
			if err != nil {
				t.Fatalf("Extract error: %v", err)
			}
			for i, path := range out.Chunks {
				streams, _ := ffprobeStreams(t, path)
				got, src := parseTimeBase(t, streams[0].TimeBase), p.Video.TimeBase
				// One source tick (src.Num/src.Den) must be n chunk ticks (got.Num/got.Den).
				if n, d := int64(src.Num)*int64(got.Den), int64(src.Den)*int64(got.Num); n%d != 0 {
					t.Errorf("chunk %d: time base = %v, not an exact refinement of the source video's %v", i, got, src)
				}
			}
			streams, _ := ffprobeStreams(t, out.Audio)
			want := media.Rational{Num: 1, Den: p.Audio.SampleRate}
			if got := parseTimeBase(t, streams[0].TimeBase); got != p.Audio.TimeBase && got != want {
				t.Errorf("audio.nut: time base = %v, want the source audio's %v or %v", got, p.Audio.TimeBase, want)
			}
		})
	}
}
