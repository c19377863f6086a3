package media

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Codec is the codec family of a rung.
type Codec string

// Codec families. CodecH264 is the empty string: every rung recorded before
// AV1 existed is H.264.
const (
	CodecH264 Codec = ""
	CodecAV1  Codec = "av1"
)

// AV1Policy says which rungs of a ladder also get an AV1 rendition.
type AV1Policy string

// AV1 policies of `sunomi transcode`: none, or every rung of the ladder.
const (
	AV1Off AV1Policy = "off"
	AV1All AV1Policy = "all"
)

// ParseAV1Policy checks a policy named by a user ("" is off).
func ParseAV1Policy(s string) (AV1Policy, error) {
	switch p := AV1Policy(s); p {
	case "":
		return AV1Off, nil
	case AV1Off, AV1All:
		return p, nil
	}
	return "", fmt.Errorf("unknown AV1 policy %q (choose %s or %s)", s, AV1Off, AV1All)
}

// ErrAV1NeedsFMP4 refuses AV1 rungs in MPEG-TS segments: AV1 in MPEG-TS
// is no HLS form any player reads, so AV1 rungs are CMAF only.
var ErrAV1NeedsFMP4 = errors.New("AV1 rungs are written as fMP4 (CMAF) segments only: use --segments fmp4")

// CheckAV1 refuses option sets that ask for AV1 rungs in MPEG-TS.
func (o Options) CheckAV1() error {
	if o.AV1 == AV1All && o.Segments.OrTS() != SegmentsFMP4 {
		return ErrAV1NeedsFMP4
	}
	return nil
}

// AV1Settings are the SVT-AV1 settings of one AV1 rung.
type AV1Settings struct {
	// Preset is SVT-AV1's speed preset: 0 (slowest, smallest) to 13.
	Preset int `json:"preset"`
	// CRF is the constant rate factor, 0 to 63; the rung's MaxBitrate caps it.
	CRF int `json:"crf"`
}

// av1SettingsByShort are the preset and CRF of each AV1 rung by its short
// side, largest first, chosen with `make bench-codecs` (README, "AV1
// rungs"): at 1080p preset 6, which saves 40% of the bits at equal PSNR
// where preset 8 saved 28% (the issue asks for 30%), at twice the CPU; at
// 720p preset 8, which saves 44% already (the faster preset 10 saves far
// fewer bits); at each rung the CRF whose PSNR matches the H.264 rung's at
// CRF 21, averaged over the benchmark's sources. Rungs above 1080p take
// 1080p's, rungs below 720p 720p's.
var av1SettingsByShort = []struct {
	short int
	set   AV1Settings
}{
	{1080, AV1Settings{Preset: 6, CRF: 34}},
	{0, AV1Settings{Preset: 8, CRF: 36}},
}

// AV1SettingsFor is the preset and CRF of an AV1 rung with the given short
// side: those of the largest benchmarked rung not above it.
func AV1SettingsFor(short int) AV1Settings {
	for _, s := range av1SettingsByShort {
		if short >= s.short {
			return s.set
		}
	}
	return av1SettingsByShort[len(av1SettingsByShort)-1].set
}

// av1MinSide is SVT-AV1's smallest picture side.
const av1MinSide = 64

// av1Suffix ends the name of an AV1 rung, so that it never collides with
// the H.264 rung of the same size: 720p and 720p-av1.
const av1Suffix = "-av1"

// IsAV1RungName reports whether a rung name is an AV1 rung's (WithAV1).
func IsAV1RungName(name string) bool { return strings.HasSuffix(name, av1Suffix) }

// WithAV1 returns the ladder with an AV1 rung for every H.264 rung the
// policy picks, after all the H.264 rungs: players that take the first
// variant, or cannot decode AV1, start on H.264. Pictures smaller than
// SVT-AV1 accepts stay H.264 only.
func WithAV1(rungs []Rung, policy AV1Policy) []Rung {
	if policy != AV1All {
		return rungs
	}
	out := rungs
	for _, r := range rungs {
		if r.Codec != CodecH264 || min(r.Width, r.Height) < av1MinSide {
			continue
		}
		av1 := r
		av1.Name += av1Suffix
		av1.Codec = CodecAV1
		set := AV1SettingsFor(r.Short)
		av1.AV1 = &set
		out = append(out[:len(out):len(out)], av1)
	}
	return out
}

// SeparateAV1 moves the AV1 rungs out of the ladder into AV1Rungs. The farm
// encodes each of them per chunk in a task of its own, of lower priority
// than every H.264 task, so that the H.264 ladder is encoded, published and
// stitched exactly as it would be without AV1.
func (r *SplitResult) SeparateAV1() {
	if r.Video == nil {
		return
	}
	var h264 []Rung
	for _, rung := range r.Video.Rungs {
		if rung.Codec == CodecAV1 {
			r.AV1Rungs = append(r.AV1Rungs, rung)
		} else {
			h264 = append(h264, rung)
		}
	}
	r.Video.Rungs = h264
}

// AV1EncodeSpec is the spec of the farm's AV1 task for one chunk and one AV1
// rung: the chunk's frames on the same segment boundaries as its H.264 task,
// that rung alone, and none of the extras (thumbnails, poster, perceptual
// hashes) the chunk's H.264 task already makes.
func AV1EncodeSpec(c ChunkSpec, video VideoSettings, rung Rung) EncodeSpec {
	video.Rungs = []Rung{rung}
	video.ThumbnailInterval, video.PHashInterval = 0, 0
	return EncodeSpec{Chunk: c, Video: video}
}

// AV1RungResults are the results of one AV1 rung's tasks, by chunk index.
type AV1RungResults struct {
	Rung   Rung
	Chunks []*ChunkResult
}

// LadderWithAV1 joins a finished H.264 ladder's results and the results of
// complete AV1 rungs into the results of one ladder, AV1 rungs after the
// H.264 ones, for BuildPlaylists. Each AV1 task must report the one rung it
// encoded on exactly the segments of its chunk's H.264 task: the variants
// switch at the same instants.
func LadderWithAV1(split *SplitResult, chunks []*ChunkResult, av1 []AV1RungResults) (*SplitResult, []*ChunkResult, error) {
	if split.Video == nil {
		return nil, nil, errors.New("the ladder has no video")
	}
	video := *split.Video
	video.Rungs = slices.Clone(video.Rungs)
	joined := make([]*ChunkResult, len(chunks))
	for i, c := range chunks {
		if c == nil {
			return nil, nil, fmt.Errorf("chunk %d has no H.264 result", i)
		}
		cc := *c
		cc.Rungs = slices.Clone(c.Rungs)
		joined[i] = &cc
	}
	for _, r := range av1 {
		if len(r.Chunks) != len(chunks) {
			return nil, nil, fmt.Errorf("AV1 rung %s: %d chunk results, want %d", r.Rung.Name, len(r.Chunks), len(chunks))
		}
		for i, c := range r.Chunks {
			if c == nil || len(c.Rungs) != 1 || c.Rungs[0].Name != r.Rung.Name {
				return nil, nil, fmt.Errorf("AV1 rung %s: chunk %d has no result for the rung", r.Rung.Name, i)
			}
			if !sameSegments(c.Segments, chunks[i].Segments) {
				return nil, nil, fmt.Errorf("AV1 rung %s: the segments of chunk %d differ from the H.264 rungs'", r.Rung.Name, i)
			}
			joined[i].Rungs = append(joined[i].Rungs, c.Rungs[0])
		}
		video.Rungs = append(video.Rungs, r.Rung)
	}
	out := *split
	out.Video = &video
	return &out, joined, nil
}

// sameSegments reports whether two tasks of a chunk cut it into the same
// segments: same indexes, starts and durations within a millisecond.
func sameSegments(a, b []SegmentTiming) bool {
	return slices.EqualFunc(a, b, func(x, y SegmentTiming) bool {
		return x.Index == y.Index && math.Abs(x.Start-y.Start) < 1e-3 && math.Abs(x.Duration-y.Duration) < 1e-3
	})
}
