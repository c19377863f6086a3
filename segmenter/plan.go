package segmenter

import (
	"fmt"
	"slices"
	"time"

	"github.com/sunomi/sunomi/media"
)

// PlanChunks cuts the video of a probed source into chunks of about chunk
// length (rounded down to whole segments), independent of where its keyframes are.
func PlanChunks(v *media.VideoStream, segment, chunk time.Duration) (media.Plan, error) {
	return PlanChunksFirst(v, segment, chunk, chunk)
}

// PlanChunksFirst is PlanChunks with a first chunk of its own length (whole
// segments, at most chunk): a short first chunk makes a progressively
// published video playable after a few seconds of encoding.
func PlanChunksFirst(v *media.VideoStream, segment, chunk, firstChunk time.Duration) (media.Plan, error) {
	return Grid{Segment: segment, Chunk: chunk, FirstChunk: firstChunk}.Plan(v)
}

// Grid is how a plan cuts a timeline: segments of Segment, but segment 0 of
// FirstSegment when that is shorter (0: Segment), and chunks of whole
// segments, about Chunk long, the first about FirstChunk (at most Chunk).
type Grid struct {
	Segment, FirstSegment, Chunk, FirstChunk time.Duration
}

// GridOf is the grid a transcode's options ask for.
func GridOf(opts media.Options) Grid {
	return Grid{Segment: opts.Segment, FirstSegment: opts.FirstSegment, Chunk: opts.Chunk, FirstChunk: opts.FirstChunk}
}

// Plan cuts the video of a probed source into the grid's chunks,
// independent of where its keyframes are.
func (g Grid) Plan(v *media.VideoStream) (media.Plan, error) {
	if g.Segment < 100*time.Millisecond {
		return media.Plan{}, fmt.Errorf("segment duration %s is too short (minimum 100ms)", g.Segment)
	}
	if g.FirstSegment != 0 && g.FirstSegment < 100*time.Millisecond {
		return media.Plan{}, fmt.Errorf("first segment duration %s is too short (minimum 100ms)", g.FirstSegment)
	}
	perChunk, perFirst := chunkSegments(g.Segment, g.Chunk, g.FirstChunk)
	p := g.emptyPlan(v)
	p.Chunk = time.Duration(perChunk) * g.Segment
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
		c := media.Chunk{
			Index:        len(p.Chunks),
			FirstSegment: first,
			Segments:     n,
			StartPTS:     p.BoundaryPTS(first),
			EndPTS:       media.NoEnd,
			SourceEndPTS: media.NoEnd,
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

// emptyPlan is the grid's plan of v before it has segments or chunks. A
// first segment no shorter than the others is none of its own: the plan
// leaves it out, as plans made before it existed.
func (g Grid) emptyPlan(v *media.VideoStream) media.Plan {
	p := media.Plan{Segment: g.Segment, TimeBase: v.TimeBase, OriginPTS: v.OriginPTS}
	if g.FirstSegment > 0 && g.FirstSegment < g.Segment {
		p.FirstSegment = g.FirstSegment
	}
	return p
}

// chunkSegments is the length in segments of the chunks and of the first
// chunk: whole segments, never longer than asked (a chunk is at least one
// segment, the first at most a chunk).
func chunkSegments(segment, chunk, firstChunk time.Duration) (perChunk, perFirst int) {
	perChunk = max(1, int(max(chunk, segment)/segment))
	return perChunk, min(max(1, int(firstChunk/segment)), perChunk)
}

// FirstChunkEnd is where Plan ends the first chunk of a stream long enough
// to have a second: its end depends only on the stream's origin and time
// base, so the first chunk can be cut before the rest of the stream is read.
func (g Grid) FirstChunkEnd(v *media.VideoStream) int64 {
	_, perFirst := chunkSegments(g.Segment, g.Chunk, g.FirstChunk)
	return g.emptyPlan(v).BoundaryPTS(perFirst)
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
		return media.NoEnd
	}
	return keys[i]
}
