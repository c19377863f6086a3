package media

import "fmt"

// SegmentFormat is the container of a ladder's media segments.
type SegmentFormat string

// Segment formats. TS is what every ladder made before fMP4 existed uses
// (and what results without a format mean); fMP4 is CMAF: one init segment
// per rendition and moof+mdat fragments that HLS (version 7, EXT-X-MAP) and
// DASH both serve.
const (
	SegmentsTS   SegmentFormat = "ts"
	SegmentsFMP4 SegmentFormat = "fmp4"
)

// DefaultSegments is the format of a new job that names none: CMAF, which
// every current player reads, as HLS or DASH. A job's format is fixed when
// it is submitted (the split spec names it), so changing the default never
// changes a job in flight, and recorded results without a format stay TS
// (OrTS).
const DefaultSegments = SegmentsFMP4

// ParseSegmentFormat checks a format named by a user ("" is the default).
func ParseSegmentFormat(s string) (SegmentFormat, error) {
	switch f := SegmentFormat(s); f {
	case "":
		return DefaultSegments, nil
	case SegmentsTS, SegmentsFMP4:
		return f, nil
	}
	return "", fmt.Errorf("unknown segment format %q (choose %s or %s)", s, SegmentsFMP4, SegmentsTS)
}

// OrTS is the format itself, or TS for the empty format of results and
// specs recorded before the format existed.
func (f SegmentFormat) OrTS() SegmentFormat {
	if f == "" {
		return SegmentsTS
	}
	return f
}

// InitSegment is an fMP4 rendition's init segment (ftyp+moov) as one encode
// or audio task wrote it. Every chunk of a rung writes its own; players get
// one of them for the whole rung, which is only right when all of them
// describe the same stream: Config identifies the sample description (the
// codec configuration, avcC with its SPS and PPS, and the picture size) so
// that the stitch can check it.
type InitSegment struct {
	File   string `json:"file"` // relative to the output dir
	Config string `json:"config"`
	// Timescale is the track's media timescale (ticks per second), and
	// Offset where time zero of the output timeline lies in it: what a
	// DASH manifest needs to place the segments.
	Timescale uint32 `json:"timescale"`
	Offset    uint64 `json:"offset"`
}
