package segmenter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/media"
)

// stream describes a synthetic video stream for the planner: frame timestamps
// (presentation order) and which of them are keyframes.
type stream struct {
	v      media.VideoStream
	frames []int64
}

// ticks converts seconds, given as the fraction num/den, to the nearest tick of tb.
func ticks(num, den int64, tb media.Rational) int64 {
	r := new(big.Rat).SetFrac(big.NewInt(num*int64(tb.Den)), big.NewInt(den*int64(tb.Num)))
	f, _ := r.Float64()
	return int64(math.Round(f))
}

// cfrStream builds a constant-rate stream of n frames at fps (fpsNum/fpsDen)
// in time base tb, starting at origin, with a keyframe every keyEvery frames.
func cfrStream(tb media.Rational, fpsNum, fpsDen int64, n int, origin int64, keyEvery int) stream {
	var s stream
	for i := range n {
		s.frames = append(s.frames, origin+ticks(int64(i)*fpsDen, fpsNum, tb))
	}
	frameDur := ticks(fpsDen, fpsNum, tb)
	s.v = newStream(tb, s.frames, frameDur, func(i int) bool { return i%keyEvery == 0 })
	return s
}

// newStream fills in what ProbeFile would report for these frames.
func newStream(tb media.Rational, frames []int64, lastDur int64, key func(i int) bool) media.VideoStream {
	v := media.VideoStream{
		TimeBase:  tb,
		OriginPTS: frames[0],
		LastPTS:   frames[len(frames)-1],
		EndPTS:    frames[len(frames)-1] + lastDur,
		Frames:    len(frames),
	}
	for i, pts := range frames {
		if key(i) {
			v.Keyframes = append(v.Keyframes, pts)
		}
	}
	v.KeyCount = len(v.Keyframes)
	return v
}

// checkPlan verifies the invariants every plan must hold for the stream's frames.
func checkPlan(t *testing.T, s stream, p media.Plan, segment time.Duration) {
	t.Helper()
	v := s.v
	if p.TimeBase != v.TimeBase || p.OriginPTS != v.OriginPTS || p.Segment != segment {
		t.Errorf("plan time base, origin, segment = %v, %d, %s; want %v, %d, %s",
			p.TimeBase, p.OriginPTS, p.Segment, v.TimeBase, v.OriginPTS, segment)
	}
	if len(p.Chunks) == 0 {
		t.Fatalf("plan has no chunks")
	}
	if got := p.SegmentOf(v.LastPTS); got != p.Segments-1 {
		t.Errorf("last frame is in segment %d, want the last segment %d", got, p.Segments-1)
	}
	keys := slices.Sorted(slices.Values(v.Keyframes))
	nextSeg := 0
	for i, c := range p.Chunks {
		if c.Index != i {
			t.Errorf("chunk %d: Index = %d, want %d", i, c.Index, i)
		}
		if c.FirstSegment != nextSeg || c.Segments < 1 {
			t.Errorf("chunk %d: FirstSegment, Segments = %d, %d; want %d, ≥1", i, c.FirstSegment, c.Segments, nextSeg)
		}
		nextSeg = c.FirstSegment + c.Segments
		if want := p.BoundaryPTS(c.FirstSegment); c.StartPTS != want {
			t.Errorf("chunk %d: StartPTS = %d, want boundary %d", i, c.StartPTS, want)
		}
		if got, want := c.Start, v.Seconds(c.StartPTS); got != want {
			t.Errorf("chunk %d: Start = %v s, want %v s", i, got, want)
		}
		last := i == len(p.Chunks)-1
		if last {
			if c.EndPTS != media.NoEnd || c.SourceEndPTS != media.NoEnd {
				t.Errorf("last chunk: EndPTS, SourceEndPTS = %d, %d; want media.NoEnd", c.EndPTS, c.SourceEndPTS)
			}
			if got, want := c.End, v.Seconds(v.EndPTS); got != want {
				t.Errorf("last chunk: End = %v s, want the stream's end %v s", got, want)
			}
		} else {
			if want := p.BoundaryPTS(c.FirstSegment + c.Segments); c.EndPTS != want {
				t.Errorf("chunk %d: EndPTS = %d, want boundary %d", i, c.EndPTS, want)
			}
			if next := p.Chunks[i+1]; c.EndPTS != next.StartPTS {
				t.Errorf("chunk %d ends at %d but chunk %d starts at %d", i, c.EndPTS, i+1, next.StartPTS)
			}
			if got, want := c.End, v.Seconds(c.EndPTS); got != want {
				t.Errorf("chunk %d: End = %v s, want %v s", i, got, want)
			}
			// Every chunk but the last is the plan's chunk length; only the
			// first may be shorter (PlanChunksFirst).
			if full := int(p.Chunk / p.Segment); c.Segments != full && (i > 0 || c.Segments > full) {
				t.Errorf("chunk %d has %d segments, want the plan's %d", i, c.Segments, full)
			}
		}
		// Extraction starts at the last keyframe at or before the start and
		// stops at the first keyframe at or after the end.
		wantSrcStart := keys[0]
		for _, k := range keys {
			if k <= c.StartPTS {
				wantSrcStart = k
			}
		}
		if c.SourceStartPTS != wantSrcStart {
			t.Errorf("chunk %d: SourceStartPTS = %d, want keyframe %d (at or before %d)", i, c.SourceStartPTS, wantSrcStart, c.StartPTS)
		}
		if !last {
			wantSrcEnd := int64(media.NoEnd)
			for _, k := range slices.Backward(keys) {
				if k >= c.EndPTS {
					wantSrcEnd = k
				}
			}
			if c.SourceEndPTS != wantSrcEnd {
				t.Errorf("chunk %d: SourceEndPTS = %d, want %d (first keyframe at or after %d)", i, c.SourceEndPTS, wantSrcEnd, c.EndPTS)
			}
		}
	}
	if nextSeg != p.Segments {
		t.Errorf("chunks cover %d segments, want %d", nextSeg, p.Segments)
	}
	for _, pts := range s.frames {
		var in []int
		for _, c := range p.Chunks {
			if c.Contains(pts) {
				in = append(in, c.Index)
			}
		}
		if len(in) != 1 {
			t.Errorf("frame at %d is in chunks %v, want exactly one", pts, in)
		}
	}
}

func TestPlanChunks(t *testing.T) {
	tb15360 := media.Rational{Num: 1, Den: 15360}
	tb90k := media.Rational{Num: 1, Den: 90000}
	tests := []struct {
		name             string
		stream           stream
		segment, chunk   time.Duration
		wantChunk        time.Duration
		wantSegments     []int   // per chunk
		wantStarts       []int64 // StartPTS per chunk
		wantSourceStarts []int64 // nil: not checked beyond checkPlan
		wantSourceEnds   []int64
	}{
		{
			// 60 s: boundaries at 0, 4, …, 56 s give 15 segments.
			name:         "cfr 30fps 60s tb 1/15360",
			stream:       cfrStream(tb15360, 30, 1, 1800, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4, 4, 4, 3},
			wantStarts:   []int64{0, 16 * 15360, 32 * 15360, 48 * 15360},
		},
		{
			name:         "29.97fps 60s tb 1/90000",
			stream:       cfrStream(tb90k, 30000, 1001, 1798, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4, 4, 4, 3},
			wantStarts:   []int64{0, 16 * 90000, 32 * 90000, 48 * 90000},
		},
		{
			name:         "29.97fps 60s tb 1/1000",
			stream:       cfrStream(media.Rational{Num: 1, Den: 1000}, 30000, 1001, 1798, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4, 4, 4, 3},
			wantStarts:   []int64{0, 16000, 32000, 48000},
		},
		{
			name:         "29.97fps 60s tb 1/30000",
			stream:       cfrStream(media.Rational{Num: 1, Den: 30000}, 30000, 1001, 1798, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4, 4, 4, 3},
			wantStarts:   []int64{0, 16 * 30000, 32 * 30000, 48 * 30000},
		},
		{
			// Keyframes at 0, 20 and 40 s: chunks ignore them, extraction
			// ranges follow them.
			name:             "long GOP 20s",
			stream:           cfrStream(tb15360, 30, 1, 1800, 0, 600),
			segment:          4 * time.Second,
			chunk:            16 * time.Second,
			wantChunk:        16 * time.Second,
			wantSegments:     []int{4, 4, 4, 3},
			wantStarts:       []int64{0, 16 * 15360, 32 * 15360, 48 * 15360},
			wantSourceStarts: []int64{0, 0, 20 * 15360, 40 * 15360},
			wantSourceEnds:   []int64{20 * 15360, 40 * 15360, media.NoEnd, media.NoEnd},
		},
		{
			// A keyframe exactly on a chunk boundary is both the end of one
			// chunk's source and the start of the next one's.
			name:             "keyframe on a boundary",
			stream:           cfrStream(tb15360, 30, 1, 1800, 0, 480),
			segment:          4 * time.Second,
			chunk:            16 * time.Second,
			wantChunk:        16 * time.Second,
			wantSegments:     []int{4, 4, 4, 3},
			wantStarts:       []int64{0, 16 * 15360, 32 * 15360, 48 * 15360},
			wantSourceStarts: []int64{0, 16 * 15360, 32 * 15360, 48 * 15360},
			wantSourceEnds:   []int64{16 * 15360, 32 * 15360, 48 * 15360, media.NoEnd},
		},
		{
			// 17 s: the last frame (16.967 s) opens a fifth segment.
			name:         "17s last chunk has one segment",
			stream:       cfrStream(tb15360, 30, 1, 510, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4, 1},
			wantStarts:   []int64{0, 16 * 15360},
		},
		{
			// 481 frames: the last one sits exactly on the 16 s boundary and
			// must not be lost.
			name:         "last frame on a boundary",
			stream:       cfrStream(tb15360, 30, 1, 481, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4, 1},
			wantStarts:   []int64{0, 16 * 15360},
		},
		{
			// 480 frames: the last frame is at 15.967 s, before the boundary.
			name:         "exactly 16s",
			stream:       cfrStream(tb15360, 30, 1, 480, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{4},
			wantStarts:   []int64{0},
		},
		{
			name:             "tiny 2s",
			stream:           cfrStream(tb15360, 30, 1, 60, 0, 250),
			segment:          4 * time.Second,
			chunk:            16 * time.Second,
			wantChunk:        16 * time.Second,
			wantSegments:     []int{1},
			wantStarts:       []int64{0},
			wantSourceStarts: []int64{0},
			wantSourceEnds:   []int64{media.NoEnd},
		},
		{
			name:         "single frame",
			stream:       cfrStream(tb15360, 30, 1, 1, 0, 250),
			segment:      4 * time.Second,
			chunk:        16 * time.Second,
			wantChunk:    16 * time.Second,
			wantSegments: []int{1},
			wantStarts:   []int64{0},
		},
		{
			name:         "chunk 9s rounds to 8s",
			stream:       cfrStream(tb15360, 30, 1, 1800, 0, 250),
			segment:      4 * time.Second,
			chunk:        9 * time.Second,
			wantChunk:    8 * time.Second,
			wantSegments: []int{2, 2, 2, 2, 2, 2, 2, 1},
			wantStarts:   []int64{0, 8 * 15360, 16 * 15360, 24 * 15360, 32 * 15360, 40 * 15360, 48 * 15360, 56 * 15360},
		},
		{
			name:         "chunk 10s rounds to 8s",
			stream:       cfrStream(tb15360, 30, 1, 1800, 0, 250),
			segment:      4 * time.Second,
			chunk:        10 * time.Second,
			wantChunk:    8 * time.Second,
			wantSegments: []int{2, 2, 2, 2, 2, 2, 2, 1},
			wantStarts:   []int64{0, 8 * 15360, 16 * 15360, 24 * 15360, 32 * 15360, 40 * 15360, 48 * 15360, 56 * 15360},
		},
		{
			name:         "chunk shorter than segment",
			stream:       cfrStream(tb15360, 30, 1, 360, 0, 250),
			segment:      4 * time.Second,
			chunk:        time.Second,
			wantChunk:    4 * time.Second,
			wantSegments: []int{1, 1, 1},
			wantStarts:   []int64{0, 4 * 15360, 8 * 15360},
		},
		{
			// MPEG-TS timestamps start at 1.4 s: boundaries count from there.
			name:         "mpegts origin 126000",
			stream:       cfrStream(tb90k, 30, 1, 600, 126000, 250),
			segment:      4 * time.Second,
			chunk:        8 * time.Second,
			wantChunk:    8 * time.Second,
			wantSegments: []int{2, 2, 1},
			wantStarts:   []int64{126000, 126000 + 8*90000, 126000 + 16*90000},
		},
		{
			name:         "segment 2s chunk 6s",
			stream:       cfrStream(media.Rational{Num: 1, Den: 12800}, 25, 1, 500, 0, 50),
			segment:      2 * time.Second,
			chunk:        6 * time.Second,
			wantChunk:    6 * time.Second,
			wantSegments: []int{3, 3, 3, 1},
			wantStarts:   []int64{0, 6 * 12800, 12 * 12800, 18 * 12800},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanChunks(&tt.stream.v, tt.segment, tt.chunk)
			if err != nil {
				t.Fatalf("PlanChunks error: %v", err)
			}
			if p.Chunk != tt.wantChunk {
				t.Errorf("Chunk = %s, want %s", p.Chunk, tt.wantChunk)
			}
			var segs []int
			var starts []int64
			for _, c := range p.Chunks {
				segs = append(segs, c.Segments)
				starts = append(starts, c.StartPTS)
			}
			if !slices.Equal(segs, tt.wantSegments) {
				t.Errorf("segments per chunk = %v, want %v", segs, tt.wantSegments)
			}
			if !slices.Equal(starts, tt.wantStarts) {
				t.Errorf("chunk StartPTS = %v, want %v", starts, tt.wantStarts)
			}
			if tt.wantSourceStarts != nil {
				var got []int64
				for _, c := range p.Chunks {
					got = append(got, c.SourceStartPTS)
				}
				if !slices.Equal(got, tt.wantSourceStarts) {
					t.Errorf("SourceStartPTS = %v, want %v", got, tt.wantSourceStarts)
				}
			}
			if tt.wantSourceEnds != nil {
				var got []int64
				for _, c := range p.Chunks {
					got = append(got, c.SourceEndPTS)
				}
				if !slices.Equal(got, tt.wantSourceEnds) {
					t.Errorf("SourceEndPTS = %v, want %v", got, tt.wantSourceEnds)
				}
			}
			checkPlan(t, tt.stream, p, tt.segment)
		})
	}
}

// TestPlanChunksIgnoresGOP checks that where keyframes are changes where
// chunks are extracted from, never where they start or end.
func TestPlanChunksIgnoresGOP(t *testing.T) {
	tb := media.Rational{Num: 1, Den: 15360}
	ref, err := PlanChunks(ptr(cfrStream(tb, 30, 1, 1800, 0, 60).v), 4*time.Second, 16*time.Second)
	if err != nil {
		t.Fatalf("PlanChunks error: %v", err)
	}
	for _, keyEvery := range []int{1, 48, 250, 600, 1799, 1800} {
		t.Run(fmt.Sprintf("keyframe every %d frames", keyEvery), func(t *testing.T) {
			s := cfrStream(tb, 30, 1, 1800, 0, keyEvery)
			p, err := PlanChunks(&s.v, 4*time.Second, 16*time.Second)
			if err != nil {
				t.Fatalf("PlanChunks error: %v", err)
			}
			if got, want := len(p.Chunks), len(ref.Chunks); got != want {
				t.Fatalf("chunks = %d, want %d", got, want)
			}
			for i, c := range p.Chunks {
				r := ref.Chunks[i]
				if c.StartPTS != r.StartPTS || c.EndPTS != r.EndPTS || c.Segments != r.Segments {
					t.Errorf("chunk %d = [%d, %d) %d segments, want [%d, %d) %d segments",
						i, c.StartPTS, c.EndPTS, c.Segments, r.StartPTS, r.EndPTS, r.Segments)
				}
			}
			checkPlan(t, s, p, 4*time.Second)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestPlanChunksErrors(t *testing.T) {
	s := cfrStream(media.Rational{Num: 1, Den: 15360}, 30, 1, 300, 0, 250)
	tests := []struct {
		name           string
		segment, chunk time.Duration
	}{
		{"zero segment", 0, 16 * time.Second},
		{"negative segment", -4 * time.Second, 16 * time.Second},
		{"segment 99ms", 99 * time.Millisecond, 16 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanChunks(&s.v, tt.segment, tt.chunk)
			if err == nil {
				t.Fatalf("PlanChunks(segment %s) = %d chunks, want an error", tt.segment, len(p.Chunks))
			}
			if !strings.Contains(err.Error(), "too short") {
				t.Errorf("error = %q, want it to say the segment is too short", err)
			}
		})
	}
	t.Run("100ms is allowed", func(t *testing.T) {
		p, err := PlanChunks(&s.v, 100*time.Millisecond, time.Second)
		if err != nil {
			t.Fatalf("PlanChunks(100ms) error: %v", err)
		}
		if got, want := p.Segments, 100; got != want {
			t.Errorf("segments = %d, want %d", got, want)
		}
		checkPlan(t, s, p, 100*time.Millisecond)
	})
}

// vfrStream builds a phone-like stream: 30 fps with jitter, a stretch of
// dropped frames and an occasional long stall, and irregular keyframes.
func vfrStream(rng *rand.Rand, tb media.Rational, origin int64, seconds float64) stream {
	var frames []int64
	var keys []bool
	for t := 0.0; t < seconds; {
		frames = append(frames, origin+int64(math.Round(t*float64(tb.Den)/float64(tb.Num))))
		keys = append(keys, len(frames) == 1 || rng.IntN(90) == 0)
		iv := 1/30.0 + (rng.Float64()-0.5)*0.008
		switch r := rng.IntN(100); {
		case r < 20:
			iv *= 2 // a dropped frame
		case r == 99:
			iv = 0.5 // a stall
		}
		t += iv
	}
	s := stream{frames: frames}
	s.v = newStream(tb, frames, int64(math.Round(float64(tb.Den)/30/float64(tb.Num))), func(i int) bool { return keys[i] })
	s.v.VFR = true
	return s
}

// TestPlanChunksEveryFrameOnce is the planner's invariant over many generated
// streams: every frame between the origin and the last frame falls in
// exactly one chunk, and chunk edges are segment boundaries.
func TestPlanChunksEveryFrameOnce(t *testing.T) {
	timeBases := []media.Rational{{Num: 1, Den: 90000}, {Num: 1, Den: 15360}, {Num: 1, Den: 1000}, {Num: 1, Den: 30000}, {Num: 1001, Den: 30000}, {Num: 1, Den: 600}}
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 0x5e9))
		tb := timeBases[int(seed)%len(timeBases)]
		origin := []int64{0, 126000, 1, -1024}[rng.IntN(4)]
		seconds := 0.5 + rng.Float64()*70
		segment := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 6 * time.Second, 2500 * time.Millisecond}[rng.IntN(5)]
		chunk := time.Duration(rng.IntN(30)+1) * time.Second
		s := vfrStream(rng, tb, origin, seconds)
		t.Run(fmt.Sprintf("seed%d_tb%d:%d_seg%s_chunk%s", seed, tb.Num, tb.Den, segment, chunk), func(t *testing.T) {
			p, err := PlanChunks(&s.v, segment, chunk)
			if err != nil {
				t.Fatalf("PlanChunks error: %v", err)
			}
			checkPlan(t, s, p, segment)
		})
	}
}

func TestDurationToPTS(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		tb   media.Rational
		want int64
	}{
		{"4s at 1/90000", 4 * time.Second, media.Rational{Num: 1, Den: 90000}, 360000},
		{"4s at 1/15360", 4 * time.Second, media.Rational{Num: 1, Den: 15360}, 61440},
		{"4s at 1/1000", 4 * time.Second, media.Rational{Num: 1, Den: 1000}, 4000},
		{"4s at 1001/30000 rounds", 4 * time.Second, media.Rational{Num: 1001, Den: 30000}, 120},            // 119.88
		{"4000s at 1001/30000 is exact", 4000 * time.Second, media.Rational{Num: 1001, Den: 30000}, 119880}, // 119880.12, not 1000×120
		{"half a tick rounds up", 1500 * time.Microsecond, media.Rational{Num: 1, Den: 1000}, 2},
		{"just under half rounds down", 1499 * time.Microsecond, media.Rational{Num: 1, Den: 1000}, 1},
		{"zero", 0, media.Rational{Num: 1, Den: 90000}, 0},
		{"12h at 1/90000", 12 * time.Hour, media.Rational{Num: 1, Den: 90000}, 12 * 3600 * 90000},
		{"1000h at 1/90000", 1000 * time.Hour, media.Rational{Num: 1, Den: 90000}, 1000 * 3600 * 90000},
		{"12h at 1/1000000", 12 * time.Hour, media.Rational{Num: 1, Den: 1000000}, 12 * 3600 * 1000000},
		// int64(d)*Den overflows int64 here; the exact value is 830103483316929.8.
		{"max duration at 1/90000", math.MaxInt64, media.Rational{Num: 1, Den: 90000}, 830103483316930},
		{"negative", -4 * time.Second, media.Rational{Num: 1, Den: 90000}, -360000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := media.DurationToPTS(tt.d, tt.tb); got != tt.want {
				t.Errorf("DurationToPTS(%s, %v) = %d, want %d", tt.d, tt.tb, got, tt.want)
			}
		})
	}
}

func TestBoundaryPTS(t *testing.T) {
	tests := []struct {
		name string
		plan media.Plan
		n    int
		want int64
	}{
		{"first", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}}, 0, 0},
		{"origin counts", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}, 3, 126000 + 3*360000},
		{"12h at 1/90000", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}, 10800, 126000 + 12*3600*90000},
		// Boundaries are rounded from the exact multiple, so rounding never
		// accumulates: 1000 segments of 4 s at 1001/30000 are 119880 ticks.
		{"no accumulated rounding", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1001, Den: 30000}}, 1000, 119880},
		{"29.97 tb 1/90000", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}}, 7, 7 * 360000},
		// A short first segment moves every later boundary back by what it lacks.
		{"short first: segment 0", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}, 0, 126000},
		{"short first: segment 1", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}, 1, 126000 + 2*90000},
		{"short first: segment 3", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}, 3, 126000 + 10*90000},
		{"short first: 12h", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}}, 10800, (12*3600 - 2) * 90000},
		{"short first at 1001/30000", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1001, Den: 30000}}, 1000, 119820},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.BoundaryPTS(tt.n); got != tt.want {
				t.Errorf("BoundaryPTS(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

func TestSegmentOf(t *testing.T) {
	plans := []struct {
		name string
		plan media.Plan
	}{
		{"1/90000 origin 0", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}}},
		{"1/90000 origin 126000", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}},
		{"1/15360", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1, Den: 15360}}},
		{"1001/30000", media.Plan{Segment: 4 * time.Second, TimeBase: media.Rational{Num: 1001, Den: 30000}}},
		{"1/1000 segment 2.5s", media.Plan{Segment: 2500 * time.Millisecond, TimeBase: media.Rational{Num: 1, Den: 1000}}},
		{"1/25 segment 1s origin -2", media.Plan{Segment: time.Second, TimeBase: media.Rational{Num: 1, Den: 25}, OriginPTS: -2}},
		{"short first 1/90000 origin 126000", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1, Den: 90000}, OriginPTS: 126000}},
		{"short first 1001/30000", media.Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, TimeBase: media.Rational{Num: 1001, Den: 30000}}},
		{"short first 1/1000 of 2.5s", media.Plan{Segment: 2500 * time.Millisecond, FirstSegment: 700 * time.Millisecond, TimeBase: media.Rational{Num: 1, Den: 1000}}},
	}
	for _, pp := range plans {
		t.Run(pp.name, func(t *testing.T) {
			p := pp.plan
			// 12 h of 4 s segments is 10800 of them; test both sides of a
			// spread of boundaries, the largest far beyond 2^32 ticks.
			for _, n := range []int{1, 2, 3, 10, 999, 1000, 1001, 10799, 10800, 10801, 100000} {
				b := p.BoundaryPTS(n)
				if got := p.SegmentOf(b); got != n {
					t.Errorf("SegmentOf(boundary %d = %d) = %d, want %d", n, b, got, n)
				}
				if got := p.SegmentOf(b - 1); got != n-1 {
					t.Errorf("SegmentOf(boundary %d - 1 = %d) = %d, want %d", n, b-1, got, n-1)
				}
				if got := p.SegmentOf(b + 1); got != n {
					t.Errorf("SegmentOf(boundary %d + 1 = %d) = %d, want %d", n, b+1, got, n)
				}
			}
			if got := p.SegmentOf(p.OriginPTS); got != 0 {
				t.Errorf("SegmentOf(origin) = %d, want 0", got)
			}
			if got := p.SegmentOf(p.OriginPTS - 1000); got != 0 {
				t.Errorf("SegmentOf(before origin) = %d, want 0", got)
			}
		})
	}
}

func TestChunkContains(t *testing.T) {
	c := media.Chunk{StartPTS: 100, EndPTS: 200}
	last := media.Chunk{StartPTS: 200, EndPTS: media.NoEnd}
	tests := []struct {
		name  string
		chunk media.Chunk
		pts   int64
		want  bool
	}{
		{"start is inside", c, 100, true},
		{"before start", c, 99, false},
		{"end is outside", c, 200, false},
		{"just before end", c, 199, true},
		{"last chunk runs to the end", last, math.MaxInt64 - 1, true},
		{"last chunk starts at its start", last, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.chunk.Contains(tt.pts); got != tt.want {
				t.Errorf("Contains(%d) = %v, want %v", tt.pts, got, tt.want)
			}
		})
	}
}

func TestPlanChunksFirst(t *testing.T) {
	tb := media.Rational{Num: 1, Den: 15360}
	tests := []struct {
		name          string
		first         time.Duration
		wantSegments  []int
		wantFirstSecs float64
	}{
		{"one-segment first chunk", 4 * time.Second, []int{1, 4, 4, 4, 2}, 4},
		{"first as long as the others", 16 * time.Second, []int{4, 4, 4, 3}, 16},
		{"first longer than the others is capped", 32 * time.Second, []int{4, 4, 4, 3}, 16},
		{"first shorter than a segment is one segment", time.Second, []int{1, 4, 4, 4, 2}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cfrStream(tb, 30, 1, 1800, 0, 60) // 60 s at 30 fps
			p, err := PlanChunksFirst(&s.v, 4*time.Second, 16*time.Second, tt.first)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, s, p, 4*time.Second)
			var got []int
			for _, c := range p.Chunks {
				got = append(got, c.Segments)
			}
			if !slices.Equal(got, tt.wantSegments) {
				t.Errorf("segments per chunk = %v, want %v", got, tt.wantSegments)
			}
			if got := p.Chunks[0].End; got != tt.wantFirstSecs {
				t.Errorf("first chunk ends at %v s, want %v", got, tt.wantFirstSecs)
			}
		})
	}
}

// TestGridShortFirstSegment: a grid whose segment 0 is shorter than the
// others cuts it first, then whole segments from its end; the first chunk,
// one segment, ends there, where the head cuts it too.
func TestGridShortFirstSegment(t *testing.T) {
	tb := media.Rational{Num: 1, Den: 15360}
	s := cfrStream(tb, 30, 1, 1800, 0, 60) // 60 s at 30 fps
	g := Grid{Segment: 4 * time.Second, FirstSegment: 2 * time.Second, Chunk: 16 * time.Second, FirstChunk: 4 * time.Second}
	p, err := g.Plan(&s.v)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, s, p, 4*time.Second)
	if p.FirstSegment != 2*time.Second {
		t.Errorf("plan's first segment %v, want 2s", p.FirstSegment)
	}
	// 2 s, then 4 s segments from 2 s: the last starts at 58 s.
	if p.Segments != 16 {
		t.Errorf("%d segments, want 16", p.Segments)
	}
	for n, want := range map[int]float64{0: 0, 1: 2, 2: 6, 15: 58} {
		if got := s.v.Seconds(p.BoundaryPTS(n)); got != want {
			t.Errorf("segment %d starts at %v s, want %v s", n, got, want)
		}
	}
	var got []int
	for _, c := range p.Chunks {
		got = append(got, c.Segments)
	}
	if want := []int{1, 4, 4, 4, 3}; !slices.Equal(got, want) {
		t.Errorf("segments per chunk = %v, want %v", got, want)
	}
	if c := p.Chunks[1]; c.Start != 2 || c.End != 18 {
		t.Errorf("chunk 1 spans %v–%v s, want 2–18 s", c.Start, c.End)
	}
	if got, want := g.FirstChunkEnd(&s.v), p.Chunks[0].EndPTS; got != want || s.v.Seconds(got) != 2 {
		t.Errorf("FirstChunkEnd = %d, want the plan's first chunk end %d (2 s)", got, want)
	}
}

// TestGridFirstSegmentNoShorter: a first segment as long as the others or
// longer is none of its own — the plan is, byte for byte, the one made
// without it, as every plan recorded before it existed — and one shorter
// than 100ms is refused.
func TestGridFirstSegmentNoShorter(t *testing.T) {
	tb := media.Rational{Num: 1, Den: 15360}
	s := cfrStream(tb, 30, 1, 600, 0, 60)
	old, err := PlanChunksFirst(&s.v, 2*time.Second, 8*time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	oldJSON, _ := json.Marshal(old)
	if bytes.Contains(oldJSON, []byte("firstSegmentDuration")) {
		t.Errorf("plan without a short first segment marshals one: %s", oldJSON)
	}
	for _, first := range []time.Duration{0, 2 * time.Second, 4 * time.Second} {
		p, err := Grid{Segment: 2 * time.Second, FirstSegment: first, Chunk: 8 * time.Second, FirstChunk: 2 * time.Second}.Plan(&s.v)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(p); !bytes.Equal(got, oldJSON) {
			t.Errorf("first segment %v: plan %s, want %s", first, got, oldJSON)
		}
	}
	if _, err := (Grid{Segment: 2 * time.Second, FirstSegment: 50 * time.Millisecond, Chunk: 8 * time.Second}).Plan(&s.v); err == nil {
		t.Error("a 50ms first segment was planned, want an error")
	}
}
