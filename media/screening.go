package media

import (
	"fmt"

	"github.com/sunomi/sunomi/phash"
)

// ScreeningPrefix is what the leader publishes (layout.ScreeningFile) while a
// job encodes, for the API to screen a video before anyone but its owner sees
// it: the frame hashes and thumbnails of the chunks finished in timeline
// order. The API checks each new chunk as the prefix grows and lets others
// watch up to where it checked (Seconds), so a clean upload is public seconds
// after its first chunk, and a re-upload of removed content is held before
// anyone else sees a frame of it.
type ScreeningPrefix struct {
	// Chunks is how many chunks, from the first, the prefix covers.
	Chunks int `json:"chunks"`
	// Seconds is where the prefix ends on the timeline: the sum of its
	// segments' durations, as the playlists count them.
	Seconds float64 `json:"seconds"`
	// PHash is the prefix's frame hashes; nil when a chunk has none (the
	// split did not ask for them, or a frame format hashing cannot read).
	PHash *phash.Track `json:"phash,omitempty"`
	// Frames are the prefix's thumbnails, relative to the output prefix:
	// what the classifier looks at.
	Frames []ImageFile `json:"frames"`
}

// BuildScreeningPrefix describes the chunks finished from the first on
// (those before the first nil result).
func BuildScreeningPrefix(split *SplitResult, chunks []*ChunkResult) ScreeningPrefix {
	p := ScreeningPrefix{Frames: []ImageFile{}}
	for _, c := range chunks {
		if c == nil {
			break
		}
		p.Chunks++
		for _, s := range c.Segments {
			p.Seconds += s.Duration
		}
		p.Frames = append(p.Frames, c.Thumbnails...)
	}
	if split.Video != nil && split.Video.PHashInterval > 0 {
		if track, err := JoinFrameHashes(split.Video.PHashInterval, chunks[:p.Chunks]); err == nil {
			p.PHash = &track
		}
	}
	return p
}

// JoinFrameHashes joins the chunks' perceptual hashes into one track. Each
// chunk hashed the marks of its own part of the timeline, so the
// concatenation in chunk order covers the timeline; a chunk without hashes,
// or whose marks do not continue the previous chunk's, is an error: a track
// with a gap would compare wrong frames.
func JoinFrameHashes(interval float64, chunks []*ChunkResult) (phash.Track, error) {
	track := phash.Track{IntervalSeconds: interval, Hashes: []phash.Hash{}}
	for i, c := range chunks {
		h := c.PHash
		switch {
		case h == nil:
			return track, fmt.Errorf("chunk %d has no perceptual hashes", i)
		case h.Interval != interval || h.First != len(track.Hashes):
			return track, fmt.Errorf("chunk %d hashes marks from %d every %g s, want from %d every %g s",
				i, h.First, h.Interval, len(track.Hashes), interval)
		}
		track.Hashes = append(track.Hashes, h.Hashes...)
	}
	return track, nil
}
