package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/redact"
	"github.com/sunomi/sunomi/internal/retry"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
)

// stage is how far an attempt got; the order matters: a drain hands back
// attempts before stageRunning.
type stage int

const (
	stageDownloading stage = iota
	stageQueued
	stageRunning
	stageUploading
	stageReporting
)

// attempt is one leased task attempt the agent holds, from lease to report.
type attempt struct {
	asg wire.Assignment
	ref wire.AttemptRef
	dir string // DataDir/tasks/<task>-a<n>: task.json, result.json, in/, out/
	log *slog.Logger
	// ctx is canceled with a cause: errAbandoned, errDraining, errStopped.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// abandoned is closed when the coordinator no longer wants the attempt.
	abandoned   chan struct{}
	abandonOnce sync.Once

	stage stage // guarded by Agent.mu

	// heads tracks the report of a split's head (head.go); headObjects
	// are the outputs it uploaded, read once heads is waited for.
	heads       sync.WaitGroup
	headObjects []wire.Object
}

// outcome is how a task process ended.
type outcome struct {
	result    json.RawMessage
	err       error
	permanent bool
}

func (a *Agent) setStage(att *attempt, s stage) {
	a.mu.Lock()
	att.stage = s
	a.mu.Unlock()
}

// runAttempt takes an attempt through download, the prefetch queue, the task
// process, upload and report.
func (a *Agent) runAttempt(att *attempt) {
	defer a.wg.Done()
	defer a.release(att)
	defer func() {
		if err := os.RemoveAll(att.dir); err != nil {
			att.log.Warn("remove task dir failed", "error", err)
		}
	}()
	att.log.Info("attempt leased", "inputs", len(att.asg.Inputs), "media_seconds", att.asg.MediaSeconds)

	start := time.Now()
	inputs, source, err := a.download(att)
	if err != nil {
		a.fail(att, outcome{err: err, permanent: errors.Is(err, pipeline.ErrPermanent)})
		return
	}
	defer source.close()
	att.log.Debug("inputs downloaded", "duration_seconds", time.Since(start).Seconds(), "source_streamed", source != nil)

	if !a.acquireSlot(att) {
		a.fail(att, outcome{err: context.Cause(att.ctx)})
		return
	}
	began := time.Now()
	out := a.execute(att, inputs, source)
	att.heads.Wait() // the head is reported before the attempt completes
	if source != nil {
		out = source.settle(out)
	}
	a.ran(att, out, time.Since(began))
	if out.err != nil {
		a.fail(att, out)
		return
	}

	a.setStage(att, stageUploading)
	objects, err := a.upload(att)
	if err != nil {
		a.fail(att, outcome{err: err})
		return
	}
	if frames := resultFrames(string(att.asg.Kind), out.result); frames > 0 {
		a.sendProgress(att, frames, frames)
	}
	a.setStage(att, stageReporting)
	err = a.report(att, "complete", func(ctx context.Context) error {
		return a.client.Complete(ctx, wire.Complete{Agent: a.cfg.NodeID, AttemptRef: att.ref, Result: out.result, Outputs: objects})
	})
	if err == nil {
		att.log.Info("attempt completed", "outputs", len(objects), "duration_seconds", time.Since(start).Seconds())
	}
}

// acquireSlot waits in the prefetch queue for a free slot. It reports false
// when the attempt was canceled (abandoned, or handed back by a drain).
func (a *Agent) acquireSlot(att *attempt) bool {
	a.setStage(att, stageQueued)
	select {
	case a.slots <- struct{}{}:
	case <-att.ctx.Done():
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Checked under mu: a drain cancels every attempt that is not running yet.
	if att.ctx.Err() != nil {
		<-a.slots
		return false
	}
	att.stage = stageRunning
	return true
}

// fail reports a failed attempt unless it was abandoned. Attempts canceled by
// a drain say so, whatever error the cancellation caused on the way.
func (a *Agent) fail(att *attempt, out outcome) {
	select {
	case <-att.abandoned:
		att.log.Info("attempt abandoned")
		return
	default:
	}
	// The message is logged and becomes the job's error and the video's
	// failure reason: whatever produced it, no URL's query string (a
	// presigned URL's signature) may pass.
	msg := redact.Text(out.err.Error())
	if att.ctx.Err() != nil {
		if cause := context.Cause(att.ctx); errors.Is(cause, errDraining) || errors.Is(cause, errStopped) {
			msg, out.permanent = cause.Error(), false
		}
	}
	att.log.Warn("attempt failed", "error", msg, "permanent", out.permanent)
	a.setStage(att, stageReporting)
	_ = a.report(att, "fail", func(ctx context.Context) error {
		return a.client.Fail(ctx, wire.Fail{Agent: a.cfg.NodeID, AttemptRef: att.ref, Error: msg, Permanent: out.permanent})
	})
}

// report calls fn until the coordinator accepts it, rejects it (4xx: the
// attempt is no longer active, say), the attempt is abandoned, or the
// agent stops for good.
func (a *Agent) report(att *attempt, what string, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancel(a.reportCtx)
	defer cancel()
	go func() {
		select {
		case <-att.abandoned:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := retryCoordinator(ctx, fn)
	switch {
	case err == nil:
	case isRejected(err):
		att.log.Warn("coordinator rejected report", "report", what, "error", err)
	default:
		att.log.Warn("report abandoned", "report", what, "error", err)
	}
	return err
}

// retryCoordinator calls fn with backoff until it succeeds, the coordinator
// rejects the call with a 4xx, or ctx is done.
func retryCoordinator(ctx context.Context, fn func(context.Context) error) error {
	wait := retry.NewBackoff(250*time.Millisecond, 10*time.Second)
	for {
		err := fn(ctx)
		if err == nil || isRejected(err) {
			return err
		}
		if ctx.Err() != nil || !retry.Sleep(ctx, wait.Next()) {
			return fmt.Errorf("%w (last error: %v)", context.Cause(ctx), err)
		}
	}
}

// isRejected reports a coordinator's 4xx answer, which a retry does not change.
func isRejected(err error) bool {
	var api *client.APIError
	return errors.As(err, &api) && api.Status >= 400 && api.Status < 500 &&
		api.Status != 408 && api.Status != 429
}

// sendProgress reports frames in the background; progress is advisory, so a
// failed report is only logged.
func (a *Agent) sendProgress(att *attempt, done, total int64) {
	ctx, cancel := context.WithTimeout(att.ctx, 10*time.Second)
	defer cancel()
	err := a.client.Progress(ctx, wire.Progress{Agent: a.cfg.NodeID, AttemptRef: att.ref, FramesDone: done, FramesTotal: total})
	if err != nil && ctx.Err() == nil {
		att.log.Debug("progress report failed", "error", err)
	}
}

// encodes reports whether tasks of the kind encode video frames: H.264
// chunks and AV1 ones.
func encodes(kind scheduler.TaskKind) bool {
	return kind == scheduler.KindEncode || kind == scheduler.KindEncodeAV1
}

// estimateFrames is how many frames an encode task will output, from its
// media duration and frame rate; 0 for other kinds or when unknown.
func estimateFrames(asg wire.Assignment) int64 {
	if !encodes(asg.Kind) {
		return 0
	}
	var s media.EncodeSpec
	if json.Unmarshal(asg.Spec, &s) != nil {
		return 0
	}
	fps := s.Video.FrameRate.Float() / float64(max(s.Video.FrameStep, 1))
	if fps <= 0 || math.IsInf(fps, 0) || math.IsNaN(fps) {
		return 0
	}
	return int64(math.Round(asg.MediaSeconds * fps))
}

// resultFrames is the number of frames an encode task's result reports.
func resultFrames(kind string, result json.RawMessage) int64 {
	if !encodes(scheduler.TaskKind(kind)) {
		return 0
	}
	var r struct {
		Frames int64 `json:"frames"`
	}
	if json.Unmarshal(result, &r) != nil {
		return 0
	}
	return r.Frames
}
