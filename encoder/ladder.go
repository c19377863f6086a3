// Package encoder owns the encoding side of the pipeline: the ladder policy,
// one decode of a chunk feeding a scaler and an H.264 encoder per rung, the
// audio encode, MPEG-TS segment muxing, thumbnails, and the probe of which
// encoders actually open on this host. It knows nothing of Raft or HTTP.
package encoder

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Rung is one rendition of the ladder.
type Rung struct {
	Name       string `json:"name"`  // "720p"
	Short      int    `json:"short"` // the short side it is named after
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	MaxBitrate int64  `json:"maxBitrate"` // bits per second; bufsize is twice this
}

// DefaultRungs are the short sides of the default ladder, largest first,
// with their maximum bit rates (DESIGN.md).
var DefaultRungs = []RungSpec{
	{2160, 16_000_000}, {1440, 10_000_000}, {1080, 6_000_000}, {720, 3_000_000},
	{480, 1_500_000}, {360, 800_000}, {240, 400_000},
}

// RungSpec is a rung of a ladder before it meets a source.
type RungSpec struct {
	Short      int
	MaxBitrate int64
}

// ParseRungs parses a comma-separated list of short sides ("1080,720,480")
// into specs, taking bit rates from the default ladder.
func ParseRungs(s string) ([]RungSpec, error) {
	var specs []RungSpec
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSuffix(strings.TrimSpace(f), "p")
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("rung %q is not a number of lines", f)
		}
		i := slices.IndexFunc(DefaultRungs, func(r RungSpec) bool { return r.Short == n })
		if i < 0 {
			return nil, fmt.Errorf("rung %d is not one of 2160, 1440, 1080, 720, 480, 360, 240", n)
		}
		specs = append(specs, DefaultRungs[i])
	}
	slices.SortFunc(specs, func(a, b RungSpec) int { return b.Short - a.Short })
	return slices.CompactFunc(specs, func(a, b RungSpec) bool { return a.Short == b.Short }), nil
}

// Ladder picks the rungs for an upright display size: every spec whose short
// side does not exceed the source's (never upscale), and when none fits, one
// rung at the source's own size so that tiny videos still play.
func Ladder(displayW, displayH int, specs []RungSpec) []Rung {
	short := min(displayW, displayH)
	var rungs []Rung
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
func rungFor(displayW, displayH, short int, maxBitrate int64) Rung {
	w, h := short, short
	if displayW >= displayH {
		w = evenOf(float64(displayW) * float64(short) / float64(displayH))
	} else {
		h = evenOf(float64(displayH) * float64(short) / float64(displayW))
	}
	return Rung{Name: fmt.Sprintf("%dp", short), Short: short, Width: w, Height: h, MaxBitrate: maxBitrate}
}

// evenOf rounds to the nearest even number, at least 2.
func evenOf(x float64) int { return max(2, 2*int(math.Round(x/2))) }
