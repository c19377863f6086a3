package growfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A download's progress crosses to another process as lines:
//
//	size N    the full size is N bytes
//	at N      bytes [0, N) are written
//	done N    the download is complete, N bytes long, at the file's path
//	fail MSG  the download failed for good
//
// done and fail are the last line.

// Publish writes f's progress to w until the download is complete or
// failed, or ctx is done or w refuses a write.
func Publish(ctx context.Context, f *File, w io.Writer) error {
	sent := state{size: -1}
	for {
		s, changed := f.snapshot()
		var b strings.Builder
		switch {
		case s.done:
			fmt.Fprintf(&b, "done %d\n", s.written)
		case s.err != nil:
			fmt.Fprintf(&b, "fail %s\n", strings.ReplaceAll(s.err.Error(), "\n", " "))
		default:
			if s.size != sent.size {
				fmt.Fprintf(&b, "size %d\n", s.size)
			}
			if s.written != sent.written {
				fmt.Fprintf(&b, "at %d\n", s.written)
			}
		}
		if b.Len() > 0 {
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
		}
		if s.done || s.err != nil {
			return nil
		}
		sent = s
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// errGone is the failure of a download whose progress stopped before its
// last line: the writer is gone.
var errGone = errors.New("the source's download stopped reporting its progress")

// Follow is the File of a download that Publish reports on r, whose bytes
// data reads and which lies at path once complete. It reads r in the
// background until the last line, or until r ends, which fails the file.
func Follow(r io.Reader, data io.ReaderAt, path string) *File {
	f := NewFile(path, data)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			verb, arg, _ := strings.Cut(sc.Text(), " ")
			n, err := strconv.ParseInt(arg, 10, 64)
			switch {
			case verb == "fail":
				f.fail(errors.New(arg))
				return
			case err != nil:
				f.fail(fmt.Errorf("%w: malformed line %q", errGone, sc.Text()))
				return
			case verb == "size":
				f.setSize(n)
			case verb == "at":
				f.wrote(n)
			case verb == "done":
				f.finish(n)
				return
			}
		}
		f.fail(errGone)
	}()
	return f
}
