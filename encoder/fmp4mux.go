package encoder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/media"
)

// segmentWriter muxes one segment holding a single stream whose packets
// carry timestamps in OutputTimeBase.
type segmentWriter interface {
	write(pkt *astiav.Packet) error
	// finish completes the file and returns its size.
	finish() (int64, error)
	// abort releases the muxer without finishing the file.
	abort()
}

var (
	_ segmentWriter = (*tsSegment)(nil)
	_ segmentWriter = (*fmp4Segment)(nil)
)

// segmentOutput opens the segments of one rendition of one task in the
// job's segment format, and keeps the fMP4 init segment its first segment
// wrote.
type segmentOutput struct {
	format media.SegmentFormat
	dir    string // where the files go
	prefix string // the task attempt's own file name prefix (c00003_a2_, a2_)
	// frameDuration (OutputTimeBase) is the duration of a packet that the
	// encoder left without one: the last sample of an fMP4 fragment needs it.
	frameDuration int64
	init          *media.InitSegment // File relative to dir
	initTimescale uint32
}

// segmentPath is the file of segment seg in the output's format.
func (o *segmentOutput) segmentPath(seg int) string {
	ext := ".ts"
	if o.format == media.SegmentsFMP4 {
		ext = ".m4s"
	}
	return filepath.Join(o.dir, fmt.Sprintf("%s%05d%s", o.prefix, seg, ext))
}

// initIn is the init segment written, if any, with its file named relative
// to the directory above the output's (the task's output directory).
func (o *segmentOutput) initIn(dirName string) *media.InitSegment {
	if o.init == nil {
		return nil
	}
	in := *o.init
	in.File = filepath.Join(dirName, o.init.File)
	return &in
}

// open starts segment seg (a global index) for the stream enc encodes.
func (o *segmentOutput) open(seg int, enc *astiav.CodecContext) (segmentWriter, string, error) {
	path := o.segmentPath(seg)
	if o.format.OrTS() == media.SegmentsTS {
		w, err := newTSSegment(path, enc)
		return w, path, err
	}
	w, err := newFMP4Segment(o, path, seg, enc)
	return w, path, err
}

// fmp4Segment writes one CMAF media segment: libav's mp4 muxer writes a
// fragmented MP4 of one fragment into a scratch file, which finish splits
// into the init segment (kept once per output) and the media segment, whose
// fragment it numbers and places on the global timeline.
type fmp4Segment struct {
	out      *segmentOutput
	path     string
	scratch  string
	seg      int
	fc       *astiav.FormatContext
	io       *astiav.IOContext
	tb       astiav.Rational
	firstPTS int64 // of the first packet (the IDR), OutputTimeBase; NoPtsValue until it
}

func newFMP4Segment(out *segmentOutput, path string, seg int, enc *astiav.CodecContext) (*fmp4Segment, error) {
	scratch := path + ".part.mp4"
	fc, io, err := openStreamMuxer("mp4", scratch, enc)
	if err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	w := &fmp4Segment{out: out, path: path, scratch: scratch, seg: seg, fc: fc, io: io, firstPTS: astiav.NoPtsValue}
	opts := astiav.NewDictionary()
	defer opts.Free()
	// One fragment for the whole segment, flushed by the trailer; the moov
	// waits for it because the H.264 encoder has no global header: the mp4
	// muxer builds avcC from the first IDR's SPS and PPS.
	// Not "cmaf": it writes negative composition offsets (trun version 1)
	// with the IDR at offset 0, which libavformat then shifts by the
	// largest negative offset of the fragment, so that players disagreed on
	// when each segment starts. Positive offsets mean one thing everywhere.
	_ = opts.Set("movflags", "frag_custom+delay_moov+empty_moov+default_base_moof", 0)
	// The timeline is placed by placeFragments: no edit list, no shift.
	_ = opts.Set("use_editlist", "0", 0)
	_ = opts.Set("avoid_negative_ts", "disabled", 0)
	_ = opts.Set("video_track_timescale", strconv.Itoa(OutputTimeBase.Den()), 0)
	// No encoder version in the init: every agent's init of a rung should be
	// the same bytes.
	_ = opts.Set("fflags", "+bitexact", 0)
	if err := fc.WriteHeader(opts); err != nil {
		w.abort()
		return nil, fmt.Errorf("write segment header %s: %w", path, err)
	}
	w.tb = fc.Streams()[0].TimeBase()
	return w, nil
}

// openStreamMuxer opens a muxer of the named format writing path, with one
// stream described by enc whose packets come in OutputTimeBase; the caller
// writes the header. Both segment writers open theirs with it.
func openStreamMuxer(format, path string, enc *astiav.CodecContext) (*astiav.FormatContext, *astiav.IOContext, error) {
	fc, err := astiav.AllocOutputFormatContext(nil, format, path)
	if err != nil || fc == nil {
		return nil, nil, fmt.Errorf("allocate %s muxer: %w", format, err)
	}
	s := fc.NewStream(nil)
	if s == nil {
		fc.Free()
		return nil, nil, errors.New("no stream")
	}
	if err := s.CodecParameters().FromCodecContext(enc); err != nil {
		fc.Free()
		return nil, nil, err
	}
	s.SetTimeBase(OutputTimeBase)
	io, err := astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
	if err != nil {
		fc.Free()
		return nil, nil, err
	}
	fc.SetPb(io)
	return fc, io, nil
}

func (w *fmp4Segment) write(pkt *astiav.Packet) error {
	if w.firstPTS == astiav.NoPtsValue {
		w.firstPTS = pkt.Pts()
	}
	if pkt.Duration() <= 0 {
		pkt.SetDuration(w.out.frameDuration)
	}
	pkt.SetStreamIndex(0)
	pkt.RescaleTs(OutputTimeBase, w.tb)
	if err := w.fc.WriteFrame(pkt); err != nil {
		return fmt.Errorf("write segment %s: %w", w.path, err)
	}
	return nil
}

func (w *fmp4Segment) finish() (int64, error) {
	err := w.fc.WriteTrailer()
	w.closeMuxer()
	defer os.Remove(w.scratch)
	if err != nil {
		return 0, fmt.Errorf("finish segment %s: %w", w.path, err)
	}
	b, err := os.ReadFile(w.scratch)
	if err != nil {
		return 0, fmt.Errorf("finish segment: %w", err)
	}
	init, frag, err := splitFragmentedMP4(b)
	if err != nil {
		return 0, fmt.Errorf("finish segment %s: %w", w.path, err)
	}
	if err := w.out.keepInit(init); err != nil {
		return 0, err
	}
	frags, err := ReadFragments(frag)
	if err != nil {
		return 0, fmt.Errorf("finish segment %s: %w", w.path, err)
	}
	// The decode time that makes the first sample's presentation time its
	// PTS, as in the MPEG-TS segments, is that PTS less its composition
	// offset (the encoder's reorder delay).
	decodeTime := astiav.RescaleQ(w.firstPTS, OutputTimeBase, astiav.NewRational(1, int(w.out.initTimescale))) -
		frags[0].FirstCompositionOffset
	if decodeTime < 0 {
		return 0, fmt.Errorf("finish segment %s: decode time %d before the timeline", w.path, decodeTime)
	}
	// mfhd sequence numbers count the rendition's segments from 1, whichever
	// agent encoded each chunk.
	if err := placeFragments(frag, uint32(w.seg+1), uint64(decodeTime)); err != nil {
		return 0, fmt.Errorf("finish segment %s: %w", w.path, err)
	}
	if err := os.WriteFile(w.path, frag, 0o644); err != nil {
		return 0, fmt.Errorf("finish segment: %w", err)
	}
	return int64(len(frag)), nil
}

// keepInit writes the output's init segment from its first segment, and
// checks that every later segment of the task was muxed with the same one.
func (o *segmentOutput) keepInit(init []byte) error {
	config, err := initConfig(init)
	if err != nil {
		return fmt.Errorf("init segment: %w", err)
	}
	if o.init != nil {
		if config != o.init.Config {
			return fmt.Errorf("init segment of %s changed within the task", o.dir)
		}
		return nil
	}
	if o.initTimescale, err = initTimescale(init); err != nil {
		return fmt.Errorf("init segment: %w", err)
	}
	if o.initTimescale == 0 {
		return fmt.Errorf("init segment of %s has timescale 0", o.dir)
	}
	name := o.prefix + "init.mp4"
	if err := os.WriteFile(filepath.Join(o.dir, name), init, 0o644); err != nil {
		return fmt.Errorf("write init segment: %w", err)
	}
	o.init = &media.InitSegment{File: name, Config: config, Timescale: o.initTimescale,
		Offset: uint64(astiav.RescaleQ(TimelineOffset, OutputTimeBase, astiav.NewRational(1, int(o.initTimescale))))}
	return nil
}

func (w *fmp4Segment) abort() {
	w.closeMuxer()
	_ = os.Remove(w.scratch)
}

func (w *fmp4Segment) closeMuxer() {
	if w.io != nil {
		_ = w.io.Close()
		w.io = nil
	}
	if w.fc != nil {
		w.fc.Free()
		w.fc = nil
	}
}
