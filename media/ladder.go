package media

import (
	"fmt"
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
	// Codec is the rung's codec family (CodecH264, the empty string, in
	// ladders recorded before AV1 existed); AV1 its SVT-AV1 settings.
	Codec Codec        `json:"codec,omitempty"`
	AV1   *AV1Settings `json:"av1,omitempty"`
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
