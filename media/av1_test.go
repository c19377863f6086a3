package media

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/hls"
)

func TestParseAV1Policy(t *testing.T) {
	tests := []struct {
		in      string
		want    AV1Policy
		wantErr bool
	}{
		{"", AV1Off, false},
		{"off", AV1Off, false},
		{"all", AV1All, false},
		{"popular", "", true}, // the farm's policy, not the CLI's
		{"ALL", "", true},
		{"yes", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAV1Policy(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseAV1Policy(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "off") {
				t.Errorf("error %q does not name the choices", err)
			}
		})
	}
}

func TestCheckAV1(t *testing.T) {
	tests := []struct {
		name     string
		policy   AV1Policy
		segments SegmentFormat
		wantErr  bool
	}{
		{"off in TS", AV1Off, SegmentsTS, false},
		{"off, default format", "", "", false},
		{"all in fMP4", AV1All, SegmentsFMP4, false},
		{"all in TS", AV1All, SegmentsTS, true},
		{"all in the format of old specs (TS)", AV1All, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Options{AV1: tt.policy, Segments: tt.segments}.CheckAV1()
			if got := errors.Is(err, ErrAV1NeedsFMP4); got != tt.wantErr {
				t.Errorf("CheckAV1 = %v, want ErrAV1NeedsFMP4: %v", err, tt.wantErr)
			}
		})
	}
}

func TestWithAV1(t *testing.T) {
	h264 := []Rung{
		{Name: "1080p", Short: 1080, Width: 1920, Height: 1080, MaxBitrate: 6_000_000},
		{Name: "720p", Short: 720, Width: 1280, Height: 720, MaxBitrate: 3_000_000},
		{Name: "48p", Short: 48, Width: 86, Height: 48, MaxBitrate: 400_000},
	}
	t.Run("off keeps the ladder", func(t *testing.T) {
		if got := WithAV1(h264, AV1Off); !slices.EqualFunc(got, h264, rungEqual) {
			t.Errorf("WithAV1(off) = %+v, want the H.264 ladder", got)
		}
	})
	t.Run("all adds AV1 rungs after the H.264 ones", func(t *testing.T) {
		got := WithAV1(h264, AV1All)
		var names []string
		for _, r := range got {
			names = append(names, r.Name)
		}
		// The 48p rung is below SVT-AV1's 64-pixel minimum: H.264 only.
		if want := []string{"1080p", "720p", "48p", "1080p-av1", "720p-av1"}; !slices.Equal(names, want) {
			t.Fatalf("rungs %v, want %v", names, want)
		}
		for i, r := range got[3:] {
			src := h264[i]
			if r.Codec != CodecAV1 || r.AV1 == nil {
				t.Errorf("%s: codec %q, settings %v; want AV1 with settings", r.Name, r.Codec, r.AV1)
				continue
			}
			if r.Width != src.Width || r.Height != src.Height || r.Short != src.Short || r.MaxBitrate != src.MaxBitrate {
				t.Errorf("%s = %+v, want the size and cap of %+v", r.Name, r, src)
			}
			if want := AV1SettingsFor(src.Short); *r.AV1 != want {
				t.Errorf("%s settings %+v, want %+v", r.Name, *r.AV1, want)
			}
		}
		for _, r := range got[:3] {
			if r.Codec != CodecH264 || r.AV1 != nil {
				t.Errorf("H.264 rung %s changed: %+v", r.Name, r)
			}
		}
		if !slices.EqualFunc(h264, got[:3], rungEqual) {
			t.Errorf("WithAV1 changed its input: %+v", h264)
		}
	})
}

func rungEqual(a, b Rung) bool { return a.Name == b.Name && a.Codec == b.Codec && a.Width == b.Width }

func TestAV1SettingsFor(t *testing.T) {
	for _, short := range []int{2160, 1080, 720, 480, 240, 64} {
		s := AV1SettingsFor(short)
		if s.Preset < 0 || s.Preset > 13 || s.CRF < 1 || s.CRF > 63 {
			t.Errorf("AV1SettingsFor(%d) = %+v, outside SVT-AV1's ranges", short, s)
		}
	}
}

// TestBuildPlaylistsAV1Variants checks the master playlist of a ladder
// with AV1 rungs: H.264 variants first (the fallback, and what players that
// take the first variant start on), then AV1 with the CODECS its chunks
// read from their sequence headers, joined to the highest level, beside the
// same audio group.
func TestBuildPlaylistsAV1Variants(t *testing.T) {
	split := &SplitResult{
		Video: &VideoSettings{Rungs: WithAV1([]Rung{{Name: "720p", Short: 720, Width: 1280, Height: 720}}, AV1All),
			PeakFrameRate: Rational{Num: 30, Den: 1}, FrameStep: 1, Segments: SegmentsFMP4},
		Chunks: make([]ChunkSpec, 2),
		Audio:  &AudioSpec{},
	}
	chunk := func(i int, av1Codec string) *ChunkResult {
		c := &ChunkResult{Index: i, Segments: []SegmentTiming{{Index: i, Start: float64(4 * i), Duration: 4}}}
		for _, r := range []struct{ name, codec string }{{"720p", "avc1.64001f"}, {"720p-av1", av1Codec}} {
			c.Rungs = append(c.Rungs, RungOutput{Name: r.name, Codec: r.codec,
				Files: []SegmentFile{{Index: i, File: fmt.Sprintf("%s/c%05d_a1_%05d.m4s", r.name, i, i), Bytes: 100_000}}})
		}
		return c
	}
	p := BuildPlaylists(split, []*ChunkResult{chunk(0, "av01.0.04M.08"), chunk(1, "av01.0.05M.08")}, audioResult(2), hls.PlaylistVOD)
	if p.Master == nil {
		t.Fatal("no master playlist")
	}
	m, err := hls.ParseMasterPlaylist(p.Master.Text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range m.Variants {
		got = append(got, fmt.Sprintf("%s %s %dx%d %s", v.URI, strings.Join(v.Codecs, ","), v.Width, v.Height, v.Audio))
	}
	want := []string{
		"720p/playlist.m3u8 avc1.64001f,mp4a.40.2 1280x720 audio",
		"720p-av1/playlist.m3u8 av01.0.05M.08,mp4a.40.2 1280x720 audio",
	}
	if !slices.Equal(got, want) {
		t.Errorf("variants\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
