package avx

// #cgo pkg-config: libavcodec libavformat
// #include <libavcodec/avcodec.h>
// #include <libavformat/avformat.h>
//
// static const AVOutputFormat *nut(void) { return av_guess_format("nut", NULL, NULL); }
//
// static int nut_names_codec(int codec_id) {
// 	unsigned int tag;
// 	return nut() && av_codec_get_tag2(nut()->codec_tag, codec_id, &tag);
// }
//
// static int nut_maps_tag(unsigned int tag, int codec_id) {
// 	return nut() && tag && av_codec_get_id(nut()->codec_tag, tag) == (enum AVCodecID)codec_id;
// }
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
	"github.com/sunomi/sunomi/media"
)

// codecpar is the C struct behind p. go-astiav v0.16 has no accessors for
// the fields below, and its CodecParameters holds nothing but this pointer
// (TestCodecParLayout checks it).
func codecpar(p *astiav.CodecParameters) *C.AVCodecParameters {
	return *(**C.AVCodecParameters)(unsafe.Pointer(p))
}

// NUTCodecTag is the tag to store for a stream of a NUT file: the source's
// when NUT's tables map it to the same codec (Ut Video and raw video tell
// their pixel layout by it); none, for NUT to pick its own, when the tables
// name the codec by another tag (MP4's "mp4a" for AAC, which NUT refuses);
// else still the source's, which NUT's reader resolves through the
// QuickTime table (ProRes "apch", DNxHD "AVdn").
func NUTCodecTag(p *astiav.CodecParameters) astiav.CodecTag {
	id := C.int(p.CodecID())
	if C.nut_maps_tag(C.uint(p.CodecTag()), id) == 0 && C.nut_names_codec(id) == 1 {
		return 0
	}
	return p.CodecTag()
}

// NUTParamsOf returns what a NUT copy of a stream with parameters p loses.
func NUTParamsOf(p *astiav.CodecParameters) media.NUTParams {
	c := codecpar(p)
	out := media.NUTParams{BitsPerCodedSample: int(c.bits_per_coded_sample), BlockAlign: int(c.block_align), BitRate: int64(c.bit_rate)}
	if C.nut_names_codec(C.int(p.CodecID())) != 1 {
		if d := astiav.FindDecoder(p.CodecID()); d != nil {
			out.Decoder = d.Name()
		}
	}
	return out
}

// RestoreNUTParams puts back into p, a NUT file's stream, what the copy lost (n).
func RestoreNUTParams(n media.NUTParams, p *astiav.CodecParameters) error {
	c := codecpar(p)
	if n.Decoder != "" {
		d := astiav.FindDecoderByName(n.Decoder)
		if d == nil {
			return fmt.Errorf("no %s decoder", n.Decoder)
		}
		p.SetCodecID(d.ID())
	}
	if n.BitsPerCodedSample > 0 && c.bits_per_coded_sample == 0 {
		c.bits_per_coded_sample = C.int(n.BitsPerCodedSample)
	}
	if n.BlockAlign > 0 && c.block_align == 0 {
		c.block_align = C.int(n.BlockAlign)
	}
	if n.BitRate > 0 && c.bit_rate == 0 {
		c.bit_rate = C.int64_t(n.BitRate)
	}
	return nil
}
