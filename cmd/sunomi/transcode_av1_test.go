package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestTranscodeCLIAV1 transcodes a short clip with --av1 all (two chunks,
// two rungs, fMP4 by default then) and reads the AV1 rungs back as players
// do: through their init segments, through libavformat's HLS demuxer from
// the master playlist, and box by box against the H.264 rungs' timeline.
func TestTranscodeCLIAV1(t *testing.T) {
	clip := testmedia.Generate(t, testmedia.CFR(6, 640, 360, 30, true))
	out := filepath.Join(t.TempDir(), "out")
	r := runSunomi(t, "transcode", clip, "-o", out, "--av1", "all", "--rungs", "360,240",
		"--segment", "2s", "--chunk", "4s", "--workers", "2")
	wantSuccess(t, r)
	if strings.Contains(r.stderr, "Svt[info]") {
		t.Errorf("SVT-AV1's banner reached stderr:\n%s", r.stderr)
	}
	read := func(uri string) ([]byte, error) { return os.ReadFile(filepath.Join(out, filepath.FromSlash(uri))) }
	ladder, err := hls.ReadLadder(layout.MasterPlaylist, read)
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, v := range ladder.Master.Variants {
		got = append(got, fmt.Sprintf("%s %dx%d %s %s", v.URI, v.Width, v.Height, v.Audio, v.Codecs[len(v.Codecs)-1]))
	}
	want := []string{ // H.264 first: the fallback, and where players start
		"360p/playlist.m3u8 640x360 audio mp4a.40.2",
		"240p/playlist.m3u8 426x240 audio mp4a.40.2",
		"360p-av1/playlist.m3u8 640x360 audio mp4a.40.2",
		"240p-av1/playlist.m3u8 426x240 audio mp4a.40.2",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("master variants\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, v := range ladder.Master.Variants[2:] {
		rung := path.Dir(v.URI)
		t.Run(rung, func(t *testing.T) {
			if v.Bandwidth <= 0 || v.AverageBandwidth <= 0 || v.AverageBandwidth > v.Bandwidth {
				t.Errorf("BANDWIDTH %d, AVERAGE-BANDWIDTH %d", v.Bandwidth, v.AverageBandwidth)
			}
			// ffprobe reads the rung through its playlist and init segment;
			// CODECS must say what it finds: av01.<profile>.<level><tier>.<depth>.
			var probe struct {
				Streams []struct {
					CodecName string `json:"codec_name"`
					Profile   string `json:"profile"`
					Level     int    `json:"level"`
					PixFmt    string `json:"pix_fmt"`
				} `json:"streams"`
			}
			ffprobe(t, filepath.Join(out, v.URI), &probe, "-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,level,pix_fmt")
			if len(probe.Streams) != 1 {
				t.Fatalf("ffprobe reads %+v, want one video stream", probe)
			}
			st := probe.Streams[0]
			if st.CodecName != "av1" || st.Profile != "Main" || st.PixFmt != "yuv420p" {
				t.Fatalf("ffprobe reads %+v, want Main profile AV1 in yuv420p", st)
			}
			if want := fmt.Sprintf("av01.0.%02dM.08", st.Level); v.Codecs[0] != want {
				t.Errorf("CODECS %q, ffprobe reads %+v: want %q", v.Codecs[0], st, want)
			}

			// The same segments as the H.264 rung of the size, each opening
			// with a keyframe at the same place of the one timeline, with
			// continuing fragment numbers: players switch codecs or sizes at
			// any boundary.
			pl, h264 := ladder.Media[v.URI], ladder.Media[strings.TrimSuffix(rung, "-av1")+"/playlist.m3u8"]
			if pl.Map == "" || len(pl.Segments) != len(h264.Segments) {
				t.Fatalf("%d segments with init %q, want the H.264 rung's %d behind an init", len(pl.Segments), pl.Map, len(h264.Segments))
			}
			init, err := read(path.Join(rung, pl.Map))
			if err != nil {
				t.Fatal(err)
			}
			var prev *encoder.Fragment
			for i, s := range pl.Segments {
				if s.Duration != h264.Segments[i].Duration {
					t.Errorf("segment %d lasts %.3f s, the H.264 rung's %.3f s", i, s.Duration, h264.Segments[i].Duration)
				}
				seg, err := read(path.Join(rung, s.URI))
				if err != nil {
					t.Fatal(err)
				}
				frags, err := encoder.ReadFragments(seg)
				if err != nil || len(frags) != 1 {
					t.Fatalf("%s: fragments %v, %v; want one", s.URI, frags, err)
				}
				f := frags[0]
				if f.Sequence != uint32(i+1) {
					t.Errorf("%s: mfhd sequence %d, want %d", s.URI, f.Sequence, i+1)
				}
				if prev != nil && f.BaseDecodeTime != prev.BaseDecodeTime+prev.Duration {
					t.Errorf("%s: tfdt %d, want %d + %d", s.URI, f.BaseDecodeTime, prev.BaseDecodeTime, prev.Duration)
				}
				prev = &f
				if first := firstPacket(t, append(slices.Clone(init), seg...)); !strings.HasPrefix(first, "K") {
					t.Errorf("%s: first packet flags %q, want a keyframe", s.URI, first)
				}
			}
		})
	}

	t.Run("libavformat reads the master with no corrupt packet", func(t *testing.T) {
		master := filepath.Join(out, layout.MasterPlaylist)
		if msg := decodeErrors(t, master); msg != "" {
			t.Errorf("ffmpeg decoding %s: %s", master, msg)
		}
		var probe packetFlags
		ffprobe(t, master, &probe, "-show_entries", "packet=flags")
		corrupt := 0
		for _, p := range probe.Packets {
			if strings.Contains(p.Flags, "C") {
				corrupt++
			}
		}
		if corrupt > 0 || len(probe.Packets) == 0 {
			t.Errorf("%d of %d packets flagged corrupt", corrupt, len(probe.Packets))
		}
	})
}

// packetFlags is ffprobe's JSON for -show_entries packet=flags.
type packetFlags struct {
	Packets []struct {
		Flags string `json:"flags"`
	} `json:"packets"`
}

// firstPacket is the flags ffprobe reads on the first video packet of an
// fMP4 init segment followed by one media segment.
func firstPacket(t *testing.T, mp4 []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "segment.mp4")
	if err := os.WriteFile(f, mp4, 0o644); err != nil {
		t.Fatal(err)
	}
	var probe packetFlags
	ffprobe(t, f, &probe, "-select_streams", "v:0", "-show_entries", "packet=flags", "-read_intervals", "%+#1")
	if len(probe.Packets) == 0 {
		return ""
	}
	return probe.Packets[0].Flags
}
