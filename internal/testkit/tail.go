package testkit

import (
	"strings"
	"unicode/utf8"
)

// Tail returns the end of a long output, where a failed process says what went wrong: at
// most the last limit bytes of s, from the start of a line when a line starts in them, after a
// "…" that says the beginning was left out. A short s comes back whole.
func Tail(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	end := s[len(s)-limit:]
	if i := strings.IndexByte(end, '\n'); i >= 0 && i < len(end)-1 {
		return "…\n" + end[i+1:]
	}
	// One long line: cut it, but not inside a character.
	for len(end) > 0 && !utf8.RuneStart(end[0]) {
		end = end[1:]
	}
	return "…" + end
}
