package segmenter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/internal/growfile"
	"github.com/sunomi/sunomi/media"
)

// A split may read its source while the agent still downloads it: the
// probe, which cuts the head, reads the bytes as they arrive, through a
// custom IOContext whose reads wait for the download (growfile). A
// container whose index sits at its end — an MP4 with its moov atom last —
// has libav seek there first, and its probe waits for the end of the
// download as before; a source whose header comes first has its head cut
// once its first seconds have arrived.

// ProbeGrowingHead is ProbeFileHead on a source that is still downloading
// into src.Path(). A download that fails fails the probe with its error.
func ProbeGrowingHead(ctx context.Context, src *growfile.File, spec HeadSpec) (*media.Probe, *Head, error) {
	h := &headScan{spec: spec}
	defer h.close()
	p, err := probeFile(ctx, source{path: src.Path(), growing: src}, h)
	if err != nil {
		return nil, nil, err
	}
	return p, h.head, nil
}

// source is what a probe reads: the complete file at path, or, with
// growing set, the file a download still writes.
type source struct {
	path    string
	growing *growfile.File
}

// size is the source's size in bytes: the download's announced length.
func (s source) size(ctx context.Context) (int64, error) {
	if s.growing != nil {
		return s.growing.Size(ctx)
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (s source) open(ctx context.Context) (*input, error) {
	if s.growing == nil {
		return openInput(s.path)
	}
	stream, err := newGrowingIO(ctx, s.growing)
	if err != nil {
		return nil, err
	}
	return openInputWith(s.path, stream)
}

// libavformat/avio.h's seek whences beyond io.Seek*: AVSEEK_SIZE asks for
// the size without seeking; AVSEEK_FORCE may be or'ed into any whence.
const (
	avseekSize  = 0x10000
	avseekForce = 0x20000
)

// growingIOBuffer is the IOContext's buffer: large enough that a long
// source is not read in millions of callbacks.
const growingIOBuffer = 256 << 10

// growingIO is libav's view of a growfile.Reader.
type growingIO struct {
	r  *growfile.Reader
	io *astiav.IOContext
	// err is the first error a read or a seek met, which libav only sees
	// as EIO: the download's, or the context's.
	err error
}

func newGrowingIO(ctx context.Context, f *growfile.File) (*growingIO, error) {
	g := &growingIO{r: f.NewReader(ctx)}
	var err error
	if g.io, err = astiav.AllocIOContext(growingIOBuffer, false, g.read, g.seek, nil); err != nil {
		return nil, fmt.Errorf("allocate the source's reader: %w", err)
	}
	return g, nil
}

func (g *growingIO) read(b []byte) (int, error) {
	n, err := g.r.Read(b)
	switch {
	case n > 0:
		return n, nil
	case errors.Is(err, io.EOF):
		return 0, astiav.ErrEof
	case err == nil:
		err = io.ErrNoProgress
	}
	return 0, g.failed(err)
}

func (g *growingIO) seek(offset int64, whence int) (int64, error) {
	if whence&avseekSize != 0 {
		size, err := g.r.Size()
		if err != nil {
			return 0, g.failed(err)
		}
		return size, nil
	}
	n, err := g.r.Seek(offset, whence&^avseekForce)
	switch {
	case err == nil:
		return n, nil
	case whence&^avseekForce == io.SeekEnd: // it needed the size
		return 0, g.failed(err)
	}
	// A demuxer's own mistake, as lseek would refuse it: not the download's.
	return 0, astiav.Error(-int(syscall.EINVAL))
}

// failed keeps the first error for readError and gives libav an I/O error.
func (g *growingIO) failed(err error) error {
	if g.err == nil {
		g.err = err
	}
	return astiav.ErrEio
}

func (g *growingIO) free() {
	if g != nil {
		g.io.Free()
	}
}
