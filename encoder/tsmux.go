package encoder

import (
	"fmt"
	"os"

	"github.com/asticode/go-astiav"
)

// OutputTimeBase is the MPEG-TS clock every output timestamp is written in.
var OutputTimeBase = astiav.NewRational(1, 90000)

// TimelineOffset shifts the whole output timeline (every rung and the audio,
// every chunk alike) so that no decode timestamp is ever negative: otherwise
// the muxer shifts the first chunk on its own and the rung overlaps itself
// at the first chunk boundary.
const TimelineOffset int64 = 90000

// tsSegment writes one MPEG-TS segment holding a single stream.
type tsSegment struct {
	path string
	fc   *astiav.FormatContext
	io   *astiav.IOContext
	tb   astiav.Rational
}

// newTSSegment opens path for the stream described by enc, whose packets
// carry timestamps in OutputTimeBase.
func newTSSegment(path string, enc *astiav.CodecContext) (*tsSegment, error) {
	fc, io, err := openStreamMuxer("mpegts", path, enc)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	w := &tsSegment{path: path, fc: fc, io: io}
	opts := astiav.NewDictionary()
	defer opts.Free()
	// A muxing delay lets the muxer pack several audio frames per PES packet
	// (a PES per 21 ms AAC frame costs 60% overhead); copyts keeps it from
	// shifting the timestamps by that delay.
	_ = opts.Set("max_delay", "700000", 0)
	_ = opts.Set("mpegts_copyts", "1", 0)
	// A segment is fetched whole: its tables at the start are enough, and
	// repeating them every 0.1 s costs 30 kb/s on every rendition.
	_ = opts.Set("pat_period", "3600", 0)
	_ = opts.Set("sdt_period", "3600", 0)
	// Players built on libavformat read a playlist's segments as one stream
	// and check every PID's continuity counter across the joins. Counters
	// cannot continue from one segment to the next when chunks are encoded
	// on different agents (or retried), so each segment announces its restart:
	// the first packet of every PID (tables, video, audio) carries the
	// discontinuity indicator.
	_ = opts.Set("mpegts_flags", "initial_discontinuity", 0)
	if err := fc.WriteHeader(opts); err != nil {
		w.abort()
		return nil, fmt.Errorf("write segment header %s: %w", path, err)
	}
	w.tb = fc.Streams()[0].TimeBase()
	return w, nil
}

// write muxes pkt, whose timestamps are in OutputTimeBase.
func (w *tsSegment) write(pkt *astiav.Packet) error {
	pkt.SetStreamIndex(0)
	pkt.RescaleTs(OutputTimeBase, w.tb)
	if err := w.fc.WriteFrame(pkt); err != nil {
		return fmt.Errorf("write segment %s: %w", w.path, err)
	}
	return nil
}

// finish writes the trailer, closes the file and returns its size.
func (w *tsSegment) finish() (int64, error) {
	err := w.fc.WriteTrailer()
	w.abort()
	if err != nil {
		return 0, fmt.Errorf("finish segment %s: %w", w.path, err)
	}
	st, err := os.Stat(w.path)
	if err != nil {
		return 0, fmt.Errorf("finish segment: %w", err)
	}
	return st.Size(), nil
}

// abort releases the muxer without finishing the file.
func (w *tsSegment) abort() {
	if w.io != nil {
		_ = w.io.Close()
		w.io = nil
	}
	if w.fc != nil {
		w.fc.Free()
		w.fc = nil
	}
}
