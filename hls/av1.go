package hls

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoSequenceHeader means AV1 data held no complete, well-formed
// sequence header OBU.
var ErrNoSequenceHeader = errors.New("no AV1 sequence header")

const (
	obuSequenceHeader = 1
	// av1CMarker is the first byte of an AV1CodecConfigurationRecord (the
	// av1C box's payload): marker bit and version 1.
	av1CMarker = 0x81
	av1CHeader = 4
)

// AV1Sequence is what a CODECS string says of an AV1 stream.
type AV1Sequence struct {
	Profile  int // seq_profile: 0 Main, 1 High, 2 Professional
	Level    int // seq_level_idx[0]: 0 is level 2.0, 8 is 4.0, 31 unconstrained
	HighTier bool
	BitDepth int // 8, 10 or 12
}

// CodecString is the RFC 6381 form of the AV1 ISOBMFF binding,
// "av01.P.LLT.DD": profile, two-digit level index, tier M or H, bit depth.
func (s AV1Sequence) CodecString() string {
	tier := "M"
	if s.HighTier {
		tier = "H"
	}
	return fmt.Sprintf("av01.%d.%02d%s.%02d", s.Profile, s.Level, tier, s.BitDepth)
}

// AV1CodecString reads the first sequence header OBU of AV1 data — the
// encoder's extradata, an av1C box's payload, or a temporal unit in the
// low-overhead bitstream format — and returns its CODECS string. Players
// drop variants whose CODECS they cannot decode, so it comes from the
// stream written, never from the encoder's settings.
func AV1CodecString(data []byte) (string, error) {
	seq, err := ParseAV1SequenceHeader(data)
	if err != nil {
		return "", err
	}
	return seq.CodecString(), nil
}

// ParseAV1SequenceHeader finds and parses the first sequence header OBU of
// data (see AV1CodecString). Truncated or malformed OBUs are an error
// wrapping ErrNoSequenceHeader.
func ParseAV1SequenceHeader(data []byte) (AV1Sequence, error) {
	if len(data) >= av1CHeader && data[0] == av1CMarker {
		data = data[av1CHeader:] // the configOBUs follow the record's header
	}
	for len(data) > 0 {
		typ, payload, rest, err := nextOBU(data)
		if err != nil {
			return AV1Sequence{}, err
		}
		if typ == obuSequenceHeader {
			return parseSequenceHeader(payload)
		}
		data = rest
	}
	return AV1Sequence{}, ErrNoSequenceHeader
}

// nextOBU splits the first OBU off data (AV1 spec 5.3): its type, its
// payload and what follows it.
func nextOBU(data []byte) (typ int, payload, rest []byte, err error) {
	h := data[0]
	if h&0x80 != 0 {
		return 0, nil, nil, fmt.Errorf("%w: OBU header's forbidden bit is set", ErrNoSequenceHeader)
	}
	typ = int(h >> 3 & 0x0f)
	n := 1
	if h&0x04 != 0 { // obu_extension_flag
		n++
	}
	if len(data) < n {
		return 0, nil, nil, fmt.Errorf("%w: truncated OBU header", ErrNoSequenceHeader)
	}
	if h&0x02 == 0 { // no obu_size: the OBU runs to the end
		return typ, data[n:], nil, nil
	}
	size, m, err := leb128(data[n:])
	if err != nil {
		return 0, nil, nil, err
	}
	n += m
	if uint64(len(data)-n) < size {
		return 0, nil, nil, fmt.Errorf("%w: OBU of %d bytes in %d", ErrNoSequenceHeader, size, len(data)-n)
	}
	return typ, data[n : n+int(size)], data[n+int(size):], nil
}

// leb128 decodes an unsigned LEB128 number of at most 8 bytes.
func leb128(b []byte) (v uint64, n int, err error) {
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: bad obu_size", ErrNoSequenceHeader)
}

// parseSequenceHeader reads sequence_header_obu (AV1 spec 5.5) up to the
// bit depth in color_config.
func parseSequenceHeader(p []byte) (AV1Sequence, error) {
	r := &bitReader{b: p}
	var s AV1Sequence
	s.Profile = int(r.bits(3))
	r.bits(1) // still_picture
	reduced := r.flag()
	if reduced {
		s.Level = int(r.bits(5))
	} else {
		var decoderModel bool
		var bufferDelayLength uint64
		if r.flag() { // timing_info_present_flag
			r.bits(32) // num_units_in_display_tick
			r.bits(32) // time_scale
			if r.flag() {
				r.uvlc() // num_ticks_per_picture_minus_1
			}
			if decoderModel = r.flag(); decoderModel {
				bufferDelayLength = r.bits(5) + 1
				r.bits(32) // num_units_in_decoding_tick
				r.bits(5)  // buffer_removal_time_length_minus_1
				r.bits(5)  // frame_presentation_time_length_minus_1
			}
		}
		initialDisplayDelay := r.flag()
		points := int(r.bits(5)) + 1
		for i := range points {
			r.bits(12) // operating_point_idc
			level := int(r.bits(5))
			tier := false
			if level > 7 {
				tier = r.flag()
			}
			if i == 0 {
				s.Level, s.HighTier = level, tier
			}
			if decoderModel && r.flag() { // decoder_model_present_for_this_op
				r.bits(int(bufferDelayLength)) // decoder_buffer_delay
				r.bits(int(bufferDelayLength)) // encoder_buffer_delay
				r.bits(1)                      // low_delay_mode_flag
			}
			if initialDisplayDelay && r.flag() {
				r.bits(4) // initial_display_delay_minus_1
			}
		}
	}
	widthBits, heightBits := int(r.bits(4))+1, int(r.bits(4))+1
	r.bits(widthBits)         // max_frame_width_minus_1
	r.bits(heightBits)        // max_frame_height_minus_1
	if !reduced && r.flag() { // frame_id_numbers_present_flag
		r.bits(4 + 3)
	}
	r.bits(3) // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
	if !reduced {
		r.bits(4) // interintra, masked compound, warped motion, dual filter
		orderHint := r.flag()
		if orderHint {
			r.bits(2) // enable_jnt_comp, enable_ref_frame_mvs
		}
		forceScreenContent := uint64(2) // SELECT_SCREEN_CONTENT_TOOLS
		if !r.flag() {                  // seq_choose_screen_content_tools
			forceScreenContent = r.bits(1)
		}
		if forceScreenContent > 0 && !r.flag() { // seq_choose_integer_mv
			r.bits(1) // seq_force_integer_mv
		}
		if orderHint {
			r.bits(3) // order_hint_bits_minus_1
		}
	}
	r.bits(3) // enable_superres, enable_cdef, enable_restoration
	s.BitDepth = 8
	if r.flag() { // high_bitdepth
		s.BitDepth = 10
		if s.Profile == 2 && r.flag() { // twelve_bit
			s.BitDepth = 12
		}
	}
	if r.short {
		return AV1Sequence{}, fmt.Errorf("%w: sequence header of %d bytes is truncated", ErrNoSequenceHeader, len(p))
	}
	if s.Profile > 2 {
		return AV1Sequence{}, fmt.Errorf("%w: seq_profile %d is reserved", ErrNoSequenceHeader, s.Profile)
	}
	return s, nil
}

// bitReader reads big-endian bit fields; reading past the end sets short
// and yields zeros, so a parser checks once at the end.
type bitReader struct {
	b     []byte
	pos   int // in bits
	short bool
}

func (r *bitReader) bits(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.short = true
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.bits(1) == 1 }

// uvlc reads a variable-length code (AV1 spec 4.10.3).
func (r *bitReader) uvlc() uint64 {
	zeros := 0
	for !r.short && !r.flag() {
		zeros++
	}
	if zeros >= 32 {
		return 1<<32 - 1
	}
	return r.bits(zeros) + (1 << zeros) - 1
}

// JoinAV1Codecs is the CODECS string of an AV1 rung whose chunks reported
// the given strings: the highest profile, level, tier and bit depth any of
// them uses, so that a player able to decode it decodes every part.
// Strings that are not "av01.P.LLT.DD" are skipped; with none left it
// returns "".
func JoinAV1Codecs(codecs []string) string {
	var joined AV1Sequence
	found := false
	for _, c := range codecs {
		s, ok := parseAV1CodecString(c)
		if !ok {
			continue
		}
		joined.Profile = max(joined.Profile, s.Profile)
		joined.Level = max(joined.Level, s.Level)
		joined.HighTier = joined.HighTier || s.HighTier
		joined.BitDepth = max(joined.BitDepth, s.BitDepth)
		found = true
	}
	if !found {
		return ""
	}
	return joined.CodecString()
}

func parseAV1CodecString(c string) (AV1Sequence, bool) {
	f := strings.Split(c, ".")
	if len(f) < 4 || f[0] != "av01" || len(f[2]) != 3 {
		return AV1Sequence{}, false
	}
	profile, err1 := strconv.Atoi(f[1])
	level, err2 := strconv.Atoi(f[2][:2])
	depth, err3 := strconv.Atoi(f[3])
	tier := f[2][2]
	if err1 != nil || err2 != nil || err3 != nil || tier != 'M' && tier != 'H' {
		return AV1Sequence{}, false
	}
	return AV1Sequence{Profile: profile, Level: level, HighTier: tier == 'H', BitDepth: depth}, true
}
