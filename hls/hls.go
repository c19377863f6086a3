// Package hls owns everything Sunomi writes for HLS playback once the
// segments exist: media (rung) and master playlists, both written and parsed
// back for validation; the bit-rate measurement that feeds BANDWIDTH and
// AVERAGE-BANDWIDTH; RFC 6381 codec strings; the poster and storyboard
// helpers used when a job is stitched; the text edits playlists get as they
// are served (signed URIs, subtitle renditions); and WebVTT caption files,
// checked and mapped onto the segments' timeline.
//
// The package is pure computation over bytes and images. It never touches
// storage: callers read and write the blobs and hand the contents in.
package hls

import (
	"errors"
	"fmt"
)

// ErrInvalidPlaylist is wrapped by every error the playlist parsers return,
// so callers can tell bad input from their own failures with errors.Is.
var ErrInvalidPlaylist = errors.New("hls: invalid playlist")

// ErrNoSPS is returned by AVCCodecString when the data holds no complete
// H.264 sequence parameter set.
var ErrNoSPS = errors.New("hls: no H.264 SPS found")

// ParseError reports where a playlist is malformed. It unwraps to
// ErrInvalidPlaylist.
type ParseError struct {
	Line   int    // 1-based line number in the input
	Reason string // what is wrong, as a phrase
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%v: line %d: %s", ErrInvalidPlaylist, e.Line, e.Reason)
}

func (e *ParseError) Unwrap() error { return ErrInvalidPlaylist }

func parseErrorf(line int, format string, args ...any) error {
	return &ParseError{Line: line, Reason: fmt.Sprintf(format, args...)}
}
