package pipeline_test

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestTranscodeFMP4 transcodes a three-chunk clip into CMAF segments and
// reads every rendition back: through libavformat's HLS and DASH demuxers,
// and box by box.
func TestTranscodeFMP4(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, fadeIn(10, 640, 360))
	dir := t.TempDir()
	opts := media.Options{Workers: 2, Segment: 2 * time.Second, Chunk: 4 * time.Second, Segments: media.SegmentsFMP4, Rungs: twoSmallestRungs()}
	r, err := pipeline.Transcode(t.Context(), discardLog, src, dir, "", opts)
	if err != nil {
		t.Fatalf("Transcode error: %v", err)
	}
	if len(r.Plan.Chunks) < 3 {
		t.Fatalf("plan has %d chunks, want at least 3 so that segments cross chunk boundaries", len(r.Plan.Chunks))
	}
	if len(r.Output.Warnings) > 0 {
		t.Errorf("stitch warnings: %v", r.Output.Warnings)
	}
	ladder, err := hls.ReadLadder(layout.MasterPlaylist, func(uri string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, filepath.FromSlash(uri)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ladder.URIs) != len(r.Ladder)+1 {
		t.Fatalf("master lists %v, want %d rungs and the audio", ladder.URIs, len(r.Ladder))
	}

	t.Run("libavformat reads every rendition through its playlist", func(t *testing.T) {
		for _, uri := range ladder.URIs {
			if msg := decodeErrors(t, filepath.Join(dir, uri)); msg != "" {
				t.Errorf("%s: ffmpeg: %s", uri, msg)
			}
			out := ffprobeOutput(t, "-v", "error", "-show_entries", "packet=flags", "-of", "csv=p=0", filepath.Join(dir, uri))
			if n := strings.Count(out, "C"); n > 0 {
				t.Errorf("%s: %d packets flagged corrupt", uri, n)
			}
		}
	})

	t.Run("fragments sit on the global timeline", func(t *testing.T) {
		for _, uri := range ladder.URIs {
			pl, rdir := ladder.Media[uri], path.Dir(uri)
			if pl.Map == "" {
				t.Fatalf("%s has no EXT-X-MAP", uri)
			}
			if !bytes.Contains(mustRead(t, dir, uri), []byte("#EXT-X-VERSION:7\n")) {
				t.Errorf("%s is not a version 7 playlist", uri)
			}
			init := mustRead(t, dir, path.Join(rdir, pl.Map))
			timescale := mdhdTimescale(t, init)
			offset := float64(encoder.TimelineOffset) / 90000 * float64(timescale)
			start := 0.0 // seconds on the output timeline, from the EXTINF durations
			var prev *encoder.Fragment
			for i, s := range pl.Segments {
				frags, err := encoder.ReadFragments(mustRead(t, dir, path.Join(rdir, s.URI)))
				if err != nil {
					t.Fatalf("%s %s: %v", uri, s.URI, err)
				}
				if len(frags) != 1 {
					t.Errorf("%s %s holds %d fragments, want 1", uri, s.URI, len(frags))
				}
				f := frags[0]
				if got, want := f.Sequence, uint32(i+1); got != want {
					t.Errorf("%s %s: mfhd sequence %d, want %d (global segment index + 1)", uri, s.URI, got, want)
				}
				if prev != nil && f.BaseDecodeTime != prev.BaseDecodeTime+prev.Duration {
					t.Errorf("%s %s: tfdt %d, want the previous segment's %d + its duration %d", uri, s.URI,
						f.BaseDecodeTime, prev.BaseDecodeTime, prev.Duration)
				}
				// The audio's first segment starts with the encoder's priming
				// before zero; every video segment starts with its IDR at its
				// place on the timeline.
				if rdir != layout.AudioDir {
					got := float64(int64(f.BaseDecodeTime) + f.FirstCompositionOffset)
					if want := offset + start*float64(timescale); math.Abs(got-want) > 2 {
						t.Errorf("%s %s: first presentation time %.0f, want %.0f (%.3f s on the timeline)", uri, s.URI, got, want, start)
					}
				}
				prev = &f
				start += s.Duration
			}
		}
	})

	t.Run("every chunk wrote the same init segment", func(t *testing.T) {
		for _, rung := range r.Ladder {
			inits, err := filepath.Glob(filepath.Join(dir, rung.Name, "c*_init.mp4"))
			if err != nil || len(inits) != len(r.Plan.Chunks) {
				t.Fatalf("%s: init segments %v, want one per chunk (%d)", rung.Name, inits, len(r.Plan.Chunks))
			}
			first := mustRead(t, "", inits[0])
			for _, f := range inits[1:] {
				if !bytes.Equal(mustRead(t, "", f), first) {
					t.Errorf("%s differs from %s", f, inits[0])
				}
			}
		}
	})

	t.Run("DASH manifest lists the same files", func(t *testing.T) {
		m, err := hls.ParseDASHManifest(mustRead(t, dir, layout.DASHManifest))
		if err != nil {
			t.Fatal(err)
		}
		if m.Dynamic || math.Abs(m.Duration-ladder.Duration()) > 0.01 {
			t.Errorf("manifest dynamic=%v duration %.3f, want static %.3f", m.Dynamic, m.Duration, ladder.Duration())
		}
		var types []string
		reps := map[string]hls.DASHRepresentation{}
		for _, s := range m.Sets {
			types = append(types, s.ContentType)
			for _, r := range s.Representations {
				reps[r.ID] = r
			}
		}
		if want := []string{"video", "audio"}; !slices.Equal(types, want) {
			t.Errorf("adaptation sets %v, want %v", types, want)
		}
		for _, uri := range ladder.URIs {
			pl, rdir := ladder.Media[uri], path.Dir(uri)
			rep, ok := reps[rdir]
			if !ok {
				t.Errorf("manifest has no representation %s", rdir)
				continue
			}
			if want := path.Join(rdir, pl.Map); rep.Init != want {
				t.Errorf("%s: init %s, want %s", rdir, rep.Init, want)
			}
			var got, want []string
			for i, s := range rep.Segments {
				got = append(got, s.URI)
				if i > 0 && s.Time != rep.Segments[i-1].Time+rep.Segments[i-1].Duration {
					t.Errorf("%s: segment %d at %d, want right after the previous one (%d + %d)", rdir, i, s.Time,
						rep.Segments[i-1].Time, rep.Segments[i-1].Duration)
				}
			}
			for _, s := range pl.Segments {
				want = append(want, path.Join(rdir, s.URI))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: manifest segments %v, want the playlist's %v", rdir, got, want)
			}
		}
		// libavformat's DASH demuxer resolves the manifest's URIs against
		// the working directory.
		cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", layout.DASHManifest, "-map", "0", "-f", "null", "-")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("ffmpeg reading %s: %v\n%s", layout.DASHManifest, err, out)
		}
	})
}

func mustRead(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mdhdTimescale reads the track timescale of an init segment with ffprobe,
// independently of the encoder's box code.
func mdhdTimescale(tb testing.TB, init []byte) uint32 {
	tb.Helper()
	i := bytes.Index(init, []byte("mdhd"))
	if i < 0 || len(init) < i+4+4+8+4 {
		tb.Fatal("init segment has no mdhd")
	}
	body := init[i+4:]
	off := 4 + 8
	if body[0] == 1 {
		off = 4 + 16
	}
	return uint32(body[off])<<24 | uint32(body[off+1])<<16 | uint32(body[off+2])<<8 | uint32(body[off+3])
}

func ffprobeOutput(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("ffprobe", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ffprobe %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestFMP4BytesMatchTS encodes one source with the same settings into both containers: the
// coded pictures and sound are the same, and CMAF drops MPEG-TS's packetisation (a 4-byte
// header every 184 bytes, PES headers, ADTS headers, padding), so every fMP4 rendition — its
// segments and its one init segment — must come within 1% of the MPEG-TS one's bytes, and in
// practice lies several percent below.
func TestFMP4BytesMatchTS(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, fadeIn(8, 640, 360))
	type size struct{ ts, fmp4, payload int64 }
	sizes := map[string]*size{}
	var order []string
	for _, format := range []media.SegmentFormat{media.SegmentsTS, media.SegmentsFMP4} {
		dir := t.TempDir()
		opts := media.Options{Workers: 2, Segment: 2 * time.Second, Chunk: 4 * time.Second, Segments: format, Rungs: twoSmallestRungs()}
		if _, err := pipeline.Transcode(t.Context(), discardLog, src, dir, "", opts); err != nil {
			t.Fatalf("Transcode %s: %v", format, err)
		}
		ladder, err := hls.ReadLadder(layout.MasterPlaylist, func(uri string) ([]byte, error) {
			return os.ReadFile(filepath.Join(dir, filepath.FromSlash(uri)))
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, uri := range ladder.URIs {
			name := path.Dir(uri)
			s := sizes[name]
			if s == nil {
				s = &size{}
				sizes[name] = s
				order = append(order, name)
			}
			files := []string{}
			if m := ladder.Media[uri].Map; m != "" {
				files = append(files, m) // once per rendition, as players fetch it
			}
			for _, seg := range ladder.Media[uri].Segments {
				files = append(files, seg.URI)
			}
			var n int64
			for _, f := range files {
				fi, err := os.Stat(filepath.Join(dir, name, f))
				if err != nil {
					t.Fatal(err)
				}
				n += fi.Size()
			}
			if format == media.SegmentsTS {
				s.ts = n
				s.payload = packetBytes(t, filepath.Join(dir, uri))
			} else {
				s.fmp4 = n
			}
		}
	}
	for _, name := range order {
		s := sizes[name]
		t.Logf("%-6s MPEG-TS %8d bytes, fMP4 %8d bytes (%+.2f%%); coded payload %8d bytes (TS overhead %.2f%%)", name,
			s.ts, s.fmp4, 100*float64(s.fmp4-s.ts)/float64(s.ts), s.payload, 100*float64(s.ts-s.payload)/float64(s.payload))
		if s.ts == 0 || s.fmp4 == 0 {
			t.Errorf("%s: written in only one format (TS %d bytes, fMP4 %d)", name, s.ts, s.fmp4)
		} else if limit := s.ts + s.ts/100; s.fmp4 > limit {
			t.Errorf("%s: fMP4 %d bytes, want at most the MPEG-TS %d bytes + 1%% (%d)", name, s.fmp4, s.ts, limit)
		}
	}
}

// packetBytes is the size of the coded packets of a rendition, read through its playlist:
// what both containers carry.
func packetBytes(tb testing.TB, playlist string) int64 {
	tb.Helper()
	var total int64
	for _, line := range strings.Fields(ffprobeOutput(tb, "-v", "error", "-show_entries", "packet=size", "-of", "csv=p=0", playlist)) {
		n, err := strconv.ParseInt(strings.TrimSuffix(line, ","), 10, 64)
		if err != nil {
			tb.Fatalf("ffprobe packet size %q: %v", line, err)
		}
		total += n
	}
	return total
}

// gstreamerPlayers are the GStreamer pipelines a ladder must play to its end: playbin with the
// classic adaptive demuxers (hlsdemux, dashdemux) and playbin3 with their successors
// (hlsdemux2, dashdemux2), both with GStreamer's own MPEG-TS and MP4 demuxers and decoders, an
// implementation that shares nothing with libavformat's.
var gstreamerPlayers = []string{"playbin", "playbin3"}

// TestLadderPlaysInGStreamer plays a ladder of each segment format in GStreamer — the HLS
// master playlist, and a CMAF ladder's DASH manifest too — as fast as it decodes, and wants
// every one to reach its end without an error. The ladder is served over HTTP, as players meet
// it (the demuxers of playbin3 download through libsoup only).
//
// gst-launch-1.0 comes with Debian's gstreamer1.0-tools; the demuxers and decoders with
// gstreamer1.0-plugins-base, -good, -bad and gstreamer1.0-libav.
func TestLadderPlaysInGStreamer(t *testing.T) {
	skipShort(t)
	gst, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		t.Skip("gst-launch-1.0 not found (Debian: gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good " +
			"gstreamer1.0-plugins-bad gstreamer1.0-libav): the ladders are not checked in GStreamer")
	}
	src := testmedia.Generate(t, fadeIn(10, 640, 360))
	eachSegmentFormat(t, func(t *testing.T, format media.SegmentFormat) {
		dir := t.TempDir()
		opts := media.Options{Workers: 2, Segment: 2 * time.Second, Chunk: 4 * time.Second, Segments: format, Rungs: twoSmallestRungs()}
		if _, err := pipeline.Transcode(t.Context(), discardLog, src, dir, "", opts); err != nil {
			t.Fatalf("Transcode error: %v", err)
		}
		srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
		defer srv.Close()
		files := []string{layout.MasterPlaylist}
		if format == media.SegmentsFMP4 {
			files = append(files, layout.DASHManifest)
		}
		for _, file := range files {
			for _, player := range gstreamerPlayers {
				t.Run(player+" "+file, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
					defer cancel()
					cmd := exec.CommandContext(ctx, gst, "--no-fault", player, "uri="+srv.URL+"/"+file,
						"video-sink=fakesink", "audio-sink=fakesink")
					out, err := cmd.CombinedOutput()
					if err != nil || !bytes.Contains(out, []byte("Got EOS")) || bytes.Contains(out, []byte("ERROR")) {
						t.Errorf("gst-launch-1.0 %s of %s did not play to its end without errors (%v):\n%s", player, file, err, out)
					}
				})
			}
		}
	})
}

// twoSmallestRungs is a ladder of two rungs, the cheapest to encode.
func twoSmallestRungs() []media.RungSpec {
	return []media.RungSpec{media.DefaultRungs[len(media.DefaultRungs)-2], media.DefaultRungs[len(media.DefaultRungs)-1]}
}
