package growfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testkit"
)

// blocked is how long a read that must wait is given to return anyway.
const blocked = 100 * time.Millisecond

// readResult is what a read in the background returned.
type readResult struct {
	b   []byte
	err error
}

// readInBackground reads up to n bytes (or seeks to off first, when off ≥ 0).
func readInBackground(r *Reader, off int64, n int) chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		if off >= 0 {
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				ch <- readResult{err: err}
				return
			}
		}
		b := make([]byte, n)
		k, err := r.Read(b)
		ch <- readResult{b: b[:k], err: err}
	}()
	return ch
}

func mustBlock(t *testing.T, ch chan readResult, what string) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("%s returned %q, %v before the bytes were written", what, got.b, got.err)
	case <-time.After(blocked):
	}
}

func mustReturn(t *testing.T, ch chan readResult, what string) readResult {
	t.Helper()
	select {
	case got := <-ch:
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits", what)
		return readResult{}
	}
}

func newWriter(t *testing.T) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "source")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, path
}

// startedWriter is newWriter whose first try announced length bytes.
func startedWriter(t *testing.T, length int64) (*Writer, string) {
	t.Helper()
	w, path := newWriter(t)
	if err := w.Restart(length, ""); err != nil {
		t.Fatal(err)
	}
	return w, path
}

func write(t *testing.T, w *Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

func TestReadWaitsForTheWriter(t *testing.T) {
	w, _ := startedWriter(t, 10)
	r := w.File().NewReader(t.Context())
	ch := readInBackground(r, -1, 4)
	mustBlock(t, ch, "a read of an empty file")
	write(t, w, "abc")
	if got := mustReturn(t, ch, "a read once bytes are written"); string(got.b) != "abc" || got.err != nil {
		t.Fatalf("read %q, %v; want %q, nil: what is written, not more", got.b, got.err, "abc")
	}
}

func TestSeekPastTheWrittenBytesWaits(t *testing.T) {
	w, _ := startedWriter(t, 10)
	write(t, w, "0123")
	r := w.File().NewReader(t.Context())
	if size, err := r.Size(); size != 10 || err != nil {
		t.Errorf("Size() = %d, %v; want the announced 10 before the bytes are there", size, err)
	}
	if pos, err := r.Seek(-2, io.SeekEnd); pos != 8 || err != nil {
		t.Fatalf("Seek(-2, end) = %d, %v; want 8", pos, err)
	}
	ch := readInBackground(r, -1, 4)
	mustBlock(t, ch, "a read at 8 of 4 written bytes")
	write(t, w, "4567")
	mustBlock(t, ch, "a read at 8 of 8 written bytes")
	write(t, w, "89")
	if got := mustReturn(t, ch, "a read at 8 of 10 written bytes"); string(got.b) != "89" || got.err != nil {
		t.Fatalf("read %q, %v; want %q", got.b, got.err, "89")
	}
}

func TestEndOfACompleteFile(t *testing.T) {
	w, path := startedWriter(t, -1) // no Content-Length
	write(t, w, "hello")
	r := w.File().NewReader(t.Context())
	size := make(chan int64, 1)
	go func() { n, _ := r.Size(); size <- n }()
	b := make([]byte, 10)
	if n, err := r.Read(b); string(b[:n]) != "hello" || err != nil {
		t.Fatalf("read %q, %v; want hello", b[:n], err)
	}
	ch := readInBackground(r, -1, 10)
	mustBlock(t, ch, "a read at the written end of a download under way")
	select {
	case n := <-size:
		t.Fatalf("Size() = %d before the download of unknown length completed", n)
	case <-time.After(blocked):
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustReturn(t, ch, "a read at the end of a complete file"); len(got.b) != 0 || got.err != io.EOF {
		t.Fatalf("read %q, %v; want io.EOF", got.b, got.err)
	}
	if n := <-size; n != 5 {
		t.Errorf("Size() = %d once complete, want 5", n)
	}
	if err := w.File().Wait(t.Context()); err != nil {
		t.Errorf("Wait() = %v, want nil once complete", err)
	}
	if b, err := os.ReadFile(path); string(b) != "hello" || err != nil {
		t.Errorf("the file at its path holds %q, %v; want hello", b, err)
	}
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file is still there: %v", err)
	}
}

func TestDownloadErrorIsTheReadError(t *testing.T) {
	w, path := startedWriter(t, 10)
	write(t, w, "01234")
	r := w.File().NewReader(t.Context())
	ch := readInBackground(r, 5, 5)
	mustBlock(t, ch, "a read past the written bytes")
	cause := errors.New("connection reset by peer")
	w.Abort(cause)
	if got := mustReturn(t, ch, "a read of a failed download"); !errors.Is(got.err, cause) {
		t.Fatalf("read %q, %v; want the download's error", got.b, got.err)
	}
	// Even bytes that were written: the file will never be whole.
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 2)); !errors.Is(err, cause) {
		t.Errorf("read of written bytes after the failure: %d, %v; want the download's error", n, err)
	}
	if err := w.File().Wait(t.Context()); !errors.Is(err, cause) {
		t.Errorf("Wait() = %v, want the download's error", err)
	}
	for _, p := range []string{path, path + ".part"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after a failed download: %v, want none", filepath.Base(p), err)
		}
	}
}

func TestCancelReleasesWaiters(t *testing.T) {
	w, _ := newWriter(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	r := w.File().NewReader(ctx)
	read := readInBackground(r, 100, 1)
	wait := make(chan error, 1)
	go func() { wait <- w.File().Wait(ctx) }()
	mustBlock(t, read, "a read of an empty file")
	stalled := errors.New("no data for 2m0s")
	cancel(stalled)
	if got := mustReturn(t, read, "a canceled read"); !errors.Is(got.err, stalled) {
		t.Errorf("canceled read: %v, want the cancel's cause", got.err)
	}
	select {
	case err := <-wait:
		if !errors.Is(err, stalled) {
			t.Errorf("canceled Wait: %v, want the cancel's cause", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait still waits after its context was canceled")
	}
}

// TestRetryRewritesTheFile: a retry writes from the start over the same
// bytes; readers never see less than was written, and another object is
// refused.
func TestRetryRewritesTheFile(t *testing.T) {
	w, path := newWriter(t)
	if err := w.Restart(6, `"e1"`); err != nil {
		t.Fatal(err)
	}
	write(t, w, "abcd")
	if err := w.Restart(6, `"e1"`); err != nil {
		t.Fatal(err)
	}
	r := w.File().NewReader(t.Context())
	b := make([]byte, 4)
	if n, err := io.ReadFull(r, b); n != 4 || err != nil || string(b) != "abcd" {
		t.Fatalf("read %q, %v during the retry; want the first try's abcd", b[:n], err)
	}
	write(t, w, "abcdef")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(r); string(rest) != "ef" || err != nil {
		t.Errorf("read on %q, %v; want ef", rest, err)
	}
	if got, _ := os.ReadFile(path); string(got) != "abcdef" {
		t.Errorf("file %q, want abcdef", got)
	}

	for _, tc := range []struct {
		name   string
		length int64
		etag   string
	}{{"another length", 7, `"e1"`}, {"another etag", 6, `"e2"`}} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newWriter(t)
			if err := w.Restart(6, `"e1"`); err != nil {
				t.Fatal(err)
			}
			if err := w.Restart(tc.length, tc.etag); !errors.Is(err, ErrChanged) {
				t.Errorf("Restart = %v, want ErrChanged", err)
			}
		})
	}
	t.Run("a shorter last try", func(t *testing.T) {
		w, _ := newWriter(t)
		_ = w.Restart(-1, "")
		write(t, w, "abcdef")
		_ = w.Restart(-1, "")
		write(t, w, "abc")
		if err := w.Commit(); !errors.Is(err, ErrChanged) {
			t.Errorf("Commit = %v, want ErrChanged", err)
		}
	})
}

// TestAcrossAPipe: the progress that Publish writes reaches a Follow
// file in another process's stead; a pipe that closes early fails it.
func TestAcrossAPipe(t *testing.T) {
	before := runtime.NumGoroutine()
	w, path := newWriter(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	published := make(chan error, 1)
	go func() { published <- Publish(t.Context(), w.File(), pw); pw.Close() }()
	f := Follow(pr, w.Data(), path)
	r := f.NewReader(t.Context())
	ch := readInBackground(r, 2, 3)
	mustBlock(t, ch, "a read past the written bytes")
	if err := w.Restart(5, ""); err != nil {
		t.Fatal(err)
	}
	if size, err := f.Size(t.Context()); size != 5 || err != nil {
		t.Errorf("followed Size() = %d, %v; want 5", size, err)
	}
	write(t, w, "he")
	mustBlock(t, ch, "a read at 2 of 2 bytes")
	write(t, w, "llo")
	if got := mustReturn(t, ch, "a read once written"); string(got.b) != "llo" || got.err != nil {
		t.Fatalf("read %q, %v; want llo", got.b, got.err)
	}
	ch = readInBackground(r, -1, 1)
	mustBlock(t, ch, "a read at the end of a download under way")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustReturn(t, ch, "a read at the end"); got.err != io.EOF {
		t.Errorf("read %q, %v; want io.EOF", got.b, got.err)
	}
	if err := <-published; err != nil {
		t.Errorf("Publish: %v", err)
	}
	if err := f.Wait(t.Context()); err != nil || f.Path() != path {
		t.Errorf("Wait() = %v, path %s; want nil, %s", err, f.Path(), path)
	}
	pr.Close()

	t.Run("failure", func(t *testing.T) {
		w, path := newWriter(t)
		pr, pw, _ := os.Pipe()
		defer pr.Close()
		go func() { _ = Publish(t.Context(), w.File(), pw); pw.Close() }()
		f := Follow(pr, w.Data(), path)
		w.Abort(errors.New("HTTP 403: Request has expired\nretry"))
		if err := f.Wait(t.Context()); err == nil || err.Error() != "HTTP 403: Request has expired retry" {
			t.Errorf("Wait() = %v, want the download's error on one line", err)
		}
	})
	t.Run("writer gone", func(t *testing.T) {
		w, path := newWriter(t)
		pr, pw, _ := os.Pipe()
		defer pr.Close()
		f := Follow(pr, w.Data(), path)
		_, _ = io.WriteString(pw, "size 10\nat 4\n")
		pw.Close()
		if err := f.Wait(t.Context()); !errors.Is(err, errGone) {
			t.Errorf("Wait() = %v, want %v", err, errGone)
		}
	})
	// Every follower, publisher and read has returned.
	testkit.WaitFor(t, 5*time.Second, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestFailedDownloadIsFinal(t *testing.T) {
	w, _ := newWriter(t)
	w.Abort(errors.New("gone"))
	if _, err := io.WriteString(w, "late"); err == nil {
		t.Error("a write after the failure succeeded")
	}
	if err := w.File().Wait(t.Context()); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Wait() = %v, want the failure", err)
	}
}
