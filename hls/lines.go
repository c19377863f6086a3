package hls

import (
	"strconv"
	"strings"
)

// playlistLine is one non-blank line of a playlist with its 1-based number,
// kept so parse errors can point at the offending line.
type playlistLine struct {
	num  int
	text string
}

// splitLines splits a playlist into trimmed, non-blank lines and checks the
// mandatory #EXTM3U header. CRLF endings and a UTF-8 BOM are tolerated
// because playlists edited on other systems carry them.
func splitLines(b []byte) ([]playlistLine, error) {
	s := strings.TrimPrefix(string(b), "\uFEFF")
	raw := strings.Split(s, "\n")
	lines := make([]playlistLine, 0, len(raw))
	for i, l := range raw {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		lines = append(lines, playlistLine{num: i + 1, text: l})
	}
	if len(lines) == 0 || lines[0].num != 1 || lines[0].text != "#EXTM3U" {
		return nil, parseErrorf(1, "playlist does not start with #EXTM3U")
	}
	return lines[1:], nil
}

// splitTag splits "#EXT-X-NAME:value" into its name and value. A tag without
// a colon has an empty value.
func splitTag(line string) (name, value string) {
	name, value, _ = strings.Cut(line, ":")
	return name, value
}

// parseDecimalInt parses an RFC 8216 decimal-integer: digits only, no sign.
func parseDecimalInt(s string) (int64, bool) {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// isURILine reports whether a non-blank line is a URI rather than a tag or
// a comment.
func isURILine(line string) bool { return !strings.HasPrefix(line, "#") }

// oneLine removes line breaks so that a value written into a playlist can
// never start a new line and inject tags.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// formatFloat writes f with a fixed number of decimals so playlists are
// byte-for-byte reproducible.
func formatFloat(f float64, decimals int) string {
	return strconv.FormatFloat(f, 'f', decimals, 64)
}
