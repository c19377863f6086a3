package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/redact"
	"github.com/sunomi/sunomi/internal/retry"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
)

// Transfers go through presigned URLs: the agent holds no storage credentials.
const (
	transferTries = 5
	// transferParallel bounds the files of one attempt moving at once.
	transferParallel = 4
)

// stallTimeout aborts a transfer that moves no byte for this long; tests
// shorten it.
var stallTimeout = 2 * time.Minute

// download fetches an attempt's inputs: into in/<name>, or for the stitch
// task, whose inputs are its own earlier outputs (thumbnails, posters),
// into out/<name> where pipeline.RunTask expects them. It returns the local
// path of every input. A split's source is only started: the split reads
// it while it downloads (the returned sourceDownload, nil for other tasks).
func (a *Agent) download(att *attempt) (map[string]string, *sourceDownload, error) {
	inDir, outDir := filepath.Join(att.dir, "in"), filepath.Join(att.dir, "out")
	for _, d := range []string{inDir, outDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, fmt.Errorf("create task dir: %w", err)
		}
	}
	base := inDir
	if att.asg.Kind == scheduler.KindStitch {
		base = outDir
	}
	inputs := map[string]string{}
	for name := range att.asg.Inputs {
		if !cleanName(name) {
			return nil, nil, fmt.Errorf("%w: input name %q is not a clean relative path", pipeline.ErrPermanent, name)
		}
		inputs[name] = filepath.Join(base, filepath.FromSlash(name))
	}
	var source *sourceDownload
	if u, ok := att.asg.Inputs[media.SplitInput]; ok && att.asg.Kind == scheduler.KindSplit {
		var err error
		if source, err = a.startSourceDownload(att, a.resolveURL(u), inputs[media.SplitInput]); err != nil {
			return nil, nil, err
		}
	}
	g, ctx := errgroup.WithContext(att.ctx)
	g.SetLimit(transferParallel)
	for _, name := range slices.Sorted(maps.Keys(att.asg.Inputs)) {
		if source != nil && name == media.SplitInput {
			continue
		}
		u := a.resolveURL(att.asg.Inputs[name])
		g.Go(func() error {
			if err := a.retryTransfer(ctx, func(ctx context.Context) error { return a.fetch(ctx, u, inputs[name]) }); err != nil {
				return fmt.Errorf("download input %q: %w", name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		source.close()
		return nil, nil, err
	}
	return inputs, source, nil
}

// cleanName reports whether name is a clean relative slash path inside its directory.
func cleanName(name string) bool {
	return name != "" && name != "." && !strings.HasPrefix(name, "/") && path.Clean(name) == name &&
		name != ".." && !strings.HasPrefix(name, "../") && !strings.Contains(name, "\\")
}

// resolveURL makes a presigned URL absolute: a path alone is served by the
// coordinators (the local storage backend's URLs).
func (a *Agent) resolveURL(u string) string {
	if !strings.HasPrefix(u, "/") {
		return u
	}
	if urls := a.client.URLs(); len(urls) > 0 {
		return urls[0] + u
	}
	return u
}

// statusError is a transfer's unexpected HTTP status.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	if e.body != "" {
		return fmt.Sprintf("HTTP %d: %s", e.status, e.body)
	}
	return fmt.Sprintf("HTTP %d", e.status)
}

func readStatusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	body := strings.TrimSpace(string(b))
	if strings.ContainsAny(body, "<\n") {
		body = "" // an XML or HTML page says nothing a sentence can carry
	}
	return &statusError{status: resp.StatusCode, body: body}
}

// retryTransfer calls fn up to transferTries times while its errors are
// worth retrying: network errors and 5xx, 408 and 429 answers.
func (a *Agent) retryTransfer(ctx context.Context, fn func(context.Context) error) error {
	wait := retry.NewBackoff(500*time.Millisecond, 8*time.Second)
	for try := 1; ; try++ {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil || try == transferTries {
			return err
		}
		var se *statusError
		if errors.As(err, &se) && se.status < 500 && se.status != 408 && se.status != 429 {
			return err
		}
		if !retry.Sleep(ctx, wait.Next()) {
			return err
		}
	}
}

// idleReader cancels its transfer when no byte has moved for d.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.d)
	}
	return n, err
}

// fetch streams one GET into dst, through a temporary name.
func (a *Agent) fetch(ctx context.Context, u, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".part"
	err := a.get(ctx, u, func(_ *http.Response, body io.Reader) (int64, error) {
		f, err := os.Create(tmp)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(f, body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return n, err
	})
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// get streams one GET's body into write, which returns the bytes it
// wrote: fewer than the response's Content-Length is an error, and so is
// a body that moves no byte for stallTimeout.
func (a *Agent) get(ctx context.Context, u string, write func(resp *http.Response, body io.Reader) (int64, error)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(stallTimeout, func() { cancel(fmt.Errorf("no data for %s", stallTimeout)) })
	defer stall.Stop()
	// net/http quotes the whole presigned URL, signature included, in its
	// errors: redact them before they reach logs and the attempt's error.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return redact.Error(err)
	}
	resp, err := a.transfer.Do(req)
	if err != nil {
		return stalled(ctx, redact.Error(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readStatusError(resp)
	}
	n, err := write(resp, &idleReader{r: resp.Body, timer: stall, d: stallTimeout})
	a.metrics.transferred(directionDown, n)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		return stalled(ctx, err)
	}
	return nil
}

// stalled names the stall as the reason of a transfer the watchdog canceled.
func stalled(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	return err
}

// upload sends every file under out/ through presigned PUT URLs and returns
// the objects, named by their slash path relative to out/, with their sizes
// and SHA-256 checksums.
func (a *Agent) upload(att *attempt) ([]wire.Object, error) {
	outDir := filepath.Join(att.dir, "out")
	objects := []wire.Object{}
	err := filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(outDir, p)
		if err != nil {
			return err
		}
		objects = append(objects, wire.Object{Name: filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list outputs: %w", err)
	}
	// A split's head uploaded its files already; they are outputs all the same.
	objects = slices.DeleteFunc(objects, func(o wire.Object) bool {
		return slices.ContainsFunc(att.headObjects, func(h wire.Object) bool { return h.Name == o.Name })
	})
	if err := a.uploadObjects(att, objects); err != nil {
		return nil, err
	}
	objects = append(objects, att.headObjects...)
	slices.SortFunc(objects, func(x, y wire.Object) int { return strings.Compare(x.Name, y.Name) })
	return objects, nil
}

// uploadObjects uploads the named files of out/ and fills in their sizes
// and checksums.
func (a *Agent) uploadObjects(att *attempt, objects []wire.Object) error {
	outDir := filepath.Join(att.dir, "out")
	if len(objects) == 0 {
		return nil
	}
	names := make([]string, len(objects))
	for i, o := range objects {
		names[i] = o.Name
	}
	var urls wire.UploadResponse
	err := retryCoordinator(att.ctx, func(ctx context.Context) error {
		var err error
		urls, err = a.client.UploadURLs(ctx, wire.UploadRequest{Agent: a.cfg.NodeID, AttemptRef: att.ref, Names: names})
		return err
	})
	if err != nil {
		return fmt.Errorf("get upload URLs: %w", err)
	}
	start := time.Now()
	g, ctx := errgroup.WithContext(att.ctx)
	g.SetLimit(transferParallel)
	for i := range objects {
		o := &objects[i]
		u, ok := urls.URLs[o.Name]
		if !ok {
			return fmt.Errorf("coordinator gave no upload URL for output %q", o.Name)
		}
		u = a.resolveURL(u)
		local := filepath.Join(outDir, filepath.FromSlash(o.Name))
		g.Go(func() error {
			var err error
			if o.Size, o.SHA256, err = hashFile(local); err != nil {
				return fmt.Errorf("checksum output %q: %w", o.Name, err)
			}
			if err := a.retryTransfer(ctx, func(ctx context.Context) error { return a.put(ctx, u, local, o.Size) }); err != nil {
				return fmt.Errorf("upload output %q: %w", o.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	att.log.Debug("outputs uploaded", "outputs", len(objects), "duration_seconds", time.Since(start).Seconds())
	return nil
}

func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// put streams one file to a presigned PUT URL.
func (a *Agent) put(ctx context.Context, u, local string, size int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(stallTimeout, func() { cancel(fmt.Errorf("no data for %s", stallTimeout)) })
	defer stall.Stop()
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	var body io.Reader = &idleReader{r: f, timer: stall, d: stallTimeout}
	if size == 0 {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
	if err != nil {
		return redact.Error(err) // as in fetch
	}
	req.ContentLength = size
	if ct := contentType(local); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := a.transfer.Do(req)
	if err != nil {
		return stalled(ctx, redact.Error(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readStatusError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	a.metrics.transferred(directionUp, size)
	return nil
}

// contentType is what players expect the storage to serve a file as.
func contentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".ts":
		return "video/mp2t"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".vtt":
		return "text/vtt"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}
