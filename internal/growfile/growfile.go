// Package growfile reads a file while a download still writes it, from its
// start to its end: a read waits until the download has written past the
// bytes it asks for, ends at the file's real end once the download is
// complete, and fails with the download's error when the download fails.
// The split task reads its source this way, so that the head of a long
// upload is cut after its first seconds have arrived rather than after the
// whole file.
//
// The writer (Writer, in the agent) and the readers (Reader, in the task
// process) may live in different processes: Publish and Follow carry the
// download's progress over a pipe between them.
package growfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrChanged is a download whose retry found another object than the
// earlier tries: what readers read before would not match it.
var ErrChanged = errors.New("the source changed while it downloaded")

// File is the progress of one download into a local file, and the handle
// readers read its bytes through.
type File struct {
	path string      // where the file lies once complete
	data io.ReaderAt // the file's bytes, however far written

	mu sync.Mutex
	// changed is closed, and replaced, whenever the fields below change.
	changed chan struct{}
	written int64 // bytes [0, written) are in the file; never decreases
	size    int64 // the full size, -1 until known
	done    bool  // the download is complete and the file lies at path
	err     error // the download failed for good
}

// NewFile is the progress of a download into path, whose bytes so far
// data reads: nothing written yet, the size unknown.
func NewFile(path string, data io.ReaderAt) *File {
	return &File{path: path, data: data, changed: make(chan struct{}), size: -1}
}

// Path is where the file lies once the download is complete.
func (f *File) Path() string { return f.path }

// state is a snapshot of a File's progress.
type state struct {
	written, size int64
	done          bool
	err           error
}

func (f *File) snapshot() (state, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return state{written: f.written, size: f.size, done: f.done, err: f.err}, f.changed
}

// update applies fn to the progress and wakes every waiter; a finished
// download changes no more.
func (f *File) update(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done || f.err != nil {
		return
	}
	fn()
	close(f.changed)
	f.changed = make(chan struct{})
}

// setSize records the full size, once known.
func (f *File) setSize(n int64) { f.update(func() { f.size = n }) }

// wrote records that bytes [0, n) are in the file.
func (f *File) wrote(n int64) { f.update(func() { f.written = max(f.written, n) }) }

// finish records that the download is complete, n bytes long, at Path.
func (f *File) finish(n int64) { f.update(func() { f.written, f.size, f.done = n, n, true }) }

// fail records that the download will not complete.
func (f *File) fail(err error) { f.update(func() { f.err = err }) }

// wait returns the first progress that ok accepts, or ctx's error.
func (f *File) wait(ctx context.Context, ok func(state) bool) (state, error) {
	for {
		s, changed := f.snapshot()
		if ok(s) {
			return s, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s, context.Cause(ctx)
		}
	}
}

// Wait waits until the download is complete, and returns its error if it
// failed.
func (f *File) Wait(ctx context.Context) error {
	s, err := f.wait(ctx, func(s state) bool { return s.done || s.err != nil })
	if err != nil {
		return err
	}
	return s.err
}

// Size is the file's full size: the download's announced length, else,
// without one, the length it had when it completed.
func (f *File) Size(ctx context.Context) (int64, error) {
	s, err := f.wait(ctx, func(s state) bool { return s.size >= 0 || s.err != nil })
	if err != nil {
		return 0, err
	}
	if s.err != nil {
		return 0, s.err
	}
	return s.size, nil
}

// Reader reads a File from its start, seeking anywhere: a read past what is
// written waits, so a container whose index sits at its end (an MP4 with
// its moov atom last) waits for the end of the download.
type Reader struct {
	ctx context.Context
	f   *File
	off int64
}

// NewReader reads f from its start; ctx releases a waiting read.
func (f *File) NewReader(ctx context.Context) *Reader { return &Reader{ctx: ctx, f: f} }

// Read reads what is written at the reader's offset, waiting for at least
// one byte; it returns io.EOF at the end of a complete file.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s, err := r.f.wait(r.ctx, func(s state) bool { return s.written > r.off || s.done || s.err != nil })
	if err != nil {
		return 0, err
	}
	if s.err != nil {
		return 0, s.err
	}
	if r.off >= s.written {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.written-r.off)]
	n, err := r.f.data.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n == len(p) {
		err = nil // ReaderAt may say EOF with the file's last bytes
	}
	return n, err
}

// Seek sets the offset of the next read; io.SeekEnd needs the full size
// and waits for it when the download announced none.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		size, err := r.f.Size(r.ctx)
		if err != nil {
			return 0, err
		}
		offset += size
	default:
		return 0, fmt.Errorf("seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek to negative offset %d", offset)
	}
	r.off = offset
	return offset, nil
}

// Size is the file's full size (see File.Size).
func (r *Reader) Size() (int64, error) { return r.f.Size(r.ctx) }
