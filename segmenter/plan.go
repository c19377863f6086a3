package segmenter

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"
)

// NoEnd marks a chunk that runs to the end of the stream.
const NoEnd = math.MaxInt64

// Plan cuts the source timeline into chunks made of whole segments. All
// timestamps are in the source video stream's time base.
type Plan struct {
	Segment   time.Duration `json:"segment"`
	Chunk     time.Duration `json:"chunk"`
	TimeBase  Rational      `json:"timeBase"`
	OriginPTS int64         `json:"originPts"`
	Segments  int           `json:"segments"`
	Chunks    []Chunk       `json:"chunks"`
}

// Chunk is one encode task's share of the timeline: the frames with
// StartPTS <= pts < EndPTS, decoded from the keyframe at SourceStartPTS.
type Chunk struct {
	Index        int     `json:"index"`
	FirstSegment int     `json:"firstSegment"`
	Segments     int     `json:"segments"`
	Start        float64 `json:"startSeconds"`
	End          float64 `json:"endSeconds"`
	StartPTS     int64   `json:"startPts"`
	EndPTS       int64   `json:"endPts"` // NoEnd for the last chunk
	// SourceStartPTS is the keyframe at or before StartPTS where extraction starts.
	SourceStartPTS int64 `json:"sourceStartPts"`
	// SourceEndPTS is the keyframe at or after EndPTS where extraction stops (NoEnd: end of stream).
	SourceEndPTS int64 `json:"sourceEndPts"`
}

// Contains reports whether a frame at pts belongs to the chunk.
func (c Chunk) Contains(pts int64) bool { return pts >= c.StartPTS && pts < c.EndPTS }

// BoundaryPTS is the timestamp where segment n starts: an exact multiple of
// the segment duration after the origin, rounded to the time base.
func (p Plan) BoundaryPTS(n int) int64 {
	return p.OriginPTS + DurationToPTS(time.Duration(n)*p.Segment, p.TimeBase)
}

// SegmentOf returns the index of the segment a frame at pts falls in.
func (p Plan) SegmentOf(pts int64) int {
	n := int(float64(pts-p.OriginPTS) * p.TimeBase.Float() / p.Segment.Seconds())
	// Correct the float estimate against the exact boundaries.
	for n > 0 && pts < p.BoundaryPTS(n) {
		n--
	}
	for pts >= p.BoundaryPTS(n+1) {
		n++
	}
	return max(n, 0)
}

// DurationToPTS converts a duration to ticks of tb, rounding to nearest.
func DurationToPTS(d time.Duration, tb Rational) int64 {
	num := new(big.Int).Mul(big.NewInt(int64(d)), big.NewInt(int64(tb.Den)))
	den := big.NewInt(int64(tb.Num) * int64(time.Second))
	// Round half up: (2*num + den) / (2*den).
	num.Mul(num, big.NewInt(2)).Add(num, den)
	return num.Div(num, den.Mul(den, big.NewInt(2))).Int64()
}

// PlanChunks cuts the video of a probed source into chunks of about chunk
// length (rounded down to whole segments), independent of where its keyframes are.
func PlanChunks(v *VideoStream, segment, chunk time.Duration) (Plan, error) {
	return PlanChunksFirst(v, segment, chunk, chunk)
}

// PlanChunksFirst is PlanChunks with a first chunk of its own length (whole
// segments, at most chunk): a short first chunk makes a progressively
// published video playable after a few seconds of encoding.
func PlanChunksFirst(v *VideoStream, segment, chunk, firstChunk time.Duration) (Plan, error) {
	if segment < 100*time.Millisecond {
		return Plan{}, fmt.Errorf("segment duration %s is too short (minimum 100ms)", segment)
	}
	if chunk < segment {
		chunk = segment
	}
	// Whole segments, never longer than asked (a chunk is at least one segment).
	perChunk := max(1, int(chunk/segment))
	perFirst := min(max(1, int(firstChunk/segment)), perChunk)
	p := Plan{
		Segment:   segment,
		Chunk:     time.Duration(perChunk) * segment,
		TimeBase:  v.TimeBase,
		OriginPTS: v.OriginPTS,
	}
	// A segment exists for every boundary at or before the last frame, so
	// that none is empty at the end.
	p.Segments = p.SegmentOf(v.LastPTS) + 1
	keys := slices.Clone(v.Keyframes)
	slices.Sort(keys)
	for first := 0; first < p.Segments; {
		n := perChunk
		if first == 0 {
			n = perFirst
		}
		n = min(n, p.Segments-first)
		c := Chunk{
			Index:        len(p.Chunks),
			FirstSegment: first,
			Segments:     n,
			StartPTS:     p.BoundaryPTS(first),
			EndPTS:       NoEnd,
			SourceEndPTS: NoEnd,
		}
		if first == 0 {
			c.StartPTS = v.OriginPTS
		}
		c.SourceStartPTS = keyAtOrBefore(keys, c.StartPTS)
		c.Start = v.Seconds(c.StartPTS)
		c.End = v.Seconds(v.EndPTS)
		if first+n < p.Segments {
			c.EndPTS = p.BoundaryPTS(first + n)
			c.SourceEndPTS = keyAtOrAfter(keys, c.EndPTS)
			c.End = v.Seconds(c.EndPTS)
		}
		p.Chunks = append(p.Chunks, c)
		first += n
	}
	return p, nil
}

// keyAtOrBefore returns the last keyframe at or before pts; keys is sorted
// and its first entry is the origin, so one always exists.
func keyAtOrBefore(keys []int64, pts int64) int64 {
	i, found := slices.BinarySearch(keys, pts)
	if found {
		return keys[i]
	}
	return keys[max(i-1, 0)]
}

// keyAtOrAfter returns the first keyframe at or after pts, or NoEnd.
func keyAtOrAfter(keys []int64, pts int64) int64 {
	i, _ := slices.BinarySearch(keys, pts)
	if i == len(keys) {
		return NoEnd
	}
	return keys[i]
}
