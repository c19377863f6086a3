package hls

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WebVTT text: checking caption files before they are stored, and what HLS players need to
// show them — the X-TIMESTAMP-MAP that ties cue times to the segments' timeline, and a media
// playlist whose one segment is the whole file.

// WebVTT is a checked WebVTT file.
type WebVTT struct {
	// Body is the file without a byte-order mark and with LF line endings.
	Body []byte
	// Text is the cues' plain text, one cue a line, without markup.
	Text string
	// Cues counts the cues, empty ones included.
	Cues int
	// Language is the file's "Language:" header, if it has one.
	Language string
}

// WebVTTError says what is wrong with a WebVTT file, and where, in words for the person who
// wrote it.
type WebVTTError struct {
	Line   int // 1-based; 0 when the problem is the file as a whole
	Reason string
}

func (e *WebVTTError) Error() string {
	if e.Line == 0 {
		return e.Reason
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// ErrNoCues is a well-formed file without a single cue: nothing to show, and what a
// transcription service answers for silence.
var ErrNoCues = &WebVTTError{0, "the file has no cues"}

// ParseWebVTT checks a WebVTT file and extracts its text. It follows the WebVTT spec's parser
// where it decides what a cue is, and is stricter where the spec merely tolerates garbage:
// browsers drop a whole track at the first malformed timing line, so a file that passes here
// is one players can show. Errors are *WebVTTError.
func ParseWebVTT(b []byte) (*WebVTT, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		line := 1 + bytes.Count(b[:invalidUTF8At(b)], []byte("\n"))
		return nil, &WebVTTError{line, "the file is not valid UTF-8; save it as UTF-8"}
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return nil, &WebVTTError{1 + bytes.Count(b[:i], []byte("\n")), "the file contains a NUL character"}
	}
	// The spec's line terminators are CRLF, LF and CR alone.
	norm := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(b))
	lines := strings.Split(norm, "\n")

	first := lines[0]
	if first != "WEBVTT" && !strings.HasPrefix(first, "WEBVTT ") && !strings.HasPrefix(first, "WEBVTT\t") {
		return nil, &WebVTTError{1, `a WebVTT file must start with the line "WEBVTT"`}
	}
	out := &WebVTT{Body: []byte(norm)}
	i := 1
	// The header: metadata lines up to the first blank line.
	for ; i < len(lines) && lines[i] != ""; i++ {
		if strings.Contains(lines[i], "-->") {
			return nil, &WebVTTError{i + 1, "a blank line must separate the WEBVTT header from the first cue"}
		}
		if name, value, ok := strings.Cut(lines[i], ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Language") {
			out.Language = strings.TrimSpace(value)
		}
	}
	var text strings.Builder
	for i < len(lines) {
		if lines[i] == "" {
			i++
			continue
		}
		// A block: the non-blank lines from i to end.
		end := i
		for end < len(lines) && lines[end] != "" {
			end++
		}
		block := lines[i:end]
		start := i
		i = end
		if isVTTKeywordBlock(block[0]) {
			continue // NOTE, STYLE and REGION blocks hold no cue
		}
		timing := 0
		if !strings.Contains(block[0], "-->") {
			// block[0] is the cue's identifier; its timing follows.
			if len(block) < 2 || !strings.Contains(block[1], "-->") {
				return nil, &WebVTTError{start + 2, "expected a cue timing line such as 00:00:01.000 --> 00:00:04.000" + afterLine(block[0])}
			}
			timing = 1
		}
		if err := checkCueTiming(block[timing]); err != nil {
			return nil, &WebVTTError{start + timing + 1, err.Error()}
		}
		payload := block[timing+1:]
		for j, l := range payload {
			if strings.Contains(l, "-->") {
				return nil, &WebVTTError{start + timing + 2 + j, `cue text may not contain "-->"; separate cues with a blank line`}
			}
		}
		out.Cues++
		if t := cueText(payload); t != "" {
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			text.WriteString(t)
		}
	}
	if out.Cues == 0 {
		return nil, ErrNoCues
	}
	out.Text = text.String()
	return out, nil
}

func afterLine(id string) string {
	if len(id) > 40 {
		id = id[:40] + "…"
	}
	return fmt.Sprintf(" after the cue identifier %q", id)
}

func isVTTKeywordBlock(line string) bool {
	for _, kw := range []string{"NOTE", "STYLE", "REGION"} {
		if rest, ok := strings.CutPrefix(line, kw); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return true
		}
	}
	return false
}

// checkCueTiming checks "start --> end [settings]": two timestamps, the end after the start.
// Cue settings are not checked: players ignore the ones they do not understand.
func checkCueTiming(line string) error {
	left, right, _ := strings.Cut(line, "-->")
	startText := strings.Trim(left, " \t")
	right = strings.TrimLeft(right, " \t")
	endText := right
	if k := strings.IndexAny(right, " \t"); k >= 0 {
		endText = right[:k]
	}
	start, ok := parseVTTTimestamp(startText)
	if !ok {
		return fmt.Errorf("the cue start %q is not a timestamp like 00:01.000 or 01:02:03.000", startText)
	}
	end, ok := parseVTTTimestamp(endText)
	if !ok {
		return fmt.Errorf("the cue end %q is not a timestamp like 00:01.000 or 01:02:03.000", endText)
	}
	if end <= start {
		return fmt.Errorf("the cue ends (%s) before or when it starts (%s)", endText, startText)
	}
	return nil
}

var vttTimestamp = regexp.MustCompile(`^(?:(\d{2,}):)?(\d{2}):(\d{2})\.(\d{3})$`)

// parseVTTTimestamp parses hh:mm:ss.ttt (two or more hour digits) or mm:ss.ttt into
// milliseconds.
func parseVTTTimestamp(s string) (int64, bool) {
	m := vttTimestamp.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	var h int64
	if m[1] != "" {
		var err error
		if h, err = strconv.ParseInt(m[1], 10, 64); err != nil || h > 1e6 {
			return 0, false
		}
	}
	min, _ := strconv.ParseInt(m[2], 10, 64)
	sec, _ := strconv.ParseInt(m[3], 10, 64)
	ms, _ := strconv.ParseInt(m[4], 10, 64)
	if min > 59 || sec > 59 {
		return 0, false
	}
	return ((h*60+min)*60+sec)*1000 + ms, true
}

// vttTag matches cue markup: <b>, </i>, <v Speaker>, <c.loud>, <00:01.000>, <ruby>…
var vttTag = regexp.MustCompile(`<[^>]*>`)

// cueText is a cue's payload as plain text on one line.
func cueText(payload []string) string {
	var words []string
	for _, l := range payload {
		l = html.UnescapeString(vttTag.ReplaceAllString(l, ""))
		l = strings.Map(func(r rune) rune {
			switch r {
			case '\u00a0':
				return ' '
			case '\u200e', '\u200f': // &lrm; &rlm;
				return -1
			}
			return r
		}, l)
		words = append(words, strings.Fields(l)...)
	}
	return strings.Join(words, " ")
}

// invalidUTF8At returns the offset of the first invalid UTF-8 sequence in b.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// WithTimestampMap returns a WebVTT file (LF line endings, as ParseWebVTT leaves it) with an
// X-TIMESTAMP-MAP as the header's first metadata line, mapping cue time 0 to mpegts on the
// 90 kHz clock of the video's MPEG-TS segments: players that follow HLS (Safari, hls.js) show
// each cue at the moment its times say only with it. A mapping already in the file is
// replaced: its cue times are times in the video, and only the caller knows where those are
// in its segments.
func WithTimestampMap(body []byte, mpegts int64) []byte {
	lines := strings.Split(string(body), "\n")
	out := make([]string, 0, len(lines)+1)
	out = append(out, lines[0], fmt.Sprintf("X-TIMESTAMP-MAP=MPEGTS:%d,LOCAL:%s", mpegts, formatVTTTime(0)))
	i := 1
	for ; i < len(lines) && lines[i] != ""; i++ {
		if !strings.HasPrefix(lines[i], "X-TIMESTAMP-MAP=") {
			out = append(out, lines[i])
		}
	}
	out = append(out, lines[i:]...)
	return []byte(strings.Join(out, "\n"))
}

// SubtitlePlaylist is the media playlist of a WebVTT subtitle rendition: one segment, the
// whole file at uri, lasting the video's duration in seconds.
func SubtitlePlaylist(uri string, duration float64) []byte {
	p := MediaPlaylist{Type: PlaylistVOD, TargetDuration: int(math.Ceil(duration - 1e-6)),
		Segments: []Segment{{URI: uri, Duration: duration}}}
	return p.Marshal()
}
