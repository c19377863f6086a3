package encoder

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/asticode/go-astiav"
	"github.com/sunomi/sunomi/media"
)

// ErrEncoderUnavailable means the requested encoder does not open on this host.
var ErrEncoderUnavailable = errors.New("encoder unavailable")

// pixelFormat is the software frame format an encoder takes.
func pixelFormat(encoder string) astiav.PixelFormat {
	if encoder == media.EncoderQSV {
		return astiav.PixelFormatNv12
	}
	return astiav.PixelFormatYuv420P
}

// openH264 opens an encoder for one rung. Timestamps are in OutputTimeBase;
// the IDR frames at segment boundaries are forced by the caller.
//
// midStream marks an encoder that starts a chunk after the first: its
// rate-control buffer starts 70% full, close to where a continuous encoder's is
// there on average, instead of x264's 90% for the start of a stream — which
// would spend extra bits on every chunk's first seconds.
func openH264(s media.H264Settings, width, height int, maxBitrate int64, fps astiav.Rational, midStream bool) (*astiav.CodecContext, error) {
	codec := astiav.FindEncoderByName(s.Encoder)
	if codec == nil {
		return nil, fmt.Errorf("%w: %s is not built into libavcodec", ErrEncoderUnavailable, s.Encoder)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, errors.New("allocate encoder")
	}
	cc.SetWidth(width)
	cc.SetHeight(height)
	cc.SetPixelFormat(pixelFormat(s.Encoder))
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetTimeBase(OutputTimeBase)
	cc.SetFramerate(fps)
	opts := astiav.NewDictionary()
	defer opts.Free()
	set := func(k, v string) { _ = opts.Set(k, v, 0) }
	maxrate := strconv.FormatInt(maxBitrate, 10)
	set("maxrate", maxrate)
	set("bufsize", strconv.FormatInt(2*maxBitrate, 10))
	switch s.Encoder {
	case media.EncoderX264:
		set("preset", s.Preset)
		set("crf", strconv.Itoa(s.CRF))
		set("forced-idr", "1")
		// One thread per encoder: chunks and rungs run side by side, which
		// uses the cores better than x264's frame threads.
		set("threads", "1")
		if midStream {
			set("x264-params", "vbv-init=0.7")
		}
	case media.EncoderNVENC:
		set("preset", "p4")
		set("rc", "vbr")
		set("cq", strconv.Itoa(s.CRF+2))
		set("b", maxrate)
		set("forced-idr", "1")
		set("bf", "2")
	case media.EncoderQSV:
		set("preset", "medium")
		set("global_quality", strconv.Itoa(s.CRF))
		set("forced_idr", "1")
	}
	if err := cc.Open(codec, opts); err != nil {
		cc.Free()
		return nil, fmt.Errorf("%w: open %s: %v", ErrEncoderUnavailable, s.Encoder, err)
	}
	return cc, nil
}

// AvailableEncoders returns the H.264 encoders that actually open on this
// host: libx264 always, hardware encoders only when a test encoder opens
// (a driver, a device and a free session must all be there).
func AvailableEncoders() []string {
	availableOnce.Do(func() {
		for _, name := range append([]string{media.EncoderX264}, media.HardwareEncoders()...) {
			cc, err := openH264(media.H264Settings{Encoder: name, Preset: "veryfast", CRF: 23}, 256, 144, 400_000, astiav.NewRational(30, 1), false)
			if err == nil {
				cc.Free()
				available = append(available, name)
			}
		}
	})
	return available
}

var (
	availableOnce sync.Once
	available     []string
)

// ResolveEncoder turns a requested encoder (auto or a name) into one that
// opens here. Auto prefers hardware and falls back to libx264; a name that
// does not open here is an error.
func ResolveEncoder(requested string) (string, error) {
	have := AvailableEncoders()
	if requested == "" || requested == media.EncoderAuto || slices.Contains(have, requested) {
		return media.ChooseEncoder(requested, have), nil
	}
	switch requested {
	case media.EncoderX264, media.EncoderNVENC, media.EncoderQSV:
		return "", fmt.Errorf("%w: %s does not open on this host (available: %v)", ErrEncoderUnavailable, requested, have)
	}
	return "", fmt.Errorf("%w: unknown encoder %q (choose auto, %s, %s or %s)", ErrEncoderUnavailable, requested, media.EncoderX264, media.EncoderNVENC, media.EncoderQSV)
}
