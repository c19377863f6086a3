package encoder

import (
	"slices"
	"testing"

	"github.com/sunomi/sunomi/media"
)

// frameTimes are 30 fps frames from start (inclusive) to end (exclusive), in seconds.
func frameTimes(start, end float64) []float64 {
	var ts []float64
	for i := 0; ; i++ {
		t := start + float64(i)/30
		if t >= end-1e-9 {
			return ts
		}
		ts = append(ts, t)
	}
}

// TestMarks checks which frame stands for each mark a chunk owns, the way
// frameHasher feeds marks: frames in order until every mark is taken, then
// the rest for the last frame offered.
func TestMarks(t *testing.T) {
	chunk := func(start, end float64, last bool) media.Chunk {
		c := media.Chunk{Start: start, End: end, EndPTS: 1}
		if last {
			c.EndPTS = media.NoEnd
		}
		return c
	}
	tests := []struct {
		name      string
		chunk     media.Chunk
		frames    []float64
		wantFirst int
		want      []float64 // the time of the frame standing for each mark
	}{
		{"first chunk", chunk(0, 4, false), frameTimes(0, 4), 0, []float64{0, 2}},
		{"inner chunk", chunk(4, 8, false), frameTimes(4, 8), 2, []float64{4, 6}},
		{"chunk off the mark grid", chunk(3, 9, false), frameTimes(3, 9), 2, []float64{4, 6, 8}},
		{"last chunk", chunk(4, 9, true), frameTimes(4, 9), 2, []float64{4, 6, 8}},
		{"last chunk ends before a mark", chunk(8, 9.9, true), frameTimes(8, 9.9), 4, []float64{8}},
		{"owns no mark", chunk(7, 7.5, false), frameTimes(7, 7.5), 4, nil},
		{"last chunk owns no mark", chunk(8.5, 9.5, true), frameTimes(8.5, 9.5), 5, nil},
		{"frames end early: the last frame covers the gap", chunk(4, 8, false), frameTimes(4, 5), 2, []float64{4, 5 - 1.0/30}},
		{"a frame spans marks", chunk(0, 8, false), []float64{0, 0.5, 5, 7.9}, 0, []float64{0, 5, 5, 7.9}},
		{"a frame a rounding error early stands for the mark", chunk(0, 4, false), []float64{0, 1.9995, 2.03}, 0, []float64{0, 1.9995}},
		{"a frame a frame early does not", chunk(0, 4, false), []float64{0, 1.98, 2.01}, 0, []float64{0, 2.01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMarks(tt.chunk, 2)
			if m.first != tt.wantFirst {
				t.Errorf("first mark %d, want %d", m.first, tt.wantFirst)
			}
			var got []float64
			latest := -1.0
			for _, ts := range tt.frames {
				if m.complete() {
					break
				}
				for range m.take(ts) {
					got = append(got, ts)
				}
				latest = ts
			}
			for range m.rest() {
				got = append(got, latest)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("marks taken by frames at %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMarksTileTheTimeline: consecutive chunks own consecutive marks, so
// their hashes concatenate into the video's.
func TestMarksTileTheTimeline(t *testing.T) {
	bounds := []float64{0, 2, 6, 10, 13, 16.4}
	next := 0
	for i := 0; i+1 < len(bounds); i++ {
		c := media.Chunk{Start: bounds[i], End: bounds[i+1], EndPTS: 1}
		if i+2 == len(bounds) {
			c.EndPTS = media.NoEnd
		}
		m := newMarks(c, 2)
		if m.first != next {
			t.Fatalf("chunk %d [%g, %g) starts at mark %d, want %d", i, c.Start, c.End, m.first, next)
		}
		for _, ts := range frameTimes(c.Start, c.End) {
			m.take(ts)
		}
		m.rest()
		next = m.first + m.done
	}
	if want := 9; next != want { // marks 0, 2, …, 16 s
		t.Errorf("chunks own %d marks in all, want %d", next, want)
	}
}
