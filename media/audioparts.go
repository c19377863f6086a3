package media

import (
	"fmt"
	"slices"
)

// MergeAudioParts joins the results of a track's parts, in order, into the
// result one audio task would have reported: the segments one after the
// other, the first part's codec and fMP4 init segment (every part encodes the
// same AAC configuration, as a ladder's chunks share the first chunk's
// init; a warning says when one does not), the last part's speech track
// (the rest writes the whole track's), and every warning once.
func MergeAudioParts(parts []*AudioResult) *AudioResult {
	merged := *parts[0]
	merged.Segments, merged.Warnings = nil, nil
	for _, p := range parts {
		merged.Segments = append(merged.Segments, p.Segments...)
		merged.Speech = p.Speech
		warnings := p.Warnings
		if p.Init != nil && merged.Init != nil && p.Init.Config != merged.Init.Config {
			warnings = append(warnings[:len(warnings):len(warnings)],
				"audio: the codec configuration of the rest differs from the published init segment's; players may fail to decode it")
		}
		for _, w := range warnings {
			if !slices.Contains(merged.Warnings, w) {
				merged.Warnings = append(merged.Warnings, w)
			}
		}
	}
	return &merged
}

// audioFrame is one AAC frame, in seconds: the most a part's range may be
// off the boundary it was planned on (the join is on the frame grid).
const audioFrame = 1024.0 / 48000

// CheckAudioPart refuses an audio task's spec that is not the part of the
// track its job may add: the head's ends within one AAC frame after the
// first chunk's end (headEnd, on the output timeline); the rest starts
// exactly where the head's part ends (headAudio).
func CheckAudioPart(spec *AudioSpec, head bool, headEnd, headAudio float64) error {
	switch {
	case head:
		if spec.Part != AudioPartHead || spec.From != 0 || spec.Duration <= 0 ||
			spec.Duration < headEnd || spec.Duration > headEnd+audioFrame+1e-9 {
			return fmt.Errorf("the head's audio is part %d [%.6f s, %.6f s), want part %d ending at the first chunk's end %.6f s",
				spec.Part, spec.From, spec.Duration, AudioPartHead, headEnd)
		}
	default:
		if spec.Part != AudioPartRest || spec.From != headAudio || (spec.Duration != 0 && spec.Duration <= spec.From) {
			return fmt.Errorf("the rest of the audio is part %d from %.6f s to %.6f s, want part %d from the head's end %.6f s",
				spec.Part, spec.From, spec.Duration, AudioPartRest, headAudio)
		}
	}
	return nil
}
