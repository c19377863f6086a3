package encoder

import (
	"errors"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
)

// TestOpenAV1CodecString opens SVT-AV1 at two rung sizes and checks the
// CODECS string it reports against the sequence header in the encoder's
// extradata, and against the levels ffprobe reads from real encodes of
// those sizes (2.1 for 360p30, 4.0 for 1080p30).
func TestOpenAV1CodecString(t *testing.T) {
	tests := []struct {
		name          string
		width, height int
		want          string
	}{
		{"360p", 640, 360, "av01.0.01M.08"},
		{"1080p", 1920, 1080, "av01.0.08M.08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, got, err := openAV1(media.AV1Settings{Preset: 12, CRF: 40}, tt.width, tt.height, 3_000_000, astiav.NewRational(30, 1))
			if err != nil {
				t.Fatalf("openAV1: %v", err)
			}
			defer freeAV1(cc, false)
			if got != tt.want {
				t.Errorf("codec %q, want %q", got, tt.want)
			}
			seq, err := hls.ParseAV1SequenceHeader(cc.ExtraData())
			if err != nil {
				t.Fatalf("extradata %x: %v", cc.ExtraData(), err)
			}
			if seq.CodecString() != got {
				t.Errorf("extradata says %q, openAV1 %q", seq.CodecString(), got)
			}
		})
	}
}

func TestOpenRungRefusesAV1InTS(t *testing.T) {
	rung := media.WithAV1([]media.Rung{{Name: "360p", Short: 360, Width: 640, Height: 360, MaxBitrate: 800_000}}, media.AV1All)[1]
	for _, format := range []media.SegmentFormat{media.SegmentsTS, ""} {
		set := media.VideoSettings{H264: media.H264Settings{Encoder: media.EncoderX264, Preset: "veryfast", CRF: 23}, Segments: format}
		cc, _, _, err := openRung(rung, set, astiav.NewRational(30, 1), false)
		if cc != nil {
			cc.Free()
		}
		if !errors.Is(err, media.ErrAV1NeedsFMP4) {
			t.Errorf("segments %q: openRung error %v, want ErrAV1NeedsFMP4", format, err)
		}
	}
}
