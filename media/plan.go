package media

import (
	"math"
	"math/big"
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

	// FirstSegment is segment 0's length when it is shorter than Segment
	// (0: Segment, as in every plan made before it existed): a short first
	// segment is encoded sooner, so the job is playable sooner. Segment 1
	// onward keep Segment's length, on a grid that starts at its end.
	FirstSegment time.Duration `json:"firstSegmentDuration,omitempty"`
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

// SegmentStart is where segment n starts after the origin: the first
// segment's length, then a whole number of segments.
func (p Plan) SegmentStart(n int) time.Duration {
	if n <= 0 {
		return time.Duration(n) * p.Segment
	}
	return p.firstSegment() + time.Duration(n-1)*p.Segment
}

// firstSegment is segment 0's length.
func (p Plan) firstSegment() time.Duration {
	if p.FirstSegment > 0 {
		return p.FirstSegment
	}
	return p.Segment
}

// BoundaryPTS is the timestamp where segment n starts: SegmentStart after
// the origin, rounded to the time base.
func (p Plan) BoundaryPTS(n int) int64 {
	return p.OriginPTS + DurationToPTS(p.SegmentStart(n), p.TimeBase)
}

// SegmentOf returns the index of the segment a frame at pts falls in.
func (p Plan) SegmentOf(pts int64) int {
	short := (p.Segment - p.firstSegment()).Seconds()
	n := int((float64(pts-p.OriginPTS)*p.TimeBase.Float() + short) / p.Segment.Seconds())
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

// Extracted names the files the split task wrote: one video file per chunk
// of the plan, and the whole audio track when the source has one.
//
// Every timestamp in them is shifted forward by the split's extraction
// shift: the muxer would otherwise shift a file whose first decode timestamp
// is negative (B-frames, AAC priming) on its own, and the first chunk would
// no longer line up with the others.
type Extracted struct {
	Chunks []string `json:"chunks"`
	Audio  string   `json:"audio,omitempty"`
	// VideoShift and AudioShift are the shift in each source stream's time base.
	VideoShift int64 `json:"videoShift"`
	AudioShift int64 `json:"audioShift"`
	// VideoParams and AudioParams are what the files lost of each stream's
	// codec parameters; the decoding tasks restore them.
	VideoParams NUTParams `json:"videoParams"`
	AudioParams NUTParams `json:"audioParams"`
}

// NUTParams are what a stream copied into a NUT file — the chunks and the
// audio track the split extracts — loses but some decoders need. NUT has no
// field for the bits per coded sample (QuickTime Animation), the block
// alignment and bit rate (WMA, ADPCM), and names no codec it has no tag for
// (ALAC). The split records them (internal/avx reads them from libav); the
// tasks that decode the files put them back.
type NUTParams struct {
	Decoder            string `json:"decoder,omitempty"` // set when NUT cannot name the codec
	BitsPerCodedSample int    `json:"bitsPerCodedSample,omitempty"`
	BlockAlign         int    `json:"blockAlign,omitempty"`
	BitRate            int64  `json:"bitRate,omitempty"`
}
