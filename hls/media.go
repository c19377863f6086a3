package hls

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// Segment is one media segment as listed in a media playlist.
type Segment struct {
	URI      string
	Duration float64 // seconds, as written in EXTINF
	Bytes    int64   // size of the file; not written to the playlist, used for bandwidth
}

// PlaylistType is the value of EXT-X-PLAYLIST-TYPE.
type PlaylistType string

// Playlist types. A growing rung is EVENT while chunks finish and becomes
// VOD once the job is stitched.
const (
	PlaylistVOD   PlaylistType = "VOD"
	PlaylistEvent PlaylistType = "EVENT"
)

// MediaPlaylist is one rung's (or the audio track's) list of segments.
type MediaPlaylist struct {
	Type PlaylistType // "" writes no EXT-X-PLAYLIST-TYPE

	// TargetDuration is written as EXT-X-TARGETDURATION. When 0, Marshal
	// computes it; either way Marshal raises it so that every EXTINF rounded
	// to the nearest integer fits, because RFC 8216 forbids anything else.
	TargetDuration int

	// NominalDuration is the planned segment duration S in seconds. It is
	// not written; when TargetDuration is 0 it sets a floor of ceil(S) so a
	// growing EVENT playlist announces the same target on every reload
	// (the target must not change) even before a full-length segment exists.
	NominalDuration float64

	MediaSequence int
	// Map is the URI of the init segment (EXT-X-MAP) that fMP4 segments
	// need; "" for MPEG-TS.
	Map      string
	Segments []Segment
	Ended    bool // writes #EXT-X-ENDLIST (always true for VOD)
}

// mediaVersion is the EXT-X-VERSION of our MPEG-TS media playlists. Version
// 3 is the first that allows fractional EXTINF durations; nothing else they
// hold (no byte ranges, keys or init sections) needs a later one. An init
// section (EXT-X-MAP) without I-frame playlists needs version 6; we write 7,
// the version RFC 8216bis and Apple's authoring rules give fMP4 playlists.
const (
	mediaVersion    = 3
	mediaMapVersion = 7
)

// Marshal writes the playlist in the form RFC 8216 describes, with durations
// to six decimals so the output is deterministic.
func (p *MediaPlaylist) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n")
	version := mediaVersion
	if p.Map != "" {
		version = mediaMapVersion
	}
	b.WriteString("#EXT-X-VERSION:" + strconv.Itoa(version) + "\n")
	b.WriteString("#EXT-X-TARGETDURATION:" + strconv.Itoa(p.targetDuration()) + "\n")
	b.WriteString("#EXT-X-MEDIA-SEQUENCE:" + strconv.Itoa(p.MediaSequence) + "\n")
	if p.Type != "" {
		b.WriteString("#EXT-X-PLAYLIST-TYPE:" + oneLine(string(p.Type)) + "\n")
	}
	// Every segment starts with an IDR (closed GOP at each boundary), so
	// players may switch rungs at any segment.
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	if p.Map != "" {
		var a attrWriter
		a.quoted("URI", p.Map)
		b.WriteString("#EXT-X-MAP:" + a.String() + "\n")
	}
	for _, s := range p.Segments {
		b.WriteString("#EXTINF:" + formatFloat(s.Duration, 6) + ",\n")
		b.WriteString(oneLine(s.URI) + "\n")
	}
	if p.Ended || p.Type == PlaylistVOD {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return b.Bytes()
}

// targetDuration returns the EXT-X-TARGETDURATION to write: the explicit or
// nominal value, raised to the largest EXTINF rounded to the nearest integer
// (RFC 8216 section 4.3.3.1), and never below 1.
func (p *MediaPlaylist) targetDuration() int {
	target := p.TargetDuration
	if target == 0 && p.NominalDuration > 0 {
		// The nominal duration comes from a 90 kHz clock or a config float;
		// a hair of rounding error must not add a whole second.
		target = int(math.Ceil(p.NominalDuration - 1e-6))
	}
	for _, s := range p.Segments {
		// Round the value as written, so the check matches what a validator
		// reading the playlist computes.
		d, _ := strconv.ParseFloat(formatFloat(s.Duration, 6), 64)
		if r := int(math.Round(d)); r > target {
			target = r
		}
	}
	return max(target, 1)
}

// Duration returns the sum of the segment durations in seconds.
func (p *MediaPlaylist) Duration() float64 {
	var d float64
	for _, s := range p.Segments {
		d += s.Duration
	}
	return d
}

// ParseMediaPlaylist parses a media playlist written by Marshal or by other
// HLS writers such as ffmpeg. Unknown tags and comments are ignored, as
// RFC 8216 requires; structural mistakes are reported as *ParseError, which
// wraps ErrInvalidPlaylist. Segment.Bytes is left 0: sizes are not in the
// playlist.
func ParseMediaPlaylist(b []byte) (*MediaPlaylist, error) {
	lines, err := splitLines(b)
	if err != nil {
		return nil, err
	}
	p := &MediaPlaylist{}
	var (
		haveTarget bool
		pending    *Segment // an EXTINF waiting for its URI
		pendingAt  int
	)
	for _, l := range lines {
		if isURILine(l.text) {
			if pending == nil {
				return nil, parseErrorf(l.num, "URI %q is not preceded by #EXTINF", l.text)
			}
			pending.URI = l.text
			p.Segments = append(p.Segments, *pending)
			pending = nil
			continue
		}
		name, value := splitTag(l.text)
		switch name {
		case "#EXTINF":
			if pending != nil {
				return nil, parseErrorf(pendingAt, "#EXTINF is not followed by a URI")
			}
			d, ok := parseExtinf(value)
			if !ok {
				return nil, parseErrorf(l.num, "invalid #EXTINF duration %q", value)
			}
			pending, pendingAt = &Segment{Duration: d}, l.num
		case "#EXT-X-TARGETDURATION":
			if haveTarget {
				return nil, parseErrorf(l.num, "duplicate #EXT-X-TARGETDURATION")
			}
			n, ok := parseDecimalInt(value)
			if !ok || n > math.MaxInt32 {
				return nil, parseErrorf(l.num, "invalid #EXT-X-TARGETDURATION %q", value)
			}
			p.TargetDuration, haveTarget = int(n), true
		case "#EXT-X-MEDIA-SEQUENCE":
			n, ok := parseDecimalInt(value)
			if !ok || n > math.MaxInt32 {
				return nil, parseErrorf(l.num, "invalid #EXT-X-MEDIA-SEQUENCE %q", value)
			}
			p.MediaSequence = int(n)
		case "#EXT-X-PLAYLIST-TYPE":
			switch t := PlaylistType(value); t {
			case PlaylistVOD, PlaylistEvent:
				p.Type = t
			default:
				return nil, parseErrorf(l.num, "invalid #EXT-X-PLAYLIST-TYPE %q", value)
			}
		case "#EXT-X-VERSION":
			if _, ok := parseDecimalInt(value); !ok {
				return nil, parseErrorf(l.num, "invalid #EXT-X-VERSION %q", value)
			}
		case "#EXT-X-MAP":
			attrs, err := parseAttributes(value)
			if err != nil {
				return nil, parseErrorf(l.num, "#EXT-X-MAP: %v", err)
			}
			uri, ok := attrs["URI"]
			if !ok || !uri.quoted || uri.value == "" {
				return nil, parseErrorf(l.num, "#EXT-X-MAP needs a quoted URI")
			}
			if p.Map != "" && p.Map != uri.value {
				// One init segment per rendition is all we write or read.
				return nil, parseErrorf(l.num, "a second #EXT-X-MAP is not supported")
			}
			p.Map = uri.value
		case "#EXT-X-ENDLIST":
			if pending != nil {
				return nil, parseErrorf(pendingAt, "#EXTINF is not followed by a URI")
			}
			p.Ended = true
		case "#EXT-X-STREAM-INF", "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF":
			return nil, parseErrorf(l.num, "%s belongs in a master playlist, not a media playlist", name)
		}
		// Other tags (EXT-X-DISCONTINUITY, EXT-X-PROGRAM-DATE-TIME, ...) and
		// comments are legal and carry nothing we model.
	}
	if pending != nil {
		return nil, parseErrorf(pendingAt, "#EXTINF is not followed by a URI")
	}
	if !haveTarget {
		return nil, parseErrorf(lastLine(lines), "missing #EXT-X-TARGETDURATION")
	}
	return p, nil
}

// lastLine is the line number to blame for something missing from the whole
// playlist: the last line, where the reader gave up looking.
func lastLine(lines []playlistLine) int {
	if len(lines) == 0 {
		return 1
	}
	return lines[len(lines)-1].num
}

// parseExtinf parses "<duration>,[<title>]". The comma is required by
// RFC 8216 but old writers omit it, so it is optional here.
func parseExtinf(value string) (float64, bool) {
	ds, _, _ := strings.Cut(value, ",")
	d, err := strconv.ParseFloat(strings.TrimSpace(ds), 64)
	if err != nil || d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
		return 0, false
	}
	return d, true
}

// cutTolerance absorbs the rounding of EXTINF durations (six decimals each)
// when CutAt sums them.
const cutTolerance = 0.01

// CutAt returns the playlist with only the segments that end by seconds on
// its timeline (the sum of the durations before them plus their own): what
// a growing playlist may show of a video checked up to there. The segments
// are shared with p; the copy is never ended.
func (p *MediaPlaylist) CutAt(seconds float64) *MediaPlaylist {
	cut := *p
	cut.Ended = false
	end, n := 0.0, 0
	for _, s := range p.Segments {
		if end+s.Duration > seconds+cutTolerance {
			break
		}
		end += s.Duration
		n++
	}
	cut.Segments = p.Segments[:n]
	return &cut
}
