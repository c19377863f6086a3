package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/growfile"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/segmenter"
)

// The farm runs the same tasks as Transcode, one at a time on agents. A task
// reads its inputs from local files (the agent downloads them from presigned
// URLs), writes its outputs into an empty directory (the agent uploads every
// file in it) and returns a JSON result that the coordinator records.

type (
	progressKey struct{}
	threadsKey  struct{}
	encoderKey  struct{}
	headKey     struct{}
	growingKey  struct{}
)

// WithEncoder returns a context under which RunTask's encode tasks encode
// with the named H.264 encoder, whatever the spec requested: the agent
// passes the encoder its lease chose for it.
func WithEncoder(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, encoderKey{}, name)
}

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

// WithHead returns a context under which RunTask's split task reports the
// plan's head (see SplitWithHead) to fn, as a split result of the farm's
// form, before it reads the rest of the source; fn's error fails the task.
func WithHead(ctx context.Context, fn func(result json.RawMessage) error) context.Context {
	return context.WithValue(ctx, headKey{}, fn)
}

// WithGrowingSource returns a context under which RunTask's split task
// reads its source through f, as the agent still downloads it (see
// SplitGrowing), rather than from its input's file.
func WithGrowingSource(ctx context.Context, f *growfile.File) context.Context {
	return context.WithValue(ctx, growingKey{}, f)
}

// farmSplitResult is a split result as the farm records it, leaving job as
// it was: files named relative to the output directory, wherever the agent
// put it, and the AV1 rungs apart, which the farm encodes in tasks of their
// own after the H.264 ladder (see scheduler.KindEncodeAV1).
func farmSplitResult(job *media.SplitResult) *media.SplitResult {
	out := *job
	out.Chunks = slices.Clone(job.Chunks)
	out.Extracted.Chunks = slices.Clone(job.Extracted.Chunks)
	for i, c := range out.Extracted.Chunks {
		out.Extracted.Chunks[i] = filepath.Base(c)
		out.Chunks[i].Source = filepath.Base(c)
	}
	if job.Audio != nil && job.Extracted.Audio != "" {
		audio := *job.Audio
		out.Extracted.Audio = filepath.Base(job.Extracted.Audio)
		audio.Source = out.Extracted.Audio
		out.Audio = &audio
	}
	if job.Video != nil {
		video := *job.Video
		out.Video = &video
	}
	out.SeparateAV1()
	return &out
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
func RunTask(ctx context.Context, kind scheduler.TaskKind, spec json.RawMessage, inputs map[string]string, outDir string) (json.RawMessage, error) {
	var result any
	switch kind {
	case scheduler.KindSplit:
		var s media.SplitSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: split spec: %v", ErrPermanent, err)
		}
		var onHead func(*media.SplitResult) error
		if report, _ := ctx.Value(headKey{}).(func(json.RawMessage) error); report != nil {
			onHead = func(head *media.SplitResult) error {
				b, err := json.Marshal(farmSplitResult(head))
				if err != nil {
					return fmt.Errorf("encode the split's head: %w", err)
				}
				return report(b)
			}
		}
		var job *media.SplitResult
		var err error
		if growing, _ := ctx.Value(growingKey{}).(*growfile.File); growing != nil {
			job, err = SplitGrowing(ctx, growing, outDir, "", s.Options, onHead)
		} else {
			job, err = SplitWithHead(ctx, inputs[media.SplitInput], outDir, "", s.Options, onHead)
		}
		if err != nil {
			return nil, err
		}
		result = farmSplitResult(job)
	case scheduler.KindEncode, scheduler.KindEncodeAV1:
		var s media.EncodeSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: encode spec: %v", ErrPermanent, err)
		}
		s.Chunk.Source, s.Chunk.OutDir = inputs[s.Chunk.Source], outDir
		s.Chunk.Progress, _ = ctx.Value(progressKey{}).(func(int64))
		s.Chunk.Threads, _ = ctx.Value(threadsKey{}).(int)
		s.Video.H264.Encoder = taskEncoder(ctx, s.Video.H264.Encoder)
		res, err := encoder.EncodeChunk(ctx, s.Chunk, s.Video)
		if err != nil {
			return nil, err
		}
		result = res
	case scheduler.KindAudio:
		var s media.AudioSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: audio spec: %v", ErrPermanent, err)
		}
		s.Source, s.OutDir = inputs[s.Source], outDir
		res, err := encoder.EncodeAudio(ctx, s)
		if err != nil {
			return nil, err
		}
		result = res
	case scheduler.KindStitch:
		var s media.StitchSpec
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, fmt.Errorf("%w: stitch spec: %v", ErrPermanent, err)
		}
		res, err := s.Decode()
		if err != nil {
			return nil, fmt.Errorf("%w: stitch spec: %v", ErrPermanent, err)
		}
		if slices.Contains(res.Chunks, nil) {
			return nil, fmt.Errorf("%w: stitch spec: a chunk has no result", ErrPermanent)
		}
		out, err := Stitch(outDir, res.Split, res.Chunks, res.Audio, true)
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

// taskEncoder is the encoder an encode task that requested one runs with
// here: the one WithEncoder set, else the requested one resolved on this
// host — auto, or one that does not open here, becomes the best this host
// has (hardware first, else libx264).
func taskEncoder(ctx context.Context, requested string) string {
	if name := EncoderOf(ctx); name != "" {
		return name
	}
	return media.ChooseEncoder(requested, encoder.AvailableEncoders())
}

// IsPermanent reports whether a task error is one that retrying elsewhere
// cannot fix: invalid input, or a malformed task.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrPermanent) || errors.Is(err, segmenter.ErrInvalidMedia)
}
