// Package avx reaches the few libav fields and functions that go-astiav v0.16
// does not expose (frame timestamps and flags, pixel format descriptors, the
// codec parameters a NUT file cannot carry) and quiets libav's logging. It
// exists so that segmenter and encoder never need cgo themselves.
package avx

//#cgo pkg-config: libavutil
//#include <libavutil/frame.h>
//#include <libavutil/pixdesc.h>
//#include <libavutil/log.h>
import "C"

import "github.com/asticode/go-astiav"

func cframe(f *astiav.Frame) *C.AVFrame { return (*C.AVFrame)(f.UnsafePointer()) }

// BestEffortTimestamp is the frame's presentation time as guessed by the
// decoder, which survives missing or broken packet timestamps.
func BestEffortTimestamp(f *astiav.Frame) int64 {
	if ts := int64(cframe(f).best_effort_timestamp); ts != astiav.NoPtsValue {
		return ts
	}
	return f.Pts()
}

// Interlaced reports whether the decoder marked the frame as interlaced.
func Interlaced(f *astiav.Frame) bool { return cframe(f).interlaced_frame != 0 }

// Damaged reports whether the decoder had to conceal errors in the frame.
func Damaged(f *astiav.Frame) bool {
	c := cframe(f)
	return c.flags&C.AV_FRAME_FLAG_CORRUPT != 0 || c.decode_error_flags != 0
}

// Duration is the frame's duration in the stream time base, or 0 when unknown.
func Duration(f *astiav.Frame) int64 { return int64(cframe(f).pkt_duration) }

// PixelFormatInfo describes a pixel format: bits per component and chroma
// subsampling written as "4:2:0", "4:2:2" or "4:4:4".
type PixelFormatInfo struct {
	BitDepth int
	Chroma   string
}

// DescribePixelFormat returns the bit depth and chroma format of p.
func DescribePixelFormat(p astiav.PixelFormat) PixelFormatInfo {
	d := C.av_pix_fmt_desc_get(C.enum_AVPixelFormat(p))
	if d == nil {
		return PixelFormatInfo{}
	}
	info := PixelFormatInfo{BitDepth: int(d.comp[0].depth)}
	switch {
	case d.nb_components < 3:
		info.Chroma = "4:0:0"
	case d.log2_chroma_w == 1 && d.log2_chroma_h == 1:
		info.Chroma = "4:2:0"
	case d.log2_chroma_w == 1 && d.log2_chroma_h == 0:
		info.Chroma = "4:2:2"
	case d.log2_chroma_w == 0 && d.log2_chroma_h == 0:
		info.Chroma = "4:4:4"
	case d.log2_chroma_w == 2 && d.log2_chroma_h == 0:
		info.Chroma = "4:1:1"
	default:
		info.Chroma = "other"
	}
	return info
}

// Quiet limits libav's own logging to fatal errors: the pipeline reports
// problems as errors and warnings of its own, in sentences.
func Quiet() { C.av_log_set_level(C.AV_LOG_FATAL) }
