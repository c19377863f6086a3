package encoder

import (
	"fmt"
	"image"
	"math"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/phash"
)

// markSlack lets a frame a little before a mark stand for it: time bases
// that cannot hold the mark exactly (1/1000 against 29.97 fps) put the frame
// meant for it a rounding error early.
const markSlack = 1e-3

// marks decides which frames stand for the marks a chunk owns: the first
// frame at or after each mark, and for marks after the chunk's last frame
// (a gap before the next chunk) that last frame.
type marks struct {
	interval float64
	first    int // the chunk's first mark
	end      int // marks below end are the chunk's; -1: up to its last frame (the last chunk)
	done     int // marks given a frame so far
}

func newMarks(c media.Chunk, interval float64) marks {
	m := marks{interval: interval, end: -1}
	m.first = int(math.Ceil(c.Start/interval - 1e-9))
	if c.EndPTS != media.NoEnd {
		m.end = int(math.Ceil(c.End/interval - 1e-9))
	}
	return m
}

func (m *marks) owns(n int) bool { return m.end < 0 || n < m.end }

// complete reports whether every mark has a frame: later frames matter no more.
func (m *marks) complete() bool { return !m.owns(m.first + m.done) }

// take returns how many of the next marks the frame shown at sec stands
// for, and counts them done.
func (m *marks) take(sec float64) int {
	n := 0
	for next := m.first + m.done; m.owns(next) && float64(next)*m.interval-markSlack <= sec; next++ {
		n++
	}
	m.done += n
	return n
}

// rest returns how many marks the chunk still owns once its frames are
// over, which its last frame stands for, and counts them done.
func (m *marks) rest() int {
	if m.end < 0 {
		return 0 // the last chunk: the video ends with its last frame
	}
	n := max(0, m.end-m.first-m.done)
	m.done += n
	return n
}

// frameHasher hashes the frames of one rung — the smallest: its luma is the
// least to read and average down to 32x32, and every rung shows the same
// picture — at the marks the chunk owns. Only frames standing for marks are
// hashed; the latest other frame is kept (a reference, not a copy) in case
// the marks after it find no later frame in the chunk.
type frameHasher struct {
	on       bool // hashing, and no frame failed to hash
	marks    marks
	hashes   []phash.Hash
	latest   *astiav.Frame // the latest frame, when it was not hashed
	kept     bool          // latest holds a frame
	lastHash phash.Hash    // the hash of the latest frame, when it was hashed
	hashed   bool          // some frame was hashed
	luma     image.Gray    // reused: ToImage points it at a fresh copy of the plane
}

func newFrameHasher(c media.Chunk, interval float64) *frameHasher {
	if interval <= 0 {
		return &frameHasher{}
	}
	return &frameHasher{on: true, marks: newMarks(c, interval), latest: astiav.AllocFrame()}
}

// offer considers a filtered frame shown at sec seconds on the output
// timeline.
func (h *frameHasher) offer(f *astiav.Frame, sec float64) error {
	if !h.on || h.marks.complete() {
		return nil
	}
	n := h.marks.take(sec)
	if n == 0 {
		h.latest.Unref()
		if err := h.latest.Ref(f); err != nil {
			return h.fail(err)
		}
		h.kept = true
		return nil
	}
	sum, err := h.hash(f)
	if err != nil {
		return err
	}
	for range n {
		h.hashes = append(h.hashes, sum)
	}
	h.latest.Unref()
	h.kept, h.lastHash, h.hashed = false, sum, true
	return nil
}

func (h *frameHasher) hash(f *astiav.Frame) (phash.Hash, error) {
	if !lumaPlane(f.PixelFormat()) {
		return 0, h.fail(fmt.Errorf("pixel format %s has no 8-bit luma plane", f.PixelFormat().Name()))
	}
	if err := f.Data().ToImage(&h.luma); err != nil {
		return 0, h.fail(err)
	}
	return phash.FromGray(&h.luma), nil
}

// fail stops hashing: the chunk reports no hashes, and the video gets no
// phash.json rather than one with a gap.
func (h *frameHasher) fail(err error) error {
	h.on = false
	return fmt.Errorf("perceptual hashes skipped: %w", err)
}

// lumaPlane reports whether a frame's first plane is 8-bit luma, all that
// hashing reads.
func lumaPlane(p astiav.PixelFormat) bool {
	switch p {
	case astiav.PixelFormatYuv420P, astiav.PixelFormatYuvj420P, astiav.PixelFormatNv12,
		astiav.PixelFormatYuv422P, astiav.PixelFormatYuv444P, astiav.PixelFormatGray8:
		return true
	}
	return false
}

// finish gives the marks after the chunk's last frame that frame's hash and
// returns the hashes: an empty list for a chunk that owns no mark, nil when
// hashing is off or failed.
func (h *frameHasher) finish() (*media.FrameHashes, error) {
	if !h.on {
		return nil, nil
	}
	if n := h.marks.rest(); n > 0 && (h.kept || h.hashed) {
		last := h.lastHash
		if h.kept {
			var err error
			if last, err = h.hash(h.latest); err != nil {
				return nil, err
			}
		}
		for range n {
			h.hashes = append(h.hashes, last)
		}
	}
	return &media.FrameHashes{Interval: h.marks.interval, First: h.marks.first, Hashes: append([]phash.Hash{}, h.hashes...)}, nil
}

func (h *frameHasher) close() {
	if h.latest != nil {
		h.latest.Free()
		h.latest = nil
	}
}
