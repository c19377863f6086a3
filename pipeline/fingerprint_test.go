package pipeline_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/phash"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/storage/layout"
)

// fingerprintSeconds is long enough for eight 2 s marks over four 4 s chunks.
const fingerprintSeconds = 16

// reencoded is src as another upload of the same video: a quarter of the
// pixels, a fifth of the bitrate, another encoder preset.
func reencoded(src string) testmedia.Spec {
	return testmedia.Spec{Name: "reencoded-640x360-300k", Ext: "mp4", Args: []string{
		"-i", src, "-vf", "scale=640:360", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "300k",
		"-pix_fmt", "yuv420p", "-c:a", "copy",
	}}
}

// mandelbrot is an unrelated video (a zoom into the Mandelbrot set) with no audio.
func mandelbrot(seconds int) testmedia.Spec {
	return testmedia.Spec{Name: fmt.Sprintf("mandelbrot-%ds-640x360-noaudio", seconds), Ext: "mp4", Args: []string{
		"-f", "lavfi", "-i", fmt.Sprintf("mandelbrot=size=640x360:rate=30,trim=duration=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
	}}
}

// TestTranscodeFingerprintAndSpeech checks the two extras every job
// publishes beside its ladder: phash.json, whose hashes find a re-encoded
// copy of a video and tell an unrelated one apart, and audio16k.wav, the
// speech track.
func TestTranscodeFingerprintAndSpeech(t *testing.T) {
	skipShort(t)
	orig := testmedia.Generate(t, testmedia.CFR(fingerprintSeconds, 1280, 720, 30, true))
	copySrc := testmedia.Generate(t, reencoded(orig))
	other := testmedia.Generate(t, mandelbrot(fingerprintSeconds))

	origDir := transcodeFingerprint(t, orig)
	origHashes := readPHash(t, origDir, orig)
	wantSpeech(t, origDir, orig)

	copyHashes := readPHash(t, transcodeFingerprint(t, copySrc), copySrc)
	otherDir := transcodeFingerprint(t, other)
	otherHashes := readPHash(t, otherDir, other)
	if _, err := os.Stat(filepath.Join(otherDir, layout.SpeechFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat %s of a video without audio: %v, want no file", layout.SpeechFile, err)
	}

	t.Run("re-encoded copy is near", func(t *testing.T) {
		ds := distances(t, origHashes, copyHashes)
		t.Logf("original vs 640x360 300 kb/s copy: distances %v, %s", ds, histogram(ds))
		if n := countIf(ds, func(d int) bool { return d <= 10 }); n*5 < len(ds)*4 {
			t.Errorf("%d of %d distances ≤ 10, want at least 80%%: %v", n, len(ds), ds)
		}
	})
	t.Run("unrelated video is far", func(t *testing.T) {
		ds := distances(t, origHashes, otherHashes)
		t.Logf("testsrc2 vs mandelbrot: distances %v, %s", ds, histogram(ds))
		if n := countIf(ds, func(d int) bool { return d > 20 }); n*5 < len(ds)*4 {
			t.Errorf("%d of %d distances > 20, want at least 80%%: %v", n, len(ds), ds)
		}
	})
}

// transcodeFingerprint runs Transcode with 2 s segments and 4 s chunks.
func transcodeFingerprint(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	opts := media.Options{Workers: 2, Segment: 2 * time.Second, Chunk: 4 * time.Second}
	r, err := pipeline.Transcode(t.Context(), discardLog, src, dir, "", opts)
	if err != nil {
		t.Fatalf("Transcode(%s) error: %v", filepath.Base(src), err)
	}
	if r.Output.PHash != layout.PHashFile || len(r.Output.Warnings) > 0 {
		t.Errorf("%s: Output.PHash = %q, warnings %q; want %q and none", filepath.Base(src), r.Output.PHash, r.Output.Warnings, layout.PHashFile)
	}
	return dir
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{16}$`)

// readPHash reads phash.json and checks its form: 16 hex digits per hash,
// one hash per 2 s of the source.
func readPHash(t *testing.T, dir, src string) []phash.Hash {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, layout.PHashFile))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		IntervalSeconds json.Number `json:"intervalSeconds"`
		Hashes          []string    `json:"hashes"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v\n%s", layout.PHashFile, err, b)
	}
	if raw.IntervalSeconds != "2" {
		t.Errorf("intervalSeconds = %s, want 2", raw.IntervalSeconds)
	}
	for i, h := range raw.Hashes {
		if !hexHash.MatchString(h) {
			t.Errorf("hash %d = %q, want 16 lower-case hex digits", i, h)
		}
	}
	duration := probeSource(t, src).duration
	if want := int(math.Ceil(duration/2 - 1e-6)); len(raw.Hashes) != want {
		t.Errorf("%s of a %.3f s video has %d hashes, want %d (one per 2 s)", filepath.Base(src), duration, len(raw.Hashes), want)
	}
	var track phash.Track
	if err := json.Unmarshal(b, &track); err != nil {
		t.Fatal(err)
	}
	return track.Hashes
}

// wantSpeech checks audio16k.wav: as long as the source's audio.
func wantSpeech(t *testing.T, dir, src string) {
	t.Helper()
	got, want := speechDuration(t, dir), audioStreamDuration(t, src)
	if math.Abs(got-want) > 0.03 {
		t.Errorf("%s lasts %.4f s, want the source audio's %.3f s", layout.SpeechFile, got, want)
	}
}

// speechDuration checks with ffprobe that audio16k.wav is mono 16 kHz
// 16-bit PCM, published under its final name only, and returns its length.
func speechDuration(t *testing.T, dir string) float64 {
	t.Helper()
	path := filepath.Join(dir, layout.SpeechFile)
	var out struct {
		Streams []struct {
			CodecName  string `json:"codec_name"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
			Duration   string `json:"duration"`
		} `json:"streams"`
		Format struct {
			FormatName string `json:"format_name"`
		} `json:"format"`
	}
	if err := json.Unmarshal(testmedia.FFprobeJSON(t, "-show_streams", "-show_format", path), &out); err != nil {
		t.Fatal(err)
	}
	if out.Format.FormatName != "wav" || len(out.Streams) != 1 {
		t.Fatalf("%s: format %q with %d streams, want wav with one", layout.SpeechFile, out.Format.FormatName, len(out.Streams))
	}
	st := out.Streams[0]
	if st.CodecName != "pcm_s16le" || st.SampleRate != "16000" || st.Channels != 1 {
		t.Errorf("%s: %s %s Hz %d channels, want pcm_s16le 16000 Hz mono", layout.SpeechFile, st.CodecName, st.SampleRate, st.Channels)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "audio", "*.wav")); len(left) > 0 {
		t.Errorf("speech track left under its task name too: %v", left)
	}
	d, err := strconv.ParseFloat(st.Duration, 64)
	if err != nil {
		t.Fatalf("%s duration %q: %v", layout.SpeechFile, st.Duration, err)
	}
	return d
}

// checkExtras checks phash.json and audio16k.wav of any ladder: one hash per
// 2 s mark up to the last frame for a video, the speech track for audio, and
// neither file where the source has nothing to make it from.
func (l *ladder) checkExtras(t *testing.T) {
	if w := l.report.Output.Warnings; len(w) > 0 {
		t.Errorf("stitch warnings %q, want none", w)
	}
	if l.src.video == nil {
		if _, err := os.Stat(l.path(layout.PHashFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat %s of an audio-only source: %v, want no file", layout.PHashFile, err)
		}
	} else {
		rel := l.src.rel()
		want := int(math.Floor((rel[len(rel)-1]+1e-3)/2)) + 1 // marks 0, 2, 4 … s up to the last frame
		var track phash.Track
		b, err := os.ReadFile(l.path(layout.PHashFile))
		if err == nil {
			err = json.Unmarshal(b, &track)
		}
		if err != nil {
			t.Fatalf("%s: %v", layout.PHashFile, err)
		}
		if track.IntervalSeconds != 2 || len(track.Hashes) != want {
			t.Errorf("%s: %d hashes every %g s, want %d every 2 s for frames up to %.3f s",
				layout.PHashFile, len(track.Hashes), track.IntervalSeconds, want, rel[len(rel)-1])
		}
	}
	if l.src.audio == nil {
		if _, err := os.Stat(l.path(layout.SpeechFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat %s of a source without audio: %v, want no file", layout.SpeechFile, err)
		}
		return
	}
	// Aligned to the video and trimmed to it like the AAC rendition.
	if d := speechDuration(t, l.dir); d <= 0 || d > l.report.Probe.Duration+0.03 {
		t.Errorf("%s lasts %.4f s, want up to the %.3f s of the video", layout.SpeechFile, d, l.report.Probe.Duration)
	}
}

func distances(t *testing.T, a, b []phash.Hash) []int {
	t.Helper()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d hashes, want the same non-zero count", len(a), len(b))
	}
	ds := make([]int, len(a))
	for i := range a {
		ds[i] = phash.Distance(a[i], b[i])
	}
	return ds
}

func countIf(ds []int, f func(int) bool) int {
	n := 0
	for _, d := range ds {
		if f(d) {
			n++
		}
	}
	return n
}

// histogram summarises distances in bands of 5 bits.
func histogram(ds []int) string {
	bands := map[int]int{}
	for _, d := range ds {
		bands[d/5]++
	}
	var keys []int
	for k := range bands {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d–%d: %d", 5*k, 5*k+4, bands[k]))
	}
	return "histogram " + strings.Join(parts, ", ")
}
