package hls

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFFmpegReference checks this package against ffmpeg as an independent
// implementation: we parse what ffmpeg's hls muxer writes, derive the same
// codec strings from its segments, and ffprobe must read what we write.
func TestFFmpegReference(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg; skipped with -short")
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("ffprobe not installed")
	}
	dir := t.TempDir()
	runTool(t, dir, ffmpeg, "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "5", "-map", "0:v", "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "30",
		"-profile:v:1", "baseline", "-s:v:1", "160x90",
		"-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
		"-master_pl_name", "master.m3u8",
		"-var_stream_map", "v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud,language:en,default:yes",
		"stream_%v.m3u8")

	master, err := ParseMasterPlaylist(readFile(t, filepath.Join(dir, "master.m3u8")))
	if err != nil {
		t.Fatalf("ParseMasterPlaylist(ffmpeg's master) error: %v", err)
	}
	if len(master.Variants) != 2 || len(master.Renditions) != 1 {
		t.Fatalf("ffmpeg master got %d variants and %d renditions, want 2 and 1", len(master.Variants), len(master.Renditions))
	}
	if r := master.Renditions[0]; r.Type != "AUDIO" || r.Language != "en" || !r.Default || r.URI != "stream_2.m3u8" {
		t.Errorf("ffmpeg audio rendition got %+v", r)
	}

	media := make(map[string]*MediaPlaylist)
	for _, name := range []string{"stream_0.m3u8", "stream_1.m3u8", "stream_2.m3u8"} {
		p, err := ParseMediaPlaylist(readFile(t, filepath.Join(dir, name)))
		if err != nil {
			t.Fatalf("ParseMediaPlaylist(ffmpeg's %s) error: %v", name, err)
		}
		if p.Type != PlaylistVOD || !p.Ended || len(p.Segments) != 3 || math.Abs(p.Duration()-5) > 0.1 {
			t.Errorf("ffmpeg %s got type %q ended %v, %d segments, %vs; want VOD ended, 3 segments, 5s", name, p.Type, p.Ended, len(p.Segments), p.Duration())
		}
		for i := range p.Segments {
			fi, err := os.Stat(filepath.Join(dir, p.Segments[i].URI))
			if err != nil {
				t.Fatalf("segment listed by ffmpeg: %v", err)
			}
			p.Segments[i].Bytes = fi.Size()
		}
		media[name] = p
	}

	// Rungs in different profiles, so a constant answer cannot pass.
	if got := master.Variants[0].Codecs[0]; !strings.HasPrefix(got, "avc1.64") {
		t.Errorf("ffmpeg CODECS of the first rung got %q, want High profile (avc1.64...)", got)
	}
	for _, v := range master.Variants {
		t.Run("codec string of "+v.URI, func(t *testing.T) {
			seg := readFile(t, filepath.Join(dir, media[v.URI].Segments[0].URI))
			got, err := AVCCodecString(seg)
			if err != nil {
				t.Fatalf("AVCCodecString error: %v", err)
			}
			if want := v.Codecs[0]; got != want {
				t.Errorf("AVCCodecString got %q, want %q (ffmpeg's CODECS)", got, want)
			}
		})
	}

	t.Run("ffprobe reads our playlists", func(t *testing.T) {
		ours := &MasterPlaylist{Renditions: []Rendition{{
			Type: "AUDIO", GroupID: "audio", Name: "English", Language: "en",
			Default: true, AutoSelect: true, Channels: "2", URI: "ours_2.m3u8",
		}}}
		_, audioAvg := MeasureBandwidth(media["stream_2.m3u8"].Segments)
		for i, v := range master.Variants {
			p := media[v.URI]
			p.TargetDuration = 0
			name := fmt.Sprintf("ours_%d.m3u8", i)
			writeFile(t, filepath.Join(dir, name), p.Marshal())
			peak, avg := MeasureBandwidth(p.Segments)
			ours.Variants = append(ours.Variants, Variant{
				URI: name, Bandwidth: peak + audioAvg, AverageBandwidth: avg + audioAvg,
				Width: v.Width, Height: v.Height, FrameRate: 30,
				Codecs: []string{v.Codecs[0], AACLowComplexity}, Audio: "audio",
			})
		}
		writeFile(t, filepath.Join(dir, "ours_2.m3u8"), media["stream_2.m3u8"].Marshal())
		writeFile(t, filepath.Join(dir, "ours.m3u8"), ours.Marshal())

		out := runTool(t, dir, ffprobe, "-v", "error", "-show_entries", "format=duration:stream=width",
			"-of", "default=noprint_wrappers=1", "ours.m3u8")
		if !strings.Contains(out, "width=320") || !strings.Contains(out, "width=160") {
			t.Errorf("ffprobe output got\n%s\nwant both rungs (width=320, width=160)", out)
		}
		_, ds, _ := strings.Cut(out, "duration=")
		d, err := strconv.ParseFloat(strings.TrimSpace(strings.SplitN(ds, "\n", 2)[0]), 64)
		if err != nil || math.Abs(d-5) > 0.2 {
			t.Errorf("ffprobe duration got %q, want about 5s\n%s", ds, out)
		}
	})
}

func runTool(tb testing.TB, dir, name string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}
