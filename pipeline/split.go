// Package pipeline runs the farm's tasks — split, encode chunk, audio,
// stitch — and, for `sunomi transcode`, all of them on one machine with a
// pool of in-process workers. The farm's agents run the same task functions.
package pipeline

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/growfile"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/segmenter"
)

// The extras every ladder gets.
const (
	thumbnailWidth    = 160
	maxThumbnails     = 200
	storyboardColumns = 10
	// phashInterval is the distance in seconds between the frames of a
	// video's perceptual fingerprint (phash.json).
	phashInterval = 2
)

// Split is the split task: probe the source, reject it early if it is over
// the limits, pick the ladder, plan the chunks and extract them into workDir.
// Encode tasks will write into outDir.
func Split(ctx context.Context, src, workDir, outDir string, opts media.Options) (*media.SplitResult, error) {
	return SplitWithHead(ctx, src, workDir, outDir, opts, nil)
}

// SplitWithHead is Split that, when onHead is set, reports the plan's head —
// the ladder and the first chunk, extracted — as soon as it has read the
// first chunk, then reads on (see splitHead).
func SplitWithHead(ctx context.Context, src, workDir, outDir string, opts media.Options, onHead func(*media.SplitResult) error) (*media.SplitResult, error) {
	return split(ctx, src, nil, workDir, outDir, opts, onHead)
}

// SplitGrowing is SplitWithHead on a source still downloading into
// src.Path(): the probe, which cuts and reports the head, reads the bytes
// as they arrive; the extraction of the rest waits for the download to
// complete and reads the finished file. A download that fails fails the
// split with its error.
func SplitGrowing(ctx context.Context, src *growfile.File, workDir, outDir string, opts media.Options, onHead func(*media.SplitResult) error) (*media.SplitResult, error) {
	return split(ctx, src.Path(), src, workDir, outDir, opts, onHead)
}

// split is SplitWithHead of the source at src, which growing, when set,
// still downloads.
func split(ctx context.Context, src string, growing *growfile.File, workDir, outDir string, opts media.Options, onHead func(*media.SplitResult) error) (*media.SplitResult, error) {
	opts = opts.WithDefaults()
	if err := opts.CheckAV1(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	probe, head, err := probeWithHead(ctx, src, growing, workDir, outDir, opts, onHead)
	if err != nil {
		return nil, err
	}
	if err := waitDownload(ctx, growing); err != nil {
		return nil, err
	}
	if err := segmenter.CheckLimits(opts.Limits, probe); err != nil {
		return nil, err
	}
	job := &media.SplitResult{Probe: probe}
	if v := probe.Video; v != nil {
		plan, err := segmenter.GridOf(opts).Plan(v)
		if err != nil {
			return nil, err
		}
		job.Plan = &plan
		job.Video = videoSettings(v, probe.Duration, h264Settings(opts), opts)
	}
	var plan media.Plan
	if job.Plan != nil {
		plan = *job.Plan
	}
	if head == nil {
		job.Extracted, err = segmenter.Extract(ctx, src, probe, plan, workDir)
	} else {
		if err := keepHead(job, head.job); err != nil {
			return nil, err
		}
		job.Extracted, err = segmenter.ExtractRest(ctx, src, probe, plan, workDir, head.cut)
	}
	if err != nil {
		return nil, err
	}
	if job.Plan != nil {
		job.Chunks = chunkSpecs(plan, job.Extracted, outDir)
	}
	if a := probe.Audio; a != nil {
		// Trimming to the probed duration also drops an audio-only file's
		// end padding, which its container hides but the decoder outputs.
		job.Audio = &media.AudioSpec{Source: job.Extracted.Audio, OutDir: outDir, Attempt: 1,
			Params: job.Extracted.AudioParams, Segment: opts.Segment, Origin: audioOrigin(probe, job.Extracted.AudioShift),
			Duration: probe.Duration, Segments: opts.Segments, FirstSegment: plan.FirstSegment}
		if head != nil {
			restOfHeadAudio(job, head.job)
		}
	}
	return job, nil
}

// h264Settings are the job's H.264 settings. The encoder stays as
// requested: each encode task resolves it on the agent that runs it, which
// may have hardware this host lacks.
func h264Settings(opts media.Options) media.H264Settings {
	return media.H264Settings{Encoder: opts.Encoder, Preset: opts.Preset, CRF: opts.CRF}
}

// chunkSpecs are the encode specs of the plan's chunks, extracted.
func chunkSpecs(plan media.Plan, ex media.Extracted, outDir string) []media.ChunkSpec {
	var specs []media.ChunkSpec
	for i, c := range plan.Chunks {
		spec := media.ChunkSpec{Chunk: c, Attempt: 1, Source: ex.Chunks[i], OutDir: outDir,
			TimeBase: plan.TimeBase, OriginPTS: plan.OriginPTS, Shift: ex.VideoShift,
			Params: ex.VideoParams}
		for s := c.FirstSegment; s < c.FirstSegment+c.Segments; s++ {
			spec.Boundaries = append(spec.Boundaries, plan.BoundaryPTS(s))
		}
		specs = append(specs, spec)
	}
	return specs
}

func videoSettings(v *media.VideoStream, duration float64, h264 media.H264Settings, opts media.Options) *media.VideoSettings {
	w, h := v.DisplaySize()
	set := &media.VideoSettings{
		H264:          h264,
		Rungs:         media.WithAV1(encoder.Ladder(w, h, opts.Rungs), opts.AV1),
		Rotation:      v.Rotation,
		Deinterlace:   v.Interlaced,
		FrameRate:     v.FrameRate,
		PeakFrameRate: v.PeakFrameRate,
		FrameStep:     1,
		ConstantRate:  !v.VFR,
		// At most maxThumbnails thumbnails, so that the storyboard of a long
		// video stays as small as a short one's.
		ThumbnailInterval: math.Max(2, math.Ceil(duration/maxThumbnails)),
		ThumbnailWidth:    thumbnailWidth,
		PHashInterval:     phashInterval,
		Segments:          opts.Segments,
	}
	for v.FrameRate.Float()/float64(set.FrameStep) > opts.MaxFrameRate+0.01 {
		set.FrameStep *= 2
	}
	return set
}
