package hls

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rendition is an alternative rendition, written as EXT-X-MEDIA.
type Rendition struct {
	Type       string // "AUDIO" or "SUBTITLES"
	GroupID    string
	Name       string
	Language   string // omitted when ""
	URI        string // omitted when ""
	Default    bool
	AutoSelect bool
	Channels   string // e.g. "2" for audio; omitted when ""
}

// Variant is one rung of the ladder, written as EXT-X-STREAM-INF followed by
// the rung playlist's URI.
type Variant struct {
	URI              string
	Bandwidth        int64    // peak bits/s
	AverageBandwidth int64    // omitted when 0
	Width, Height    int      // 0,0 → no RESOLUTION (audio-only variant)
	FrameRate        float64  // 0 → omitted; written with 3 decimals
	Codecs           []string // joined with "," in a quoted CODECS attribute
	Audio            string   // group id, omitted when ""
	Subtitles        string   // group id, omitted when ""
}

// MasterPlaylist lists a video's renditions and variants.
type MasterPlaylist struct {
	Renditions []Rendition
	Variants   []Variant // written in the order given
}

// masterVersion is the EXT-X-VERSION of our master playlists. Nothing the
// master can hold here (no INSTREAM-ID SERVICE values, no session keys)
// requires more than 3, and older players reject versions they do not know.
const masterVersion = 3

// Marshal writes the master playlist. Attributes come in a fixed order and
// numbers in fixed precision, so equal inputs give identical bytes.
func (m *MasterPlaylist) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n")
	b.WriteString("#EXT-X-VERSION:" + strconv.Itoa(masterVersion) + "\n")
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, r := range m.Renditions {
		var a attrWriter
		a.enum("TYPE", r.Type)
		a.quoted("GROUP-ID", r.GroupID)
		a.quoted("NAME", r.Name)
		if r.Language != "" {
			a.quoted("LANGUAGE", r.Language)
		}
		a.enum("DEFAULT", yesNo(r.Default))
		a.enum("AUTOSELECT", yesNo(r.AutoSelect))
		if r.Channels != "" {
			a.quoted("CHANNELS", r.Channels)
		}
		if r.URI != "" {
			a.quoted("URI", r.URI)
		}
		b.WriteString("#EXT-X-MEDIA:" + a.String() + "\n")
	}
	for _, v := range m.Variants {
		var a attrWriter
		a.enum("BANDWIDTH", strconv.FormatInt(v.Bandwidth, 10))
		if v.AverageBandwidth > 0 {
			a.enum("AVERAGE-BANDWIDTH", strconv.FormatInt(v.AverageBandwidth, 10))
		}
		if v.Width > 0 && v.Height > 0 {
			a.enum("RESOLUTION", strconv.Itoa(v.Width)+"x"+strconv.Itoa(v.Height))
		}
		if v.FrameRate > 0 {
			a.enum("FRAME-RATE", formatFloat(v.FrameRate, 3))
		}
		if len(v.Codecs) > 0 {
			a.quoted("CODECS", strings.Join(v.Codecs, ","))
		}
		if v.Audio != "" {
			a.quoted("AUDIO", v.Audio)
		}
		if v.Subtitles != "" {
			a.quoted("SUBTITLES", v.Subtitles)
		}
		b.WriteString("#EXT-X-STREAM-INF:" + a.String() + "\n")
		b.WriteString(oneLine(v.URI) + "\n")
	}
	return b.Bytes()
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

// attrWriter builds an attribute list. A quoted-string has no escape
// mechanism, so double quotes and line breaks are dropped rather than
// allowed to end the value or the line early.
type attrWriter struct{ strings.Builder }

func (a *attrWriter) enum(name, value string) {
	if a.Len() > 0 {
		a.WriteByte(',')
	}
	// Enumerated values cannot hold commas, quotes or line breaks either.
	a.WriteString(name + "=" + strings.NewReplacer(",", "", `"`, "", "\r", "", "\n", "").Replace(value))
}

func (a *attrWriter) quoted(name, value string) {
	if a.Len() > 0 {
		a.WriteByte(',')
	}
	a.WriteString(name + `="` + strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(value) + `"`)
}

// ParseMasterPlaylist parses a master playlist written by Marshal or by
// ffmpeg's hls muxer. Quoted attribute values may contain commas (CODECS
// does). Errors are *ParseError, which wraps ErrInvalidPlaylist.
func ParseMasterPlaylist(b []byte) (*MasterPlaylist, error) {
	lines, err := splitLines(b)
	if err != nil {
		return nil, err
	}
	m := &MasterPlaylist{}
	var (
		pending   *Variant // an EXT-X-STREAM-INF waiting for its URI
		pendingAt int
	)
	for _, l := range lines {
		if isURILine(l.text) {
			if pending == nil {
				return nil, parseErrorf(l.num, "URI %q is not preceded by #EXT-X-STREAM-INF", l.text)
			}
			pending.URI = l.text
			m.Variants = append(m.Variants, *pending)
			pending = nil
			continue
		}
		name, value := splitTag(l.text)
		switch name {
		case "#EXT-X-STREAM-INF":
			if pending != nil {
				return nil, parseErrorf(pendingAt, "#EXT-X-STREAM-INF is not followed by a URI")
			}
			v, err := parseVariant(value)
			if err != nil {
				return nil, parseErrorf(l.num, "#EXT-X-STREAM-INF: %v", err)
			}
			pending, pendingAt = v, l.num
		case "#EXT-X-MEDIA":
			r, err := parseRendition(value)
			if err != nil {
				return nil, parseErrorf(l.num, "#EXT-X-MEDIA: %v", err)
			}
			m.Renditions = append(m.Renditions, *r)
		case "#EXT-X-VERSION":
			if _, ok := parseDecimalInt(value); !ok {
				return nil, parseErrorf(l.num, "invalid #EXT-X-VERSION %q", value)
			}
		case "#EXTINF", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-ENDLIST", "#EXT-X-PLAYLIST-TYPE":
			return nil, parseErrorf(l.num, "%s belongs in a media playlist, not a master playlist", name)
		}
		// EXT-X-I-FRAME-STREAM-INF, EXT-X-SESSION-DATA and other tags carry
		// nothing we model; RFC 8216 says to ignore what we do not know.
	}
	if pending != nil {
		return nil, parseErrorf(pendingAt, "#EXT-X-STREAM-INF is not followed by a URI")
	}
	if len(m.Variants) == 0 {
		return nil, parseErrorf(lastLine(lines), "no #EXT-X-STREAM-INF variants")
	}
	return m, nil
}

func parseVariant(list string) (*Variant, error) {
	attrs, err := parseAttributes(list)
	if err != nil {
		return nil, err
	}
	v := &Variant{}
	bw, ok := attrs["BANDWIDTH"]
	if !ok {
		return nil, fmt.Errorf("missing BANDWIDTH")
	}
	if v.Bandwidth, err = attrInt(bw); err != nil {
		return nil, fmt.Errorf("BANDWIDTH: %w", err)
	}
	if s, ok := attrs["AVERAGE-BANDWIDTH"]; ok {
		if v.AverageBandwidth, err = attrInt(s); err != nil {
			return nil, fmt.Errorf("AVERAGE-BANDWIDTH: %w", err)
		}
	}
	if s, ok := attrs["RESOLUTION"]; ok {
		ws, hs, _ := strings.Cut(s.value, "x")
		w, okW := parseDecimalInt(ws)
		h, okH := parseDecimalInt(hs)
		if s.quoted || !okW || !okH || w > math.MaxInt32 || h > math.MaxInt32 {
			return nil, fmt.Errorf("invalid RESOLUTION %q", s.value)
		}
		v.Width, v.Height = int(w), int(h)
	}
	if s, ok := attrs["FRAME-RATE"]; ok {
		f, err := strconv.ParseFloat(s.value, 64)
		if s.quoted || err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("invalid FRAME-RATE %q", s.value)
		}
		v.FrameRate = f
	}
	if s, ok := attrs["CODECS"]; ok {
		for c := range strings.SplitSeq(s.value, ",") {
			if c = strings.TrimSpace(c); c != "" {
				v.Codecs = append(v.Codecs, c)
			}
		}
	}
	v.Audio = attrs["AUDIO"].value
	v.Subtitles = attrs["SUBTITLES"].value
	return v, nil
}

func parseRendition(list string) (*Rendition, error) {
	attrs, err := parseAttributes(list)
	if err != nil {
		return nil, err
	}
	for _, req := range []string{"TYPE", "GROUP-ID", "NAME"} {
		if _, ok := attrs[req]; !ok {
			return nil, fmt.Errorf("missing %s", req)
		}
	}
	r := &Rendition{
		Type:     attrs["TYPE"].value,
		GroupID:  attrs["GROUP-ID"].value,
		Name:     attrs["NAME"].value,
		Language: attrs["LANGUAGE"].value,
		URI:      attrs["URI"].value,
		Channels: attrs["CHANNELS"].value,
	}
	if r.Default, err = attrYesNo(attrs, "DEFAULT"); err != nil {
		return nil, err
	}
	if r.AutoSelect, err = attrYesNo(attrs, "AUTOSELECT"); err != nil {
		return nil, err
	}
	return r, nil
}

// attrValue is one attribute value; quoted records whether it was a
// quoted-string, since numbers and enumerations must not be.
type attrValue struct {
	value  string
	quoted bool
}

func attrInt(a attrValue) (int64, error) {
	n, ok := parseDecimalInt(a.value)
	if a.quoted || !ok {
		return 0, fmt.Errorf("invalid decimal integer %q", a.value)
	}
	return n, nil
}

func attrYesNo(attrs map[string]attrValue, name string) (bool, error) {
	a, ok := attrs[name]
	if !ok {
		return false, nil // both default to NO (RFC 8216 section 4.3.4.1)
	}
	switch {
	case a.value == "YES" && !a.quoted:
		return true, nil
	case a.value == "NO" && !a.quoted:
		return false, nil
	}
	return false, fmt.Errorf("%s must be YES or NO, not %q", name, a.value)
}

// parseAttributes parses an RFC 8216 attribute-list: NAME=VALUE pairs
// separated by commas, where a VALUE may be a quoted-string that itself
// contains commas. Spaces around names and unquoted values are tolerated
// because hand-written playlists have them.
func parseAttributes(s string) (map[string]attrValue, error) {
	attrs := make(map[string]attrValue)
	for i := 0; i < len(s); {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, fmt.Errorf("attribute %q has no value", strings.TrimSpace(s[i:]))
		}
		name := strings.TrimSpace(s[i : i+eq])
		if name == "" || strings.IndexFunc(name, func(r rune) bool {
			return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-'
		}) >= 0 {
			return nil, fmt.Errorf("invalid attribute name %q", name)
		}
		if _, dup := attrs[name]; dup {
			return nil, fmt.Errorf("duplicate attribute %s", name)
		}
		i += eq + 1
		var v attrValue
		if i < len(s) && s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted value for %s", name)
			}
			v = attrValue{value: s[i+1 : i+1+end], quoted: true}
			i += end + 2
			// Only a separator (or the end) may follow the closing quote.
			rest := strings.TrimLeft(s[i:], " ")
			if rest != "" && rest[0] != ',' {
				return nil, fmt.Errorf("unexpected text after quoted value for %s", name)
			}
			i = len(s) - len(rest)
		} else {
			end := strings.IndexByte(s[i:], ',')
			if end < 0 {
				end = len(s) - i
			}
			v = attrValue{value: strings.TrimSpace(s[i : i+end])}
			i += end
		}
		attrs[name] = v
		if i < len(s) { // skip the comma
			i++
		}
	}
	return attrs, nil
}
