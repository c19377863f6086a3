package pipeline

import (
	"context"
	"fmt"
	"reflect"

	"github.com/sunomi/sunomi/internal/growfile"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/segmenter"
)

// The plan's head is the split's early result: the ladder and the first
// chunk, reported as soon as the probe has read the first chunk, so that
// the farm encodes and publishes the first segment of a long upload while
// the split still reads the rest. The head's decisions — the ladder, the
// frame rate, the frame step, the thumbnail interval — are the job's for
// good: its first chunk is encoded with them, and every rung's segments
// must stay aligned with it. When the rest of the source contradicts them
// (a variable frame rate found later, say), the split keeps them and warns.

// splitHead is a head that was reported: its split result and the first
// chunk it cut.
type splitHead struct {
	job *media.SplitResult
	cut *segmenter.Head
}

// probeWithHead probes the source; with onHead set, it reports the head on
// the way (a source that ends within its first chunk has none).
func probeWithHead(ctx context.Context, src string, growing *growfile.File, workDir, outDir string, opts media.Options, onHead func(*media.SplitResult) error) (*media.Probe, *splitHead, error) {
	if onHead == nil {
		if err := waitDownload(ctx, growing); err != nil {
			return nil, nil, err
		}
		p, err := segmenter.ProbeFile(ctx, src)
		return p, nil, err
	}
	var head *splitHead
	spec := segmenter.HeadSpec{Grid: segmenter.GridOf(opts), Dir: workDir,
		OnHead: func(cut segmenter.Head) error {
			job, err := headResult(cut, outDir, opts)
			if err != nil {
				return err
			}
			head = &splitHead{job: job, cut: &cut}
			return onHead(job)
		}}
	var p *media.Probe
	var err error
	if growing != nil {
		p, _, err = segmenter.ProbeGrowingHead(ctx, growing, spec)
	} else {
		p, _, err = segmenter.ProbeFileHead(ctx, src, spec)
	}
	return p, head, err
}

// waitDownload waits for a source still downloading (growing, when set)
// to be complete: what reads it after the probe reads the finished file.
func waitDownload(ctx context.Context, growing *growfile.File) error {
	if growing == nil {
		return nil
	}
	if err := growing.Wait(ctx); err != nil {
		return fmt.Errorf("download the source: %w", err)
	}
	return nil
}

// headResult is the split result of a head: the ladder and the first chunk,
// and the audio up to the first chunk's end (media.AudioPartHead) when the
// head extracted it. Without that, its Audio only says that the source has
// an audio stream — the audio task comes with the split's completion — so
// that no master playlist is published without the audio rendition.
func headResult(cut segmenter.Head, outDir string, opts media.Options) (*media.SplitResult, error) {
	// A source over the limits is refused before anything is encoded.
	if err := segmenter.CheckLimits(opts.Limits, cut.Probe); err != nil {
		return nil, err
	}
	v := cut.Probe.Video
	plan, err := segmenter.GridOf(opts).Plan(v)
	if err != nil {
		return nil, err
	}
	plan.Chunks = plan.Chunks[:1]
	job := &media.SplitResult{Probe: cut.Probe, Plan: &plan,
		Video:     videoSettings(v, cut.Probe.Duration, h264Settings(opts), opts),
		Extracted: media.Extracted{Chunks: []string{cut.Chunk}, VideoShift: cut.VideoShift, VideoParams: cut.VideoParams}}
	job.Chunks = chunkSpecs(plan, job.Extracted, outDir)
	if a := cut.Probe.Audio; a != nil {
		job.Audio = &media.AudioSpec{OutDir: outDir, Attempt: 1, Segment: opts.Segment, FirstSegment: plan.FirstSegment, Segments: opts.Segments}
		if cut.Audio != "" {
			job.Extracted.Audio, job.Extracted.AudioShift, job.Extracted.AudioParams = cut.Audio, cut.AudioShift, cut.AudioParams
			job.Audio.Source, job.Audio.Params = cut.Audio, cut.AudioParams
			job.Audio.Origin = audioOrigin(cut.Probe, cut.AudioShift)
			job.Audio.Duration = media.AudioPartBoundary(plan.Chunks[0].End)
		}
	}
	return job, nil
}

// audioOrigin is where the output timeline starts on the timeline of the
// audio extracted with shift: the video's first frame, else the audio's
// first sample.
func audioOrigin(p *media.Probe, shift int64) float64 {
	origin := p.Audio.StartSeconds
	if v := p.Video; v != nil {
		origin = float64(v.OriginPTS) * v.TimeBase.Float()
	}
	// The extracted track starts later by the extraction shift.
	return origin + float64(shift)*p.Audio.TimeBase.Float()
}

// restOfHeadAudio makes the whole track's audio spec the rest of the head's
// part, when the head encodes one: from where the head's part ends.
func restOfHeadAudio(job, head *media.SplitResult) {
	if job.Audio == nil || head.Audio == nil || head.Audio.Source == "" {
		return
	}
	job.Audio.Part, job.Audio.From = media.AudioPartRest, head.Audio.Duration
}

// keepHead makes the whole source's split result agree with its head: the
// same settings (with a warning where the rest of the source contradicts
// them) and the same first chunk, which was cut and may be encoded already.
func keepHead(job, head *media.SplitResult) error {
	if job.Plan == nil || job.Video == nil || len(job.Plan.Chunks) == 0 {
		return fmt.Errorf("the source has no video after its head had some")
	}
	if got, want := job.Plan.Chunks[0], head.Plan.Chunks[0]; got != want {
		return fmt.Errorf("the first chunk of the plan (%+v) is not the one cut at the head (%+v)", got, want)
	}
	whole := *job.Video
	// The thumbnail interval follows the duration, which the head took from
	// the container: it may round the other way and is no contradiction.
	whole.ThumbnailInterval = head.Video.ThumbnailInterval
	if !reflect.DeepEqual(whole, *head.Video) {
		job.Probe.Warnings = append(job.Probe.Warnings, fmt.Sprintf(
			"the whole source suggests other settings (frame rate %.3f, constant rate %v, frame step %d, deinterlace %v) "+
				"than its start, which the job keeps (frame rate %.3f, constant rate %v, frame step %d, deinterlace %v)",
			whole.FrameRate.Float(), whole.ConstantRate, whole.FrameStep, whole.Deinterlace,
			head.Video.FrameRate.Float(), head.Video.ConstantRate, head.Video.FrameStep, head.Video.Deinterlace))
	}
	job.Video = head.Video
	return nil
}
