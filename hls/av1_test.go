package hls

import (
	"encoding/hex"
	"errors"
	"testing"
)

// av1C payloads of SVT-AV1 1.4 encodes (ffmpeg -c:v libsvtav1 into MP4):
// ffprobe reads them as Main profile, level index 1 (2.1) at 640x360 8-bit
// and level index 8 (4.0) at 1920x1080 10-bit.
const (
	svtAV1C360p8bit   = "81010c000a0b0000000cc4ff6700be0010"
	svtAV1C1080p10bit = "81084c000a0b00000042abbfc3700be101"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bitWriter builds sequence headers bit by bit for the branches SVT-AV1
// does not write (timing info, decoder model, several operating points).
type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) put(v uint64, bits int) *bitWriter {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
	return w
}

// obu wraps a payload in an OBU header with obu_size.
func obu(typ byte, payload []byte) []byte {
	return append([]byte{typ<<3 | 0x02, byte(len(payload))}, payload...)
}

// richSequenceHeader is a profile 2, 12-bit sequence header with timing
// and decoder model info and two operating points, the first at level
// index 12 (5.0) in the high tier.
func richSequenceHeader() []byte {
	w := &bitWriter{}
	w.put(2, 3).put(0, 1).put(0, 1) // profile 2, not still, not reduced
	w.put(1, 1)                     // timing_info_present_flag
	w.put(1, 32).put(60, 32)        // display tick, time scale
	w.put(1, 1).put(0b00101, 5)     // equal_picture_interval, uvlc: 4
	w.put(1, 1)                     // decoder_model_info_present_flag
	w.put(9, 5).put(1, 32).put(4, 5).put(4, 5)
	w.put(1, 1)                                    // initial_display_delay_present_flag
	w.put(1, 5)                                    // two operating points
	w.put(0x101, 12).put(12, 5).put(1, 1)          // op 0: level 12, high tier
	w.put(1, 1).put(5, 10).put(6, 10).put(0, 1)    // its decoder model
	w.put(1, 1).put(3, 4)                          // its initial display delay
	w.put(0x103, 12).put(4, 5).put(0, 1).put(0, 1) // op 1: level 4, no model, no delay
	w.put(10, 4).put(10, 4).put(1919, 11).put(1079, 11)
	w.put(1, 1).put(2, 4).put(1, 3) // frame ids
	w.put(0b101, 3).put(0b1010, 4)
	w.put(1, 1).put(0b11, 2) // order hint, jnt_comp, ref_frame_mvs
	w.put(0, 1).put(1, 1)    // screen content forced on
	w.put(1, 1)              // seq_choose_integer_mv
	w.put(6, 3)              // order_hint_bits_minus_1
	w.put(0b011, 3)          // superres, cdef, restoration
	w.put(1, 1).put(1, 1)    // high_bitdepth, twelve_bit
	w.put(0, 1).put(0, 1)    // mono_chrome, color_description_present_flag
	return w.b
}

func TestAV1CodecString(t *testing.T) {
	temporalDelimiter := obu(2, nil)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"SVT-AV1 av1C, 360p 8-bit", mustHex(t, svtAV1C360p8bit), "av01.0.01M.08"},
		{"SVT-AV1 av1C, 1080p 10-bit", mustHex(t, svtAV1C1080p10bit), "av01.0.08M.10"},
		{"extradata: the av1C's sequence header OBU alone", mustHex(t, svtAV1C1080p10bit)[4:], "av01.0.08M.10"},
		{"after a temporal delimiter", append(temporalDelimiter, mustHex(t, svtAV1C360p8bit)[4:]...), "av01.0.01M.08"},
		{"timing info, decoder model, two operating points", obu(1, richSequenceHeader()), "av01.2.12H.12"},
		{"OBU without obu_size runs to the end", append([]byte{1 << 3}, richSequenceHeader()...), "av01.2.12H.12"},
		{"reduced still picture header", obu(1, (&bitWriter{}).put(1, 3).put(1, 1).put(1, 1).put(5, 5).
			put(7, 4).put(7, 4).put(99, 8).put(99, 8).put(0, 3).put(0, 3).put(1, 1).put(0, 1).b), "av01.1.05M.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AV1CodecString(tt.in)
			if err != nil {
				t.Fatalf("AV1CodecString error: %v", err)
			}
			if got != tt.want {
				t.Errorf("AV1CodecString got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAV1CodecStringMalformed(t *testing.T) {
	good := mustHex(t, svtAV1C360p8bit)[4:]
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"temporal delimiter only", obu(2, nil)},
		{"forbidden bit", append([]byte{0x80 | 1<<3 | 0x02}, good[1:]...)},
		{"obu_size past the end", append([]byte{good[0], 40}, good[2:]...)},
		{"sequence header cut short", obu(1, good[2:6])},
		{"reserved profile", obu(1, append([]byte{0xe0}, good[3:]...))},
		{"unterminated obu_size", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AV1CodecString(tt.in)
			if !errors.Is(err, ErrNoSequenceHeader) {
				t.Errorf("AV1CodecString got %q, %v; want ErrNoSequenceHeader", got, err)
			}
		})
	}
}

func TestJoinAV1Codecs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"one", []string{"av01.0.08M.08"}, "av01.0.08M.08"},
		{"highest level and depth", []string{"av01.0.04M.08", "av01.0.08M.10", "av01.0.05M.08"}, "av01.0.08M.10"},
		{"high tier wins", []string{"av01.0.12M.08", "av01.0.09H.08"}, "av01.0.12H.08"},
		{"skips others", []string{"", "avc1.64001f", "av01.x.08M.08", "av01.0.08M.08"}, "av01.0.08M.08"},
		{"none", []string{"avc1.64001f"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := JoinAV1Codecs(tt.in); got != tt.want {
				t.Errorf("JoinAV1Codecs(%q) got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
