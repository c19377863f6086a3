package scheduler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sunomi/sunomi/media"
)

// A split that reports a head may add the first part of the job's audio
// with it — the track from the origin to the first chunk's end (Index 0) —
// so that the audio rendition's first segment publishes within seconds
// rather than when the whole track is encoded; its Complete then adds the
// rest as parts 1..N (media.AudioParts), each ending on a chunk's end and
// continuing the part before it, so that the audio playlist grows part by
// part. Without a head audio part, the Complete adds the whole track
// (Index 0). Results merges the parts' winners in order, as far as they are
// done.

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

// AudioTaskID is the id of a job's audio task of the given part: the whole
// track's or the head's (part 0), or part k of the rest.
func AudioTaskID(jobID string, part int) string {
	if part == media.AudioPartHead {
		return jobID + "-audio"
	}
	return fmt.Sprintf("%s-audio-p%d", jobID, part)
}

// legacyAudioRestID is the id of the one task that held the rest of the
// audio before the rest had parts: logs and snapshots may still plan it.
func legacyAudioRestID(jobID string) string { return jobID + "-audio-rest" }

// checkHeadAudio validates the audio task a head reports, at most one: the
// head's part, ending at the first chunk's end (firstEnd).
func (s *state) checkHeadAudio(j *job, audio []NewTask, firstEnd float64) error {
	if len(audio) == 0 {
		return nil
	}
	if len(audio) > 1 {
		return invalid("head of job %q: %d audio tasks, want at most one", j.ID, len(audio))
	}
	nt := audio[0]
	if nt.ID != AudioTaskID(j.ID, media.AudioPartHead) || nt.Index != media.AudioPartHead {
		return invalid("head of job %q: audio task %q has index %d, want %q, index %d",
			j.ID, nt.ID, nt.Index, AudioTaskID(j.ID, media.AudioPartHead), media.AudioPartHead)
	}
	spec, err := audioSpec(j.ID, nt.ID, nt.Spec)
	if err != nil {
		return err
	}
	if err := media.CheckAudioHead(spec, firstEnd); err != nil {
		return invalid("head of job %q: audio task %q: %v", j.ID, nt.ID, err)
	}
	return nil
}

// checkRestAudio validates the audio tasks a split's Complete reports: at
// most one, the whole track, when the head added no audio part; else the
// rest of the track after the head's part as parts 1..N (media.CheckAudioRest),
// their ends on the ends of the chunks the Complete adds (encodes). Part k
// has index k and id AudioTaskID(job, k) — a rest of one part may have the
// id it had before the rest had parts — so that no task is numbered twice,
// out of order, or with another job's id.
func (s *state) checkRestAudio(j *job, audio, encodes []NewTask) error {
	recorded := s.audioTasks(j)
	if len(recorded) == 0 {
		if len(audio) > 1 {
			return invalid("split of job %q: %d audio tasks, want at most one, the whole track", j.ID, len(audio))
		}
		return nil // the whole track, as before heads had audio
	}
	if len(audio) == 0 {
		return invalid("split of job %q: the head encodes the audio's start, the completion adds no rest", j.ID)
	}
	head, err := audioSpec(j.ID, recorded[0].ID, recorded[0].Spec)
	if err != nil {
		return err
	}
	parts := slices.SortedStableFunc(slices.Values(audio), func(a, b NewTask) int { return a.Index - b.Index })
	specs := make([]media.AudioSpec, len(parts))
	for i, nt := range parts {
		k := i + media.AudioPartRest
		legacy := len(parts) == 1 && nt.ID == legacyAudioRestID(j.ID)
		if nt.Index != k || (nt.ID != AudioTaskID(j.ID, k) && !legacy) {
			return invalid("split of job %q: audio task %q has index %d, want parts %q… indexed 1..%d",
				j.ID, nt.ID, nt.Index, AudioTaskID(j.ID, media.AudioPartRest), len(parts))
		}
		spec, err := audioSpec(j.ID, nt.ID, nt.Spec)
		if err != nil {
			return err
		}
		specs[i] = *spec
	}
	var chunkEnds []float64
	if len(parts) > 1 { // a rest of one part ends where the track does
		if chunkEnds, err = encodeChunkEnds(j.ID, encodes); err != nil {
			return err
		}
	}
	if err := media.CheckAudioRest(specs, head.Duration, chunkEnds); err != nil {
		return invalid("split of job %q: %v", j.ID, err)
	}
	return nil
}

// audioSpec decodes the spec of a job's audio task.
func audioSpec(jobID, taskID string, raw json.RawMessage) (*media.AudioSpec, error) {
	var spec media.AudioSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, invalid("job %q: audio task %q: spec: %v", jobID, taskID, err)
	}
	return &spec, nil
}

// encodeChunkEnds lists where the chunks of encode tasks end, from their
// specs.
func encodeChunkEnds(jobID string, encodes []NewTask) ([]float64, error) {
	var ends []float64
	for _, nt := range encodes {
		var spec media.EncodeSpec
		if err := json.Unmarshal(nt.Spec, &spec); err != nil {
			return nil, invalid("split of job %q: encode task %q: spec: %v", jobID, nt.ID, err)
		}
		ends = append(ends, spec.Chunk.Chunk.End)
	}
	return ends, nil
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
