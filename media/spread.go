package media

import (
	"errors"
	"fmt"
	"slices"
)

// A chunk's rungs may be encoded by several tasks at once, each decoding the
// chunk and encoding a part of the ladder: the farm spreads its first chunk
// over idle slots this way, so that the master playlist, which waits for
// every rendition's first segment, waits for the slowest rung instead of the
// whole ladder. Every part keeps the same frames and segment boundaries, so
// the parts' results merge into the one a single task would have reported.
// The first part, the lead, holds the rung the thumbnails are taken from and
// alone writes them; the part that holds the rung the perceptual fingerprint
// is taken from alone reports it.

// ThumbnailDir is the directory of an encode task's outputs that holds its
// thumbnails and poster candidates.
const ThumbnailDir = "thumbs"

// ThumbnailRung is the rung whose frames become a chunk's thumbnails and
// poster candidates: the largest one no taller than 720 lines (else the
// last one).
func ThumbnailRung(rungs []Rung) int {
	best := len(rungs) - 1
	for i, r := range rungs {
		if r.Short <= 720 {
			return i
		}
		best = i
	}
	return best
}

// HashRung is the rung a chunk's perceptual fingerprint is taken from: the
// one with the fewest pixels.
func HashRung(rungs []Rung) int {
	best := 0
	for i, r := range rungs {
		if r.Width*r.Height < rungs[best].Width*rungs[best].Height {
			best = i
		}
	}
	return best
}

// SpreadRungs divides a ladder into at most n parts of about equal encode
// cost (pixels per frame), each listing its rung names in ladder order. The
// first part is the lead: it holds ThumbnailRung. With n <= 1, or one rung,
// there is one part: the whole ladder.
func SpreadRungs(rungs []Rung, n int) [][]string {
	n = min(n, len(rungs))
	part := make([]int, len(rungs)) // part of each rung
	if n > 1 {
		cost := func(i int) int { return rungs[i].Width * rungs[i].Height }
		load := make([]int, n)
		thumb := ThumbnailRung(rungs)
		load[0] = cost(thumb)
		// The others go largest first to the least loaded part (longest
		// processing time first), the lower part on a tie.
		var rest []int
		for i := range rungs {
			if i != thumb {
				rest = append(rest, i)
			}
		}
		slices.SortStableFunc(rest, func(a, b int) int { return cost(b) - cost(a) })
		for _, i := range rest {
			p := 0
			for q := range load {
				if load[q] < load[p] {
					p = q
				}
			}
			part[i] = p
			load[p] += cost(i)
		}
	}
	parts := make([][]string, max(n, 1))
	for i, r := range rungs {
		parts[part[i]] = append(parts[part[i]], r.Name)
	}
	return slices.DeleteFunc(parts, func(p []string) bool { return len(p) == 0 })
}

// PartSettings are the settings of the task that encodes one part of a
// spread chunk: only its rungs, thumbnails only in the lead part, and the
// fingerprint only in the part that holds HashRung, so that no two parts
// write the same files and the chunk gets each once.
func PartSettings(video VideoSettings, part []string, lead bool) VideoSettings {
	if !slices.Contains(part, video.Rungs[HashRung(video.Rungs)].Name) {
		video.PHashInterval = 0
	}
	video.Rungs = slices.DeleteFunc(slices.Clone(video.Rungs), func(r Rung) bool { return !slices.Contains(part, r.Name) })
	if !lead {
		video.ThumbnailInterval = 0
	}
	return video
}

// ErrPartMismatch is returned for parts of a chunk that do not fit together.
var ErrPartMismatch = errors.New("chunk parts do not match")

// CheckPart checks the result of one part of a spread chunk: the chunk's
// index, exactly the part's rungs in its order, thumbnails and poster only
// from the lead, a fingerprint from one part at most, and the same frames
// and segments as the parts already recorded (done).
func CheckPart(res *ChunkResult, index int, rungs []string, lead bool, done []*ChunkResult) error {
	if res.Index != index {
		return fmt.Errorf("result of chunk %d, want chunk %d: %w", res.Index, index, ErrPartMismatch)
	}
	names := make([]string, len(res.Rungs))
	for i, r := range res.Rungs {
		names[i] = r.Name
	}
	if !slices.Equal(names, rungs) {
		return fmt.Errorf("rungs %v, want exactly %v: %w", names, rungs, ErrPartMismatch)
	}
	if !lead && (len(res.Thumbnails) > 0 || res.Poster != nil) {
		return fmt.Errorf("thumbnails or poster from a part that is not the lead: %w", ErrPartMismatch)
	}
	for _, d := range done {
		if res.Frames != d.Frames || !slices.Equal(res.Segments, d.Segments) {
			return fmt.Errorf("%d frames in %d segments, another part has %d in %d: %w",
				res.Frames, len(res.Segments), d.Frames, len(d.Segments), ErrPartMismatch)
		}
		if res.PHash != nil && d.PHash != nil {
			return fmt.Errorf("a fingerprint from two parts: %w", ErrPartMismatch)
		}
	}
	return nil
}

// MergeParts joins the results of a spread chunk's parts, the lead first,
// into the result one task encoding every rung would have reported: the
// rungs in ladder order (ladder lists the rung names), the lead's frames,
// segments, thumbnails and poster, the fingerprint of the part that has
// one, and every warning once.
func MergeParts(parts []*ChunkResult, ladder []string) *ChunkResult {
	merged := *parts[0]
	merged.Rungs, merged.Warnings = nil, nil
	for _, p := range parts {
		merged.Rungs = append(merged.Rungs, p.Rungs...)
		if p.PHash != nil {
			merged.PHash = p.PHash
		}
		for _, w := range p.Warnings {
			if !slices.Contains(merged.Warnings, w) {
				merged.Warnings = append(merged.Warnings, w)
			}
		}
	}
	slices.SortStableFunc(merged.Rungs, func(a, b RungOutput) int {
		return slices.Index(ladder, a.Name) - slices.Index(ladder, b.Name)
	})
	return &merged
}
