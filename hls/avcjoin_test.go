package hls

import "testing"

func TestJoinAVCCodecs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		codecs []string
		want   string
	}{
		{"one stream", []string{"avc1.64001f"}, "avc1.64001f"},
		{"same everywhere", []string{"avc1.640028", "avc1.640028"}, "avc1.640028"},
		{"highest level", []string{"avc1.64001f", "avc1.640028", "avc1.64001e"}, "avc1.640028"},
		{"highest profile, highest level of any", []string{"avc1.4d4029", "avc1.64001f"}, "avc1.640029"},
		{"constraints only where every stream of the profile sets them", []string{"avc1.42c01e", "avc1.42401e"}, "avc1.42401e"},
		{"skips what is not avc1", []string{"", "hvc1.1.6.L93", "avc1.64001f"}, "avc1.64001f"},
		{"none", []string{"", "mp4a.40.2"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := JoinAVCCodecs(tt.codecs); got != tt.want {
				t.Errorf("JoinAVCCodecs(%q) = %q, want %q", tt.codecs, got, tt.want)
			}
		})
	}
}
