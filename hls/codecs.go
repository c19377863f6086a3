package hls

import (
	"bytes"
	"fmt"
	"iter"
)

// AACLowComplexity is the RFC 6381 codec string of AAC-LC audio, the only
// audio codec our ladders carry.
const AACLowComplexity = "mp4a.40.2"

const nalTypeSPS = 7

// AVCCodecString finds the first H.264 sequence parameter set (nal_unit_type
// 7) in Annex-B data (start codes 00 00 01 or 00 00 00 01, as in MPEG-TS
// segments) and returns its RFC 6381 codec string "avc1.PPCCLL" in
// lower-case hex: profile_idc, the constraint-flags byte and level_idc,
// e.g. "avc1.64001f" for High profile level 3.1. Players use it to skip
// rungs they cannot decode, so it must come from the stream actually
// written, not from encoder settings. Returns ErrNoSPS when no complete SPS
// is present.
func AVCCodecString(annexB []byte) (string, error) {
	for nal := range nalUnits(annexB) {
		// forbidden_zero_bit set means this is not a NAL unit header.
		if len(nal) == 0 || nal[0]&0x80 != 0 || nal[0]&0x1f != nalTypeSPS {
			continue
		}
		head := unescapeRBSP(nal[1:], 3)
		// profile_idc 0 does not exist; such a "SPS" is a stray byte pattern.
		if len(head) < 3 || head[0] == 0 {
			continue
		}
		return fmt.Sprintf("avc1.%02x%02x%02x", head[0], head[1], head[2]), nil
	}
	return "", ErrNoSPS
}

var startCode = []byte{0, 0, 1}

// nalUnits yields the NAL units of an Annex-B byte stream, without start
// codes. A 4-byte start code is a 3-byte one preceded by a zero byte, so
// trailing zeros are trimmed from each unit (they are trailing_zero_8bits or
// the first byte of the next start code, never NAL payload). Bytes before
// the first start code are skipped.
func nalUnits(b []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		i := bytes.Index(b, startCode)
		if i < 0 {
			return
		}
		b = b[i+len(startCode):]
		for len(b) > 0 {
			end := bytes.Index(b, startCode)
			next := len(b)
			if end < 0 {
				end = len(b)
			} else {
				next = end + len(startCode)
			}
			if !yield(bytes.TrimRight(b[:end], "\x00")) {
				return
			}
			b = b[next:]
		}
	}
}

// unescapeRBSP returns up to n bytes of the payload with emulation
// prevention bytes (the 03 in 00 00 03) removed.
func unescapeRBSP(p []byte, n int) []byte {
	out := make([]byte, 0, n)
	zeros := 0
	for _, c := range p {
		if len(out) == n {
			break
		}
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}
