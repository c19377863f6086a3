package avx_test

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// streamParams opens path with libav and returns its first stream of the given type.
func streamParams(t *testing.T, path string, media astiav.MediaType) *astiav.CodecParameters {
	t.Helper()
	fc := astiav.AllocFormatContext()
	t.Cleanup(fc.Free)
	if err := fc.OpenInput(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fc.CloseInput)
	if err := fc.FindStreamInfo(nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range fc.Streams() {
		if s.CodecParameters().MediaType() == media {
			return s.CodecParameters()
		}
	}
	t.Fatalf("%s has no %s stream", path, media)
	return nil
}

// ffprobeBitRate returns the bit rate ffprobe, an independent reader, gives a stream.
func ffprobeBitRate(t *testing.T, path, selector string) int64 {
	t.Helper()
	var out struct {
		Streams []struct {
			BitRate string `json:"bit_rate"`
		} `json:"streams"`
	}
	raw := testmedia.FFprobeJSON(t, "-select_streams", selector, "-show_entries", "stream=bit_rate", path)
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Streams) != 1 {
		t.Fatalf("ffprobe %s: %s (%v)", path, raw, err)
	}
	rate, _ := strconv.ParseInt(out.Streams[0].BitRate, 10, 64)
	return rate
}

// TestNUTParamsRoundTrip checks what NUTParamsOf reads of real files and that Restore puts it
// into parameters that lack it — which also checks that avx reaches go-astiav's C struct.
func TestNUTParamsRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		spec     testmedia.Spec
		media    astiav.MediaType
		selector string
		check    func(media.NUTParams) bool
	}{
		// WMA 2 at 128 kb/s, 44.1 kHz stereo: the encoder writes 743-byte packets.
		{"WMA block alignment", testmedia.WindowsMedia(2), astiav.MediaTypeAudio, "a:0",
			func(p media.NUTParams) bool { return p.BlockAlign == 743 && p.Decoder == "" }},
		// QuickTime Animation of an RGB picture: 24 bits a pixel; NUT has no tag for qtrle.
		{"QuickTime Animation bits per pixel", testmedia.Animation(2), astiav.MediaTypeVideo, "v:0",
			func(p media.NUTParams) bool { return p.BitsPerCodedSample == 24 && p.Decoder == "qtrle" }},
		{"ALAC, which NUT cannot name", testmedia.Animation(2), astiav.MediaTypeAudio, "a:0",
			func(p media.NUTParams) bool { return p.Decoder == "alac" && p.BitsPerCodedSample == 16 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmedia.Generate(t, c.spec)
			src := streamParams(t, path, c.media)
			got := avx.NUTParamsOf(src)
			if rate := ffprobeBitRate(t, path, c.selector); !c.check(got) || got.BitRate != rate {
				t.Errorf("NUTParamsOf = %+v, not what the case expects (ffprobe's bit rate: %d)", got, rate)
			}
			bare := astiav.AllocCodecParameters()
			defer bare.Free()
			if err := avx.RestoreNUTParams(got, bare); err != nil {
				t.Fatal(err)
			}
			if back := avx.NUTParamsOf(bare); back != got {
				t.Errorf("after RestoreNUTParams, NUTParamsOf = %+v, want %+v", back, got)
			}
			if got.Decoder != "" && bare.CodecID() != src.CodecID() {
				t.Errorf("RestoreNUTParams set codec %s, want %s", bare.CodecID(), src.CodecID())
			}
		})
	}
}

func TestNUTParamsRestoreUnknownDecoder(t *testing.T) {
	p := astiav.AllocCodecParameters()
	defer p.Free()
	if err := avx.RestoreNUTParams(media.NUTParams{Decoder: "no-such-decoder"}, p); err == nil {
		t.Error("RestoreNUTParams accepted a decoder libav does not have")
	}
}

func TestNUTCodecTag(t *testing.T) {
	tag := func(s string) astiav.CodecTag {
		return astiav.CodecTag(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
	}
	cases := []struct {
		name  string
		codec astiav.CodecID
		src   astiav.CodecTag
		want  astiav.CodecTag
	}{
		{"MP4's AAC tag, which NUT refuses, gives way to NUT's own", astiav.CodecIDAac, tag("mp4a"), 0},
		{"ProRes keeps QuickTime's tag: NUT has none", astiav.CodecIDProres, tag("apco"), tag("apco")},
		{"Ut Video keeps the tag that tells its layout", astiav.CodecIDUtvideo, tag("ULY0"), tag("ULY0")},
		{"H.264 from MPEG-TS (no tag) lets NUT choose", astiav.CodecIDH264, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := astiav.AllocCodecParameters()
			defer p.Free()
			p.SetCodecID(c.codec)
			p.SetCodecTag(c.src)
			if got := avx.NUTCodecTag(p); got != c.want {
				t.Errorf("NUTCodecTag = %#x, want %#x", uint32(got), uint32(c.want))
			}
		})
	}
}
