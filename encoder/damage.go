package encoder

import (
	"fmt"
	"strings"
)

// damageWarnings says which frames of the chunk the decoder lost or could
// only conceal, by their times on the output timeline, so that the owner of
// a damaged upload learns where to look.
func (e *chunkEncoder) damageWarnings() []string {
	var out []string
	chunk := e.spec.Chunk.Index
	if n := len(e.filledAt); n > 0 {
		out = append(out, fmt.Sprintf("chunk %d: %s could not be decoded (%s); repeated pictures fill their place",
			chunk, plural(n, "frame"), e.describeTimes(e.filledAt)))
	}
	if n := len(e.damagedAt); n > 0 {
		out = append(out, fmt.Sprintf("chunk %d: %s decoded with damage the decoder concealed (%s)",
			chunk, plural(n, "frame"), e.describeTimes(e.damagedAt)))
	}
	if e.src.errors > 0 {
		out = append(out, fmt.Sprintf("chunk %d: the decoder rejected %s", chunk, plural(e.src.errors, "packet")))
	}
	return out
}

// maxSpans bounds how many runs of frames a warning lists.
const maxSpans = 8

// describeTimes lists increasing frame times as runs of consecutive frames
// ("at 0.000 s", "2.000–2.467 s"), at most maxSpans of them.
func (e *chunkEncoder) describeTimes(pts []int64) string {
	// Frames further apart than 1.5 frame durations start a new run.
	gap := 1.5 * (1 / e.set.FrameRate.Float()) * float64(max(e.set.FrameStep, 1))
	var spans []string
	from := 0
	for i := 1; i <= len(pts); i++ {
		if i < len(pts) && e.seconds(pts[i])-e.seconds(pts[i-1]) <= gap {
			continue
		}
		if len(spans) == maxSpans {
			spans = append(spans, "…")
			break
		}
		if i-1 == from {
			spans = append(spans, fmt.Sprintf("at %.3f s", e.seconds(pts[from])))
		} else {
			spans = append(spans, fmt.Sprintf("%.3f–%.3f s", e.seconds(pts[from]), e.seconds(pts[i-1])))
		}
		from = i
	}
	return strings.Join(spans, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
