package encoder

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
)

// av1KeyInterval is SVT-AV1's own keyframe interval in frames. The caller
// forces a keyframe at every segment start; SVT-AV1's default (about 5 s)
// would add keyframes inside segments, and "infinite" (-1) makes it ignore
// the forced ones.
const av1KeyInterval = 10_000

// AV1Available reports whether libavcodec here has the AV1 encoder
// (media.EncoderSVTAV1): what an agent advertises to get AV1 tasks. It only
// looks the encoder up: opening one costs SVT-AV1's start-up, and an encoder
// freed without a frame needs feeding first (see freeAV1).
func AV1Available() bool { return astiav.FindEncoderByName(media.EncoderSVTAV1) != nil }

// WithAV1Encoder returns the encoders an agent advertises: the H.264 ones
// given, and media.EncoderSVTAV1 when libavcodec has it here — the
// coordinator gives AV1 tasks only to agents that list it.
func WithAV1Encoder(h264 []string) []string {
	if !AV1Available() {
		return h264
	}
	return append(slices.Clip(h264), media.EncoderSVTAV1)
}

// openAV1 opens an SVT-AV1 encoder for one rung and returns it with the
// CODECS string of the sequence header it writes. Timestamps are in
// OutputTimeBase; as with H.264, the caller forces a keyframe at every
// segment boundary, so that AV1 and H.264 rungs switch at the same times.
func openAV1(s media.AV1Settings, width, height int, maxBitrate int64, fps astiav.Rational) (*astiav.CodecContext, string, error) {
	quietSVT.Do(quietSVTLog)
	codec := astiav.FindEncoderByName(media.EncoderSVTAV1)
	if codec == nil {
		return nil, "", fmt.Errorf("%w: %s is not built into libavcodec", ErrEncoderUnavailable, media.EncoderSVTAV1)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, "", errors.New("allocate encoder")
	}
	cc.SetWidth(width)
	cc.SetHeight(height)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetTimeBase(OutputTimeBase)
	cc.SetFramerate(fps)
	// The sequence header as extradata: the mp4 muxer writes av1C from it,
	// and the CODECS string is read from it before the first packet.
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	opts := astiav.NewDictionary()
	defer opts.Free()
	set := func(k, v string) { _ = opts.Set(k, v, 0) }
	set("preset", strconv.Itoa(s.Preset))
	set("crf", strconv.Itoa(s.CRF))
	// Capped CRF: the rung's maximum rate bounds the peaks, as for H.264.
	set("maxrate", strconv.FormatInt(maxBitrate, 10))
	set("bufsize", strconv.FormatInt(2*maxBitrate, 10))
	// Forced keyframes are honoured only when enabled; irefresh-type 2
	// makes every keyframe a closed-GOP key frame (no frame after it refers
	// to one before), which is what a segment start needs.
	set("svtav1-params", fmt.Sprintf("enable-force-key-frames=1:irefresh-type=2:keyint=%d", av1KeyInterval))
	if err := cc.Open(codec, opts); err != nil {
		cc.Free()
		return nil, "", fmt.Errorf("%w: open %s: %v", ErrEncoderUnavailable, media.EncoderSVTAV1, err)
	}
	codecString, err := hls.AV1CodecString(cc.ExtraData())
	if err != nil {
		freeAV1(cc, false)
		return nil, "", fmt.Errorf("%s sequence header: %w", media.EncoderSVTAV1, err)
	}
	return cc, codecString, nil
}

var quietSVT sync.Once

// quietSVTLog keeps SVT-AV1 to its warnings and errors: it prints its
// banner and configuration to stderr itself, past libav's log level, for
// every encoder it opens (every AV1 rung of every chunk). SVT_LOG set by
// the operator wins. cgo programs' os.Setenv reaches the C environment,
// where SVT-AV1 reads it.
func quietSVTLog() {
	if _, set := os.LookupEnv("SVT_LOG"); !set {
		_ = os.Setenv("SVT_LOG", "2")
	}
}

// freeAV1 ends and frees an SVT-AV1 encoder; fed says whether it was
// given a frame. SVT-AV1 1.4 waits forever for the packets of an end of
// stream sent to an encoder that never had a frame, and its deinit for an
// end of stream never sent — as when a chunk fails before its first frame
// or mid-way: the task would hang instead of failing. So an unfed encoder
// gets one blank frame first, and every encoder an end of stream, whose
// packets are dropped.
func freeAV1(cc *astiav.CodecContext, fed bool) {
	defer cc.Free()
	if !fed && !feedBlank(cc) {
		return
	}
	if err := cc.SendFrame(nil); err != nil {
		return // ended already: flushed by the rung, or failed
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for cc.ReceivePacket(pkt) == nil {
		pkt.Unref()
	}
}

// feedBlank sends the encoder one picture of its size.
func feedBlank(cc *astiav.CodecContext) bool {
	f := astiav.AllocFrame()
	defer f.Free()
	f.SetWidth(cc.Width())
	f.SetHeight(cc.Height())
	f.SetPixelFormat(cc.PixelFormat())
	if err := f.AllocBuffer(0); err != nil {
		return false
	}
	f.SetPts(0)
	return cc.SendFrame(f) == nil
}
