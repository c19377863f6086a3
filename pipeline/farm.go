package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/segmenter"
)

// The farm runs the same tasks as Transcode, one at a time on agents. A task
// reads its inputs from local files (the agent downloads them from presigned
// URLs), writes its outputs into an empty directory (the agent uploads every
// file in it) and returns a JSON result that the coordinator records.

// Task kinds.
const (
	KindSplit  = "split"
	KindEncode = "encode"
	KindAudio  = "audio"
	KindStitch = "stitch"
)

// SplitSpec is the split task's spec; its one input is "source".
type SplitSpec struct {
	Options Options `json:"options"`
}

// SplitInput names the split task's input.
const SplitInput = "source"

// EncodeSpec is an encode task's spec; its one input is the chunk file
// named by Chunk.Source.
type EncodeSpec struct {
	Chunk encoder.ChunkSpec     `json:"chunk"`
	Video encoder.VideoSettings `json:"video"`
}

// StitchSpec is the stitch task's spec: the split's job and the winning
// results. Its inputs are the thumbnail, poster and speech track files the
// results name.
type StitchSpec struct {
	Job    *Job                   `json:"job"`
	Chunks []*encoder.ChunkResult `json:"chunks"`
	Audio  *encoder.AudioResult   `json:"audio,omitempty"`
}

// Inputs lists the files the stitch task needs: every thumbnail and poster
// candidate of the winning chunk attempts, and the winning audio attempt's
// speech track, which the stitch publishes under its final name.
func (s StitchSpec) Inputs() []string {
	var names []string
	for _, c := range s.Chunks {
		for _, t := range c.Thumbnails {
			names = append(names, t.File)
		}
		if c.Poster != nil {
			names = append(names, c.Poster.File)
		}
	}
	if s.Audio != nil && s.Audio.Speech != nil {
		names = append(names, s.Audio.Speech.File)
	}
	return names
}

type (
	progressKey struct{}
	threadsKey  struct{}
	encoderKey  struct{}
)

// WithThreads returns a context under which RunTask's encode tasks encode at
// most n rungs at once (n <= 0: all at once).
func WithThreads(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, threadsKey{}, n)
}

// WithProgress returns a context under which RunTask reports the frames an
// encode task has encoded so far to fn (the agent's child process prints
// them for its parent).
func WithProgress(ctx context.Context, fn func(frames int64)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// WithEncoder makes an encode task run with the named H.264 encoder: the
// one the scheduler resolved for this agent when it leased the attempt,
// rather than the one the split chose on whichever agent ran it.
func WithEncoder(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, encoderKey{}, name)
}

// EncoderOf is the encoder WithEncoder set, or "".
func EncoderOf(ctx context.Context) string {
	name, _ := ctx.Value(encoderKey{}).(string)
	return name
}

// ErrPermanent marks task failures that another attempt cannot fix.
var ErrPermanent = errors.New("permanent failure")

// RunTask runs one farm task. inputs maps input names to local files; for
// the stitch task they must already lie at outDir/<name>. Files it writes in
// outDir are the task's outputs, named by their path relative to outDir.
func RunTask(ctx context.Context, kind string, spec json.RawMessage, inputs map[string]string, outDir string) (json.RawMessage, error) {
	var result any
	switch kind {
	case KindSplit:
		var s SplitSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: split spec: %v", ErrPermanent, err)
		}
		job, err := Split(ctx, inputs[SplitInput], outDir, "", s.Options)
		if err != nil {
			return nil, err
		}
		// Outputs are named relative to outDir, wherever the agent put it.
		for i, c := range job.Extracted.Chunks {
			job.Extracted.Chunks[i] = filepath.Base(c)
			job.Chunks[i].Source = filepath.Base(c)
		}
		if job.Audio != nil {
			job.Extracted.Audio = filepath.Base(job.Extracted.Audio)
			job.Audio.Source = job.Extracted.Audio
		}
		result = job
	case KindEncode:
		var s EncodeSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: encode spec: %v", ErrPermanent, err)
		}
		s.Chunk.Source, s.Chunk.OutDir = inputs[s.Chunk.Source], outDir
		s.Chunk.Progress, _ = ctx.Value(progressKey{}).(func(int64))
		s.Chunk.Threads, _ = ctx.Value(threadsKey{}).(int)
		if name := EncoderOf(ctx); name != "" {
			s.Video.H264.Encoder = name
		}
		// The split ran elsewhere: an encoder it chose may not open on this
		// host (no GPU here), so fall back as --encoder auto would.
		if _, err := encoder.ResolveEncoder(s.Video.H264.Encoder); err != nil {
			s.Video.H264.Encoder, _ = encoder.ResolveEncoder(encoder.EncoderAuto)
		}
		res, err := encoder.EncodeChunk(ctx, s.Chunk, s.Video)
		if err != nil {
			return nil, err
		}
		result = res
	case KindAudio:
		var s encoder.AudioSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: audio spec: %v", ErrPermanent, err)
		}
		s.Source, s.OutDir = inputs[s.Source], outDir
		res, err := encoder.EncodeAudio(ctx, s)
		if err != nil {
			return nil, err
		}
		result = res
	case KindStitch:
		var s StitchSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: stitch spec: %v", ErrPermanent, err)
		}
		out, err := Stitch(outDir, s.Job, s.Chunks, s.Audio, true)
		if err != nil {
			return nil, err
		}
		// Thumbnails were inputs; the storyboard replaces them.
		if err := os.RemoveAll(filepath.Join(outDir, "thumbs")); err != nil {
			return nil, err
		}
		result = out
	default:
		return nil, fmt.Errorf("%w: unknown task kind %q", ErrPermanent, kind)
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("encode %s result: %w", kind, err)
	}
	return b, nil
}

// IsPermanent reports whether a task error is one that retrying elsewhere
// cannot fix: invalid input, or a malformed task.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrPermanent) || errors.Is(err, segmenter.ErrInvalidMedia)
}
