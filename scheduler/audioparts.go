package scheduler

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/sunomi/sunomi/media"
)

// A split that reports a head may add the first part of the job's audio
// with it — the track from the origin to the first chunk's end (Index 0) —
// so that the audio rendition's first segment publishes within seconds
// rather than when the whole track is encoded; its Complete then adds the
// rest (Index 1), which continues the head's segments (media.AudioPartRest).
// Without a head audio part, the Complete adds the whole track (Index 0).
// Results merges the parts' winners in order, as far as they are done.

// audioTasks lists a job's audio tasks by part.
func (s *state) audioTasks(j *job) []*task {
	var parts []*task
	for _, id := range j.Tasks {
		if t := s.Tasks[id]; t.Kind == KindAudio {
			parts = append(parts, t)
		}
	}
	slices.SortStableFunc(parts, func(a, b *task) int { return a.Index - b.Index })
	return parts
}

// checkAudioTasks validates the audio tasks a split reports, at most one:
// the head's part, ending at the first chunk's end (head set, firstEnd the
// chunk's end), or the completion's, which is the rest of the head's part
// when the head added one and the whole track otherwise.
func (s *state) checkAudioTasks(j *job, audio []NewTask, head bool, firstEnd float64) error {
	if len(audio) > 1 {
		return invalid("split of job %q: %d audio tasks, want at most one", j.ID, len(audio))
	}
	var headAudio *task
	if parts := s.audioTasks(j); len(parts) > 0 {
		headAudio = parts[0]
	}
	if len(audio) == 0 {
		if !head && headAudio != nil {
			return invalid("split of job %q: the head encodes the audio's start, the completion adds no rest", j.ID)
		}
		return nil
	}
	nt := audio[0]
	if !head && headAudio == nil {
		return nil // the whole track, as before heads had audio
	}
	var spec media.AudioSpec
	if err := json.Unmarshal(nt.Spec, &spec); err != nil {
		return invalid("split of job %q: audio task %q: spec: %v", j.ID, nt.ID, err)
	}
	var headEnd float64
	wantIndex := 0
	if headAudio != nil {
		var hs media.AudioSpec
		if err := json.Unmarshal(headAudio.Spec, &hs); err != nil {
			return invalid("split of job %q: recorded audio task %q: spec: %v", j.ID, headAudio.ID, err)
		}
		headEnd, wantIndex = hs.Duration, media.AudioPartRest
	}
	if nt.Index != wantIndex {
		return invalid("split of job %q: audio task %q has index %d, want %d", j.ID, nt.ID, nt.Index, wantIndex)
	}
	if err := media.CheckAudioPart(&spec, head, firstEnd, headEnd); err != nil {
		return invalid("split of job %q: audio task %q: %v", j.ID, nt.ID, err)
	}
	return nil
}

// firstChunkEnd is where a head's first chunk ends, from its encode tasks'
// specs (every part of a spread chunk names the same chunk).
func firstChunkEnd(jobID string, tasks []NewTask) (float64, error) {
	for _, nt := range tasks {
		if nt.Kind != KindEncode || nt.Index != 0 {
			continue
		}
		var spec media.EncodeSpec
		if err := json.Unmarshal(nt.Spec, &spec); err != nil {
			return 0, invalid("head of job %q: encode task %q: spec: %v", jobID, nt.ID, err)
		}
		return spec.Chunk.Chunk.End, nil
	}
	return 0, invalid("head of job %q: no task encodes chunk 0", jobID)
}

// audioResult is a job's audio result: its one task's winner, or its parts'
// winners merged as far as they are done in order (nil before the first).
func (s *state) audioResult(j *job) json.RawMessage {
	parts := s.audioTasks(j)
	if len(parts) == 1 {
		return bytes.Clone(parts[0].Result)
	}
	var results []*media.AudioResult
	for _, p := range parts {
		if p.State != StateDone {
			break
		}
		var r media.AudioResult
		if json.Unmarshal(p.Result, &r) != nil {
			break
		}
		results = append(results, &r)
	}
	if len(results) == 0 {
		return nil
	}
	b, err := json.Marshal(media.MergeAudioParts(results))
	if err != nil {
		return nil
	}
	return b
}
