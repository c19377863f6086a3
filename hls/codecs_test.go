package hls

import (
	"bytes"
	"errors"
	"testing"
)

// x264's SPS for 1280x720 High profile level 3.1 (nal_unit_type 7). It
// contains emulation prevention bytes (00 00 03) further on.
var x264SPS720p = []byte{
	0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10,
	0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
}

var (
	start4 = []byte{0, 0, 0, 1}
	start3 = []byte{0, 0, 1}
	aud    = []byte{0x09, 0xf0}                                     // access unit delimiter
	pps    = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}             // picture parameter set
	idr    = []byte{0x65, 0x88, 0x84, 0x00, 0x33, 0xff, 0xfe, 0xf6} // start of an IDR slice
	sei    = []byte{0x06, 0x05, 0x11, 0xdc, 0x45, 0xe9, 0xbd, 0xe6}
)

func annexB(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestAVCCodecString(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"x264 High 3.1, 4-byte start code", annexB(start4, x264SPS720p), "avc1.64001f"},
		{"3-byte start code", annexB(start3, x264SPS720p), "avc1.64001f"},
		{"after AUD and SEI, before PPS and IDR", annexB(start4, aud, start4, sei, start3, x264SPS720p, start4, pps, start3, idr), "avc1.64001f"},
		{"trailing zero bytes", annexB(start4, x264SPS720p, []byte{0, 0}, start4, pps), "avc1.64001f"},
		{"leading garbage", annexB([]byte{0xff, 0x12}, start3, x264SPS720p), "avc1.64001f"},
		{"constrained baseline 3.0", annexB(start4, []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9}), "avc1.42c01e"},
		{"main 4.0", annexB(start4, []byte{0x67, 0x4d, 0x40, 0x28, 0x95}), "avc1.4d4028"},
		{"high 5.1 with nal_ref_idc 1", annexB(start4, []byte{0x27, 0x64, 0x00, 0x33, 0xac}), "avc1.640033"},
		{"SPS ending the data", annexB(start3, []byte{0x67, 0x64, 0x00, 0x28}), "avc1.640028"},
		{"first SPS wins", annexB(start4, []byte{0x67, 0x42, 0xc0, 0x1e}, start4, x264SPS720p), "avc1.42c01e"},
		{"truncated SPS skipped", annexB(start4, []byte{0x67, 0x64}, start4, x264SPS720p), "avc1.64001f"},
		{"forbidden bit set is not a SPS", annexB(start3, []byte{0xe7, 0x42, 0xc0, 0x1e}, start3, x264SPS720p), "avc1.64001f"},
		{"zero profile is not a SPS", annexB(start3, []byte{0x67, 0x00, 0x00, 0x03, 0x1e}, start3, x264SPS720p), "avc1.64001f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AVCCodecString(tt.in)
			if err != nil {
				t.Fatalf("AVCCodecString error: %v", err)
			}
			if got != tt.want {
				t.Errorf("AVCCodecString got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAVCCodecStringNoSPS(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no start code", x264SPS720p},
		{"PPS and IDR only", annexB(start4, pps, start4, idr)},
		{"start code at the end", annexB(start4, pps, start4)},
		{"truncated SPS", annexB(start4, []byte{0x67, 0x64, 0x00})},
		{"SPS cut by the next start code", annexB(start3, []byte{0x67, 0x64}, start4, pps)},
		// AVCC (length-prefixed, as in MP4) is not Annex B.
		{"AVCC", annexB([]byte{0, 0, 0, byte(len(x264SPS720p))}, x264SPS720p)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AVCCodecString(tt.in)
			if !errors.Is(err, ErrNoSPS) {
				t.Errorf("AVCCodecString got (%q, %v), want ErrNoSPS", got, err)
			}
		})
	}
}

func TestUnescapeRBSP(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		n    int
		want []byte
	}{
		{"nothing to remove", []byte{1, 2, 3, 4}, 3, []byte{1, 2, 3}},
		{"emulation byte removed", []byte{0, 0, 3, 1, 5}, 3, []byte{0, 0, 1}},
		{"03 after one zero kept", []byte{0, 3, 1}, 3, []byte{0, 3, 1}},
		{"two escapes", []byte{0, 0, 3, 0, 0, 3, 2}, 5, []byte{0, 0, 0, 0, 2}},
		{"short input", []byte{7}, 3, []byte{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unescapeRBSP(tt.in, tt.n); !bytes.Equal(got, tt.want) {
				t.Errorf("unescapeRBSP(% x, %d) got % x, want % x", tt.in, tt.n, got, tt.want)
			}
		})
	}
}
