// Package segmenter owns everything the split task does to a source before
// any encoding: probing its streams, planning chunks on segment boundaries,
// and extracting each chunk's packets by stream copy. It never encodes.
package segmenter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

// ErrInvalidMedia marks a source that cannot be transcoded; its message says why.
var ErrInvalidMedia = errors.New("invalid media")

// invalidf builds an error that wraps ErrInvalidMedia with a sentence for the user.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMedia, fmt.Sprintf(format, args...))
}

func rationalOf(r astiav.Rational) media.Rational { return media.Rational{Num: r.Num(), Den: r.Den()} }

// CheckLimits reports the first of l the source exceeds.
func CheckLimits(l media.Limits, p *media.Probe) error {
	if v := p.Video; v != nil && (v.Width > l.MaxWidth || v.Height > l.MaxHeight) {
		return invalidf("video is %d×%d, larger than the %d×%d limit", v.Width, v.Height, l.MaxWidth, l.MaxHeight)
	}
	if p.Duration > l.MaxDuration {
		return invalidf("video lasts %s, longer than the %s limit", clock(p.Duration), clock(l.MaxDuration))
	}
	return nil
}

func clock(s float64) string {
	t := int(s)
	return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
}

// probeDecodeFrames is how many frames are decoded to learn the real pixel
// format and interlacing; container headers often get both wrong.
const probeDecodeFrames = 3

// ProbeFile reads the whole source once: stream headers, then every packet
// of the video and audio streams to build the keyframe index, the frame
// rate and the timeline. Memory grows with the number of frames (a few
// bytes each), never with the media itself.
func ProbeFile(ctx context.Context, path string) (*media.Probe, error) {
	return probeFile(ctx, source{path: path}, nil)
}

// probeFile is ProbeFile of src; head, when set, follows the video packets
// to extract the first chunk and report the head (see ProbeFileHead).
func probeFile(ctx context.Context, src source, head *headScan) (*media.Probe, error) {
	size, err := src.size(ctx)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	if size == 0 {
		return nil, invalidf("the file is empty")
	}
	in, err := src.open(ctx)
	if err != nil {
		return nil, err
	}
	defer in.close()

	p := &media.Probe{Container: in.fc.InputFormat().Name(), Size: size}
	video, audio := -1, -1
	for _, s := range in.fc.Streams() {
		cp := s.CodecParameters()
		info := media.StreamInfo{Index: s.Index(), Type: cp.MediaType().String(), Codec: cp.CodecID().Name()}
		p.Streams = append(p.Streams, info)
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			if video < 0 && cp.Width() > 0 && cp.Height() > 0 {
				video = s.Index()
			}
		case astiav.MediaTypeAudio:
			if audio < 0 && cp.SampleRate() > 0 {
				audio = s.Index()
			}
		}
	}
	if video < 0 && audio < 0 {
		return nil, invalidf("the file has no video or audio stream")
	}
	streams := in.fc.Streams()
	var vs *videoScan
	if video >= 0 {
		if vs, err = newVideoScan(streams[video]); err != nil {
			return nil, err
		}
		defer vs.close()
	}
	var as *media.AudioStream
	if audio >= 0 {
		s := streams[audio]
		cp := s.CodecParameters()
		if astiav.FindDecoder(cp.CodecID()) == nil {
			return nil, invalidf("the audio codec %s is not supported", cp.CodecID().Name())
		}
		as = &media.AudioStream{Index: audio, Codec: cp.CodecID().Name(), SampleRate: cp.SampleRate(),
			Channels: cp.Channels(), TimeBase: rationalOf(s.TimeBase()), StartPTS: astiav.NoPtsValue}
		if head != nil {
			head.audio = s
		}
	}

	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := in.fc.ReadFrame(pkt); err != nil {
			// A download that failed is no short source: the split fails with it.
			if err := in.readError(); err != nil {
				return nil, err
			}
			if !errors.Is(err, astiav.ErrEof) {
				p.Warnings = append(p.Warnings, fmt.Sprintf("reading stopped early: %v", err))
			}
			break
		}
		switch pkt.StreamIndex() {
		case video:
			vs.add(pkt)
			if head != nil {
				if err := head.add(pkt, vs, func() *media.Probe { return partialProbe(p, in, vs, as) }); err != nil {
					return nil, err
				}
			}
		case audio:
			if ts := packetTime(pkt); ts != astiav.NoPtsValue && (as.StartPTS == astiav.NoPtsValue || ts < as.StartPTS) {
				as.StartPTS = ts
			}
			as.Packets++
			if head != nil {
				if err := head.addAudio(pkt, vs, func() *media.Probe { return partialProbe(p, in, vs, as) }); err != nil {
					return nil, err
				}
			}
		}
		pkt.Unref()
	}
	// Cover art in a music file is a video stream of one picture: the
	// file is audio-only.
	if vs != nil && (as == nil || as.Packets == 0 || !vs.attachedPicture()) {
		if p.Video, err = vs.finish(); err != nil {
			return nil, err
		}
	}
	if as != nil && as.Packets > 0 {
		if as.StartPTS == astiav.NoPtsValue {
			as.StartPTS = 0
		}
		start := as.StartPTS
		if st := streams[audio].StartTime(); st != astiav.NoPtsValue {
			start = st
		}
		as.StartSeconds = float64(start) * as.TimeBase.Float()
		p.Audio = as
	}
	if p.Video == nil && p.Audio == nil {
		return nil, invalidf("the file contains no decodable video or audio")
	}
	p.Duration = in.duration()
	if v := p.Video; v != nil {
		p.Duration = v.Seconds(v.EndPTS)
	}
	p.Warnings = append(p.Warnings, vs.warnings()...)
	return p, nil
}

// packetTime is a packet's presentation time, falling back to its decode time.
func packetTime(pkt *astiav.Packet) int64 {
	if pkt.Pts() != astiav.NoPtsValue {
		return pkt.Pts()
	}
	return pkt.Dts()
}

// input is an opened source.
type input struct {
	fc *astiav.FormatContext
	// stream reads a source that is still downloading; nil for a file
	// libav opens itself.
	stream *growingIO
}

func openInput(path string) (*input, error) { return openInputWith(path, nil) }

// openInputWith opens path, read through stream when set: the file name
// still gives libav's format probe its extension.
func openInputWith(path string, stream *growingIO) (*input, error) {
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, errors.New("allocate format context")
	}
	in := &input{fc: fc, stream: stream}
	if stream != nil {
		fc.SetPb(stream.io)
	}
	opts := astiav.NewDictionary()
	defer opts.Free()
	// genpts gives elementary streams without timestamps a usable timeline.
	if err := opts.Set("fflags", "+genpts", 0); err != nil {
		fc.Free()
		return nil, fmt.Errorf("set input options: %w", err)
	}
	if err := fc.OpenInput(path, nil, opts); err != nil {
		fc.Free()
		stream.free()
		if rerr := in.readError(); rerr != nil {
			return nil, rerr
		}
		return nil, invalidf("cannot be read as audio or video: it is damaged, truncated or not a media file (%v)", err)
	}
	if err := fc.FindStreamInfo(nil); err != nil {
		in.close()
		if rerr := in.readError(); rerr != nil {
			return nil, rerr
		}
		return nil, invalidf("the streams of the file cannot be read (%v)", err)
	}
	return in, nil
}

// readError is the error a streamed source's reading met, which libav
// only saw as an I/O error: the download's, or the context's.
func (in *input) readError() error {
	if in.stream == nil {
		return nil
	}
	return in.stream.err
}

func (in *input) duration() float64 {
	if d := in.fc.Duration(); d > 0 {
		return float64(d) / float64(astiav.TimeBase)
	}
	return 0
}

func (in *input) close() {
	in.fc.CloseInput()
	in.fc.Free()
	in.stream.free() // libav leaves a custom IOContext to its owner
}

// videoScan accumulates the video stream's packet index and decodes the
// first frames to learn what the headers do not say reliably.
type videoScan struct {
	stream    *astiav.Stream
	dec       *astiav.CodecContext
	frame     *astiav.Frame
	decoded   int
	sendFails int
	v         media.VideoStream
	pts       []int64
	durations []int64
	started   bool
	dropped   int
}

func newVideoScan(s *astiav.Stream) (*videoScan, error) {
	cp := s.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, invalidf("the video codec %s is not supported", cp.CodecID().Name())
	}
	dec := astiav.AllocCodecContext(codec)
	if dec == nil {
		return nil, errors.New("allocate decoder")
	}
	if err := cp.ToCodecContext(dec); err != nil {
		dec.Free()
		return nil, fmt.Errorf("configure decoder: %w", err)
	}
	dec.SetThreadCount(1)
	if err := dec.Open(codec, nil); err != nil {
		dec.Free()
		return nil, invalidf("the video stream cannot be decoded (%v)", err)
	}
	vs := &videoScan{stream: s, dec: dec, frame: astiav.AllocFrame()}
	vs.v = media.VideoStream{
		Index: s.Index(), Codec: cp.CodecID().Name(), Width: cp.Width(), Height: cp.Height(),
		SAR: rationalOf(cp.SampleAspectRatio()), TimeBase: rationalOf(s.TimeBase()),
		PixelFormat: cp.PixelFormat().Name(), Rotation: rotationOf(s),
	}
	if sar := s.SampleAspectRatio(); sar.Num() > 0 {
		vs.v.SAR = rationalOf(sar)
	}
	if vs.v.SAR.Num <= 0 || vs.v.SAR.Den <= 0 {
		vs.v.SAR = media.Rational{Num: 1, Den: 1}
	}
	return vs, nil
}

// rotationOf reads the display matrix, where FFmpeg 5.1 keeps rotation.
func rotationOf(s *astiav.Stream) int {
	b := s.SideData(astiav.PacketSideDataTypeDisplaymatrix)
	if len(b) == 0 {
		return 0
	}
	m, err := astiav.NewDisplayMatrixFromBytes(b)
	if err != nil {
		return 0
	}
	deg := int(math.Round(m.Rotation()/90)) * 90
	return ((deg % 360) + 360) % 360
}

func (vs *videoScan) add(pkt *astiav.Packet) {
	ts := packetTime(pkt)
	key := pkt.Flags().Has(astiav.PacketFlagKey)
	if !vs.started {
		// Frames before the first keyframe cannot be decoded: the timeline
		// starts at the first keyframe.
		if !key || ts == astiav.NoPtsValue {
			vs.dropped++
			return
		}
		vs.started = true
		vs.v.OriginPTS = ts
	}
	if ts == astiav.NoPtsValue {
		vs.dropped++
		return
	}
	if key {
		vs.v.Keyframes = append(vs.v.Keyframes, ts)
	}
	vs.pts = append(vs.pts, ts)
	vs.durations = append(vs.durations, pkt.Duration())
	if vs.decoded < probeDecodeFrames && vs.sendFails < 64 {
		vs.decode(pkt)
	}
}

func (vs *videoScan) decode(pkt *astiav.Packet) {
	if err := vs.dec.SendPacket(pkt); err != nil {
		vs.sendFails++
		return
	}
	for vs.decoded < probeDecodeFrames {
		if err := vs.dec.ReceiveFrame(vs.frame); err != nil {
			return
		}
		if vs.decoded == 0 {
			vs.v.PixelFormat = vs.frame.PixelFormat().Name()
			info := avx.DescribePixelFormat(vs.frame.PixelFormat())
			vs.v.BitDepth, vs.v.Chroma = info.BitDepth, info.Chroma
			if sar := vs.frame.SampleAspectRatio(); sar.Num() > 0 && sar.Den() > 0 && vs.v.SAR == (media.Rational{Num: 1, Den: 1}) {
				vs.v.SAR = rationalOf(sar)
			}
		}
		vs.v.Interlaced = vs.v.Interlaced || avx.Interlaced(vs.frame)
		vs.decoded++
		vs.frame.Unref()
	}
}

// attachedPicture reports whether the stream is a single still picture.
func (vs *videoScan) attachedPicture() bool { return len(vs.pts) <= 1 }

func (vs *videoScan) warnings() []string {
	if vs == nil || vs.dropped == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%d video packets before the first keyframe or without timestamps were skipped", vs.dropped)}
}

func (vs *videoScan) finish() (*media.VideoStream, error) {
	if len(vs.pts) == 0 {
		return nil, invalidf("the video stream has no keyframe")
	}
	if vs.decoded == 0 {
		// Flush: a decoder with frame delay may hold the first frames.
		if err := vs.dec.SendPacket(nil); err == nil {
			vs.decode(nil)
		}
	}
	if vs.decoded == 0 {
		return nil, invalidf("the video stream cannot be decoded")
	}
	return vs.summary(), nil
}

// summary describes the video stream from the packets read so far: the
// whole stream once the reading ended, its start for a head.
func (vs *videoScan) summary() *media.VideoStream {
	v := vs.v
	v.Keyframes = slices.Clone(vs.v.Keyframes)
	sorted := slices.Clone(vs.pts)
	slices.Sort(sorted)
	v.Frames = len(sorted)
	v.LastPTS = sorted[len(sorted)-1]
	v.KeyCount = len(v.Keyframes)

	deltas := make([]int64, 0, len(sorted))
	for i := 1; i < len(sorted); i++ {
		if d := sorted[i] - sorted[i-1]; d > 0 {
			deltas = append(deltas, d)
		}
	}
	tb := v.TimeBase.Float()
	var median int64
	if len(deltas) > 0 {
		m := slices.Clone(deltas)
		slices.Sort(m)
		median = m[len(m)/2]
		v.VFR = variable(deltas, median)
	}
	// The last frame lasts as long as its packet says, else a typical frame.
	last := vs.durations[slices.Index(vs.pts, v.LastPTS)]
	if last <= 0 {
		last = median
	}
	if last <= 0 {
		last = int64(math.Round(1 / 25.0 / tb))
	}
	v.EndPTS = v.LastPTS + last
	span := float64(v.EndPTS-v.OriginPTS) * tb
	if v.Frames > 1 && span > 0 {
		v.FrameRate = frameRate(vs.stream, median, tb, float64(v.Frames)/span, v.VFR)
	} else {
		v.FrameRate = media.Rational{Num: 25, Den: 1}
	}
	v.PeakFrameRate = v.FrameRate
	if r := vs.stream.RFrameRate(); v.VFR && r.Den() > 0 && r.Float64() > v.FrameRate.Float() && r.Float64() <= 240 {
		v.PeakFrameRate = rationalOf(r)
	}
	for i := 1; i < len(v.Keyframes); i++ {
		v.MaxGOP = math.Max(v.MaxGOP, float64(v.Keyframes[i]-v.Keyframes[i-1])*tb)
	}
	v.MaxGOP = math.Max(v.MaxGOP, float64(v.EndPTS-v.Keyframes[len(v.Keyframes)-1])*tb)
	return &v
}

// variable reports whether frame intervals stray from the median by more than
// timestamp rounding can explain, for more than 2% of frames.
func variable(deltas []int64, median int64) bool {
	tol := max(median/50, 2)
	off := 0
	for _, d := range deltas {
		if d > median+tol || d < median-tol {
			off++
		}
	}
	return off*50 > len(deltas)
}

// frameRate picks an exact rate for constant-rate streams (the container's
// when it agrees with the measured one) and the measured average otherwise.
func frameRate(s *astiav.Stream, median int64, tb, measured float64, vfr bool) media.Rational {
	if !vfr {
		for _, r := range []astiav.Rational{s.AvgFrameRate(), s.RFrameRate()} {
			if r.Num() > 0 && r.Den() > 0 && math.Abs(r.Float64()*float64(median)*tb-1) < 0.02 {
				return rationalOf(r)
			}
		}
		if median > 0 {
			return exactRate(1 / (float64(median) * tb))
		}
	}
	return exactRate(measured)
}

// exactRate turns a measured rate into a fraction, snapping to the NTSC rates.
func exactRate(fps float64) media.Rational {
	for _, base := range []int{24, 30, 60, 120} {
		if math.Abs(fps-float64(base)*1000/1001) < 0.005 {
			return media.Rational{Num: base * 1000, Den: 1001}
		}
	}
	if math.Abs(fps-math.Round(fps)) < 0.01 {
		return media.Rational{Num: int(math.Round(fps)), Den: 1}
	}
	return media.Rational{Num: int(math.Round(fps * 1000)), Den: 1000}
}

func (vs *videoScan) close() {
	vs.frame.Free()
	vs.dec.Free()
}
