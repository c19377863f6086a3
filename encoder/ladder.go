// Package encoder owns the encoding side of the pipeline: the ladder policy,
// one decode of a chunk feeding a scaler and an encoder per rung (H.264, or
// SVT-AV1 for AV1 rungs), the audio encode, MPEG-TS and fMP4 segment muxing,
// thumbnails, and the probe of which encoders actually open on this host. It
// knows nothing of Raft or HTTP.
package encoder

import (
	"fmt"
	"math"

	"github.com/sunomi/sunomi/media"
)

// Ladder picks the rungs for an upright display size: every spec whose short
// side does not exceed the source's (never upscale), and when none fits, one
// rung at the source's own size so that tiny videos still play.
func Ladder(displayW, displayH int, specs []media.RungSpec) []media.Rung {
	short := min(displayW, displayH)
	var rungs []media.Rung
	for _, s := range specs {
		if s.Short <= short {
			rungs = append(rungs, rungFor(displayW, displayH, s.Short, s.MaxBitrate))
		}
	}
	if len(rungs) == 0 && len(specs) > 0 {
		smallest := specs[len(specs)-1]
		// Round down: an odd short side must not become a larger rung.
		rungs = append(rungs, rungFor(displayW, displayH, max(2, short&^1), smallest.MaxBitrate))
	}
	return rungs
}

// rungFor scales the display size so its short side is short, keeping the
// aspect ratio and rounding both sides to even numbers as 4:2:0 requires.
func rungFor(displayW, displayH, short int, maxBitrate int64) media.Rung {
	w, h := short, short
	if displayW >= displayH {
		w = evenOf(float64(displayW) * float64(short) / float64(displayH))
	} else {
		h = evenOf(float64(displayH) * float64(short) / float64(displayW))
	}
	return media.Rung{Name: fmt.Sprintf("%dp", short), Short: short, Width: w, Height: h, MaxBitrate: maxBitrate}
}

// evenOf rounds to the nearest even number, at least 2.
func evenOf(x float64) int { return max(2, 2*int(math.Round(x/2))) }
