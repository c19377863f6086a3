package media

import (
	"fmt"
	"math"
	"slices"
)

// MergeAudioParts joins the results of a track's parts, in order, into the
// result one audio task would have reported: the segments one after the
// other, the first part's codec and fMP4 init segment (every part encodes the
// same AAC configuration, as a ladder's chunks share the first chunk's
// init; a warning says when one does not), the last speech track a part
// wrote (the last part of the rest writes the whole track's, the parts
// before it none), and every warning once.
func MergeAudioParts(parts []*AudioResult) *AudioResult {
	merged := *parts[0]
	merged.Segments, merged.Warnings = nil, nil
	for _, p := range parts {
		merged.Segments = append(merged.Segments, p.Segments...)
		if p.Speech != nil {
			merged.Speech = p.Speech
		}
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

// AAC frames: 1024 samples at 48 kHz, the output's rate.
const (
	audioRate       = 48000
	audioFrameSize  = 1024
	audioFrame      = float64(audioFrameSize) / audioRate // in seconds
	audioFrameSlack = 1e-9
)

// AudioPartBoundary is where the parts of a track join, for a chunk that
// ends at end seconds: the next AAC frame boundary, so that a part's last
// frame is whole and the next part's frames continue it without overlap (a
// frame in MPEG-TS carries no duration: players play all 1024 samples of
// it). A segment of the track encoded in one task starts at the same frame.
func AudioPartBoundary(end float64) float64 {
	frames := math.Ceil(math.Round(end*audioRate) / audioFrameSize)
	return frames * audioFrameSize / audioRate
}

// AudioPartSeconds is about how much of the track each part of the rest
// covers (AudioParts). Audio encodes at about 100× real time, so a minute
// is about half a second of encoding, while each task costs a lease, a
// process start, a download of the extracted track and an upload whatever
// its length, and every part decodes the track from its start up to its
// end (the output timeline's resampling must run from there to give the
// samples one task would). A minute keeps that overhead to a task a minute
// of media — twenty parts of a 20-minute track cost about what one task
// for the whole rest does — and still publishes the audio well ahead of
// the video: a part is done in a second or two, while a minute of 1080p
// video takes minutes of encoding.
const AudioPartSeconds = 60

// AudioParts cuts the rest of a track split at the head — rest, as the
// split reports it: Part AudioPartRest, From the head's end, Duration the
// track's end or 0 — into parts 1..N of about partSeconds each. A part ends
// on the AAC frame boundary after the chunk end nearest to partSeconds past
// its start (chunkEnds, the plan's, in order), where a segment of the track
// encoded in one task starts as well, so the parts' segments are those of
// one task. No part ends at the last chunk's end, and none is shorter than
// half of partSeconds: the last part runs to the rest's end. Only the last
// writes the speech track.
func AudioParts(rest AudioSpec, chunkEnds []float64, partSeconds float64) []AudioSpec {
	end := rest.Duration
	if n := len(chunkEnds); end <= 0 && n > 0 {
		end = chunkEnds[n-1]
	}
	var cuts []float64
	for _, e := range chunkEnds[:max(0, len(chunkEnds)-1)] {
		cuts = append(cuts, AudioPartBoundary(e))
	}
	var parts []AudioSpec
	part := rest
	part.HeadEnd = rest.From
	for i, cut := range cuts {
		target := part.From + partSeconds
		nearer := i+1 < len(cuts) && math.Abs(cuts[i+1]-target) < math.Abs(cut-target)
		if nearer || cut-part.From < partSeconds/2 || end-cut < partSeconds/2 {
			continue
		}
		done := part
		done.Duration, done.NoSpeech = cut, true
		parts = append(parts, done)
		part.Part, part.From = part.Part+1, cut
	}
	return append(parts, part)
}

// CheckAudioHead refuses the spec of a head's audio part that is not the
// track from its origin to the AAC frame boundary at or after the first
// chunk's end (firstEnd, on the output timeline).
func CheckAudioHead(spec *AudioSpec, firstEnd float64) error {
	if spec.Part != AudioPartHead || spec.From != 0 || spec.Duration <= 0 ||
		spec.Duration < firstEnd || spec.Duration > firstEnd+audioFrame+audioFrameSlack {
		return fmt.Errorf("the head's audio is part %d [%.6f s, %.6f s), want part %d ending at the first chunk's end %.6f s",
			spec.Part, spec.From, spec.Duration, AudioPartHead, firstEnd)
	}
	return nil
}

// CheckAudioRest refuses the specs of the rest's parts, in the order of
// their task indexes 1..N, unless they are parts 1..N of the track after the
// head's part, which ends at headAudio: each part starts exactly where the
// one before it ends (the first where the head's ends), numbers its segments
// after the head's, and each but the last ends on the AAC frame boundary
// after one of chunkEnds — where a segment starts, so the parts' segments
// are one task's. A rest of one part may come from a plan that predates
// several parts (no HeadEnd; from the head's end to the track's).
func CheckAudioRest(parts []AudioSpec, headAudio float64, chunkEnds []float64) error {
	from := headAudio
	for i, p := range parts {
		k, last := i+AudioPartRest, i == len(parts)-1
		if p.Part != k || p.From != from {
			return fmt.Errorf("audio part %d is part %d from %.6f s, want part %d from %.6f s, where the part before it ends",
				k, p.Part, p.From, k, from)
		}
		if p.HeadEnd != headAudio && (len(parts) > 1 || p.HeadEnd != 0) {
			return fmt.Errorf("audio part %d numbers its segments after a head ending at %.6f s, want %.6f s", k, p.HeadEnd, headAudio)
		}
		if p.NoSpeech == last {
			return fmt.Errorf("audio part %d of %d: speech track %v, want one from the last part only", k, len(parts), !p.NoSpeech)
		}
		if last {
			if p.Duration != 0 && p.Duration <= p.From {
				return fmt.Errorf("the last audio part ends at %.6f s, before its start %.6f s", p.Duration, p.From)
			}
			break
		}
		if p.Duration <= p.From || !slices.ContainsFunc(chunkEnds, func(e float64) bool { return p.Duration == AudioPartBoundary(e) }) {
			return fmt.Errorf("audio part %d ends at %.6f s, not on a chunk's end after its start %.6f s", k, p.Duration, p.From)
		}
		from = p.Duration
	}
	return nil
}
