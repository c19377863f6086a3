package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sunomi/sunomi/internal/growfile"
)

// A split reads its source while the agent downloads it: the task process
// starts as soon as a slot is free, its probe reads the bytes already on
// disk and waits for the rest (growfile), so the head of a long upload is
// reported once its first seconds have arrived rather than after the whole
// file. The download is the one other inputs get — the temporary name,
// the stall watchdog, the length check, the retries — and the task
// process learns its progress over a pipe (fd 3) with the file's bytes
// (fd 4). The attempt completes only once the download is complete; a
// download that fails for good fails the attempt with its reason, after
// the head if the head was reported already.

// Descriptors of a split's task process that carry its source while the
// agent downloads it (taskFile.Growing).
const (
	growingProgressFD = 3
	growingDataFD     = 4
)

// sourceDownload is a split's source, downloading in the background.
type sourceDownload struct {
	w      *growfile.Writer
	cancel context.CancelFunc
	// ended is closed once err says how the download ended; exited once
	// its goroutine is gone.
	ended, exited chan struct{}
	err           error
}

// startSourceDownload starts downloading the split's source from u into
// dst; the task process reads it through the writer's file.
func (a *Agent) startSourceDownload(att *attempt, u, dst string) (*sourceDownload, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	w, err := growfile.Create(dst)
	if err != nil {
		return nil, fmt.Errorf("download input %q: %w", filepath.Base(dst), err)
	}
	ctx, cancel := context.WithCancel(att.ctx)
	d := &sourceDownload{w: w, cancel: cancel, ended: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(d.exited)
		start := time.Now()
		err := a.retryTransfer(ctx, func(ctx context.Context) error {
			return a.get(ctx, u, func(resp *http.Response, body io.Reader) (int64, error) {
				// Each try writes the file from its start, over the same bytes.
				if err := w.Restart(resp.ContentLength, resp.Header.Get("ETag")); err != nil {
					return 0, err
				}
				return io.Copy(w, body)
			})
		})
		if err == nil {
			err = w.Commit()
		}
		if err == nil {
			att.log.Debug("source downloaded", "duration_seconds", time.Since(start).Seconds())
			close(d.ended)
			return
		}
		// The reason is known before the task process hears of it.
		d.err = fmt.Errorf("download input %q: %w", filepath.Base(dst), err)
		close(d.ended)
		w.Abort(d.err)
	}()
	return d, nil
}

// settle ends the download with the task that read it. A download that
// failed first is what failed the attempt; a task that failed on its own
// stops the download; a task that succeeded read the whole source, and its
// attempt completes only once the download did.
func (d *sourceDownload) settle(out outcome) outcome {
	select {
	case <-d.ended:
	default:
		if out.err != nil {
			d.cancel()
			<-d.ended
			return out
		}
		<-d.ended
	}
	if d.err != nil {
		return outcome{err: d.err}
	}
	return out
}

// close stops the download if it still runs and releases the file, once
// the task process is gone; nil does nothing.
func (d *sourceDownload) close() {
	if d == nil {
		return
	}
	d.cancel()
	<-d.exited
	_ = d.w.Close()
}

// pass is what the task process gets: the read end of a progress pipe and
// the file's bytes, its ExtraFiles; and the write end of the pipe, which
// publish writes to.
func (d *sourceDownload) pass() ([]*os.File, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe the source's progress: %w", err)
	}
	files := make([]*os.File, growingDataFD-2)
	files[growingProgressFD-3], files[growingDataFD-3] = r, d.w.Data()
	return files, w, nil
}

// publish writes the download's progress to the task process in the
// background, until the download ends or ctx is done; stop waits for it.
func (d *sourceDownload) publish(ctx context.Context, w *os.File) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A task process that exits early closes the pipe: nothing to say.
		_ = growfile.Publish(ctx, d.w.File(), w)
	}()
	return func() { cancel(); <-done }
}
