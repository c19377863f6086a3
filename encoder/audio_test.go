package encoder

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// aacFrame is one AAC frame in seconds; the encoder's priming is one frame.
const aacFrame = 1024.0 / AudioSampleRate

func TestEncodeAudio(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes generated media; skipped with -short")
	}
	// Video from 0 to 3 s, audio from 0.5 s to 3.5 s.
	src := testmedia.Generate(t, testmedia.AudioLags(3))
	tests := []struct {
		name     string
		spec     media.AudioSpec
		wantEnd  float64 // where the last segment ends on the output timeline
		tolerant float64 // how far past wantEnd it may end
	}{
		{
			name:     "trimmed to the video",
			spec:     media.AudioSpec{Source: src, Attempt: 1, Duration: 3, Segment: time.Second},
			wantEnd:  3,
			tolerant: aacFrame, // the last frame is padded to 1024 samples
		},
		{
			name:     "whole track",
			spec:     media.AudioSpec{Source: src, Attempt: 2, Segment: time.Second},
			wantEnd:  3.5,
			tolerant: 0.03, // plus the AAC encoder's own padding in the source
		},
		{
			name:     "segment 2s",
			spec:     media.AudioSpec{Source: src, Attempt: 1, Duration: 3, Segment: 2 * time.Second},
			wantEnd:  3,
			tolerant: aacFrame,
		},
		{
			// Segment 0 of 1 s, then 2 s segments from 1 s: as the video's.
			name:     "short first segment",
			spec:     media.AudioSpec{Source: src, Attempt: 1, Duration: 3, Segment: 2 * time.Second, FirstSegment: time.Second},
			wantEnd:  3,
			tolerant: aacFrame,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := tt.spec
			spec.OutDir = t.TempDir()
			res, err := EncodeAudio(context.Background(), spec)
			if err != nil {
				t.Fatalf("EncodeAudio error: %v", err)
			}
			if res.Codec != hls.AACLowComplexity {
				t.Errorf("Codec = %q, want %q", res.Codec, hls.AACLowComplexity)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("Warnings = %q, want none", res.Warnings)
			}
			wantAudioSegments(t, spec, res, tt.wantEnd, tt.tolerant)
			for _, s := range res.Segments {
				wantAACSegment(t, filepath.Join(spec.OutDir, s.File), s)
			}
			// The video starts 0.5 s before the audio: the output starts
			// with that much silence, then the sine (with a beep) begins.
			first := decodeMono(t, filepath.Join(spec.OutDir, res.Segments[0].File))
			if p := peak(window(t, first, 0.03, 0.45)); p > 1e-3 {
				t.Errorf("peak between 0.03 s and 0.45 s = %.4f, want silence before the audio starts at 0.5 s", p)
			}
			if r := rms(window(t, first, 0.55, 0.95)); r < 0.02 {
				t.Errorf("RMS between 0.55 s and 0.95 s = %.4f, want the sine", r)
			}
		})
	}
}

// wantAudioSegments checks that the segments tile the output timeline from
// the priming frame to the end, cut on the segment boundaries.
func wantAudioSegments(t *testing.T, spec media.AudioSpec, res *media.AudioResult, wantEnd, tolerant float64) {
	t.Helper()
	segs := res.Segments
	grid := media.Plan{Segment: spec.Segment, FirstSegment: spec.FirstSegment}
	want := 1
	for grid.SegmentStart(want).Seconds() < wantEnd {
		want++
	}
	if len(segs) != want {
		t.Errorf("%d segments, want %d for %.1f s in %v segments (the first %v)", len(segs), want, wantEnd, spec.Segment, spec.FirstSegment)
	}
	if len(segs) == 0 {
		t.FailNow()
	}
	// The AAC encoder's priming frame comes first, before time zero.
	if got, want := segs[0].Start, -aacFrame; math.Abs(got-want) > 1e-9 {
		t.Errorf("first segment Start = %.6f s, want the priming %.6f s", got, want)
	}
	for i, s := range segs {
		if s.Index != i {
			t.Errorf("segment %d: Index = %d", i, s.Index)
		}
		if want := filepath.Join("audio", "a"+strconv.Itoa(spec.Attempt)+"_"+pad5(i)+".ts"); s.File != want {
			t.Errorf("segment %d: File = %q, want %q", i, s.File, want)
		}
		if fi, err := os.Stat(filepath.Join(spec.OutDir, s.File)); err != nil || fi.Size() != s.Bytes || s.Bytes == 0 {
			t.Errorf("segment %d: %s: %v, want a file of Bytes = %d", i, s.File, err, s.Bytes)
		}
		if s.Duration <= 0 {
			t.Errorf("segment %d: Duration = %v, want > 0", i, s.Duration)
		}
		if i == 0 {
			continue
		}
		// A segment starts with the first AAC frame at or after its boundary.
		if b := grid.SegmentStart(i).Seconds(); s.Start < b || s.Start >= b+aacFrame {
			t.Errorf("segment %d: Start = %.6f s, want within one AAC frame after the boundary %.1f s", i, s.Start, b)
		}
		if prev := segs[i-1]; math.Abs(prev.Start+prev.Duration-s.Start) > 1e-9 {
			t.Errorf("segment %d ends at %.6f s but segment %d starts at %.6f s, want no gap or overlap",
				i-1, prev.Start+prev.Duration, i, s.Start)
		}
	}
	last := segs[len(segs)-1]
	if end := last.Start + last.Duration; end < wantEnd-1e-9 || end > wantEnd+tolerant {
		t.Errorf("last segment ends at %.6f s, want %.3f s (+%.4f s)", end, wantEnd, tolerant)
	}
}

func pad5(i int) string {
	s := strconv.Itoa(i)
	return strings.Repeat("0", max(0, 5-len(s))) + s
}

// wantAACSegment checks with ffprobe and ffmpeg that a segment is AAC-LC
// 48 kHz stereo in MPEG-TS, placed on the output timeline, and decodes cleanly.
func wantAACSegment(t *testing.T, path string, s media.AudioSegment) {
	t.Helper()
	var out struct {
		Streams []struct {
			CodecName  string `json:"codec_name"`
			Profile    string `json:"profile"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
			StartTime  string `json:"start_time"`
		} `json:"streams"`
		Format struct {
			FormatName string `json:"format_name"`
		} `json:"format"`
	}
	if err := json.Unmarshal(testmedia.FFprobeJSON(t, "-show_streams", "-show_format", path), &out); err != nil {
		t.Fatalf("decode ffprobe output: %v", err)
	}
	if out.Format.FormatName != "mpegts" || len(out.Streams) != 1 {
		t.Fatalf("%s: format %q with %d streams, want mpegts with one", s.File, out.Format.FormatName, len(out.Streams))
	}
	st := out.Streams[0]
	if st.CodecName != "aac" || st.Profile != "LC" || st.SampleRate != "48000" || st.Channels != 2 {
		t.Errorf("%s: %s %s %s Hz %d channels, want aac LC 48000 Hz 2 channels",
			s.File, st.CodecName, st.Profile, st.SampleRate, st.Channels)
	}
	// Timestamps continue the global timeline, shifted by TimelineOffset.
	offset := float64(TimelineOffset) / float64(OutputTimeBase.Den())
	if start, err := strconv.ParseFloat(st.StartTime, 64); err != nil || math.Abs(start-(offset+s.Start)) > 1e-4 {
		t.Errorf("%s: start_time = %s, want %.6f s (offset %.0f s + Start %.6f s)", s.File, st.StartTime, offset+s.Start, offset, s.Start)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("%s: decoding: %v, %q; want no error", s.File, err, stderr.String())
	}
}

// decodeMono decodes a segment to mono float samples with the ffmpeg CLI.
// MPEG-TS carries no priming information, so sample 0 is the first sample of
// the priming frame.
func decodeMono(t *testing.T, path string) []float32 {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path,
		"-ac", "1", "-f", "f32le", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("decode %s: %v\n%s", path, err, stderr.String())
	}
	samples := make([]float32, stdout.Len()/4)
	if err := binary.Read(&stdout, binary.LittleEndian, samples); err != nil {
		t.Fatalf("read samples: %v", err)
	}
	return samples
}

// window returns the samples between from and to seconds of the output
// timeline, given that the decoded samples start with the priming frame.
func window(t *testing.T, s []float32, from, to float64) []float32 {
	t.Helper()
	i := int((from + aacFrame) * AudioSampleRate)
	j := int((to + aacFrame) * AudioSampleRate)
	if j > len(s) {
		t.Fatalf("decoded %d samples, want at least %d", len(s), j)
	}
	return s[i:j]
}

func peak(w []float32) float64 {
	var p float64
	for _, x := range w {
		p = max(p, math.Abs(float64(x)))
	}
	return p
}

func rms(w []float32) float64 {
	var sum float64
	for _, x := range w {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum / float64(len(w)))
}

// TestEncodeAudioSpeechTrack checks the speech track the audio task writes
// beside the AAC segments: mono 16 kHz 16-bit PCM WAV on the same timeline.
func TestEncodeAudioSpeechTrack(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes generated media; skipped with -short")
	}
	// Video from 0 to 3 s, audio from 0.5 s to 3.5 s.
	src := testmedia.Generate(t, testmedia.AudioLags(3))
	tests := []struct {
		name         string
		spec         media.AudioSpec
		wantDuration float64
		tolerance    float64
	}{
		{"trimmed to the video", media.AudioSpec{Source: src, Attempt: 1, Duration: 3, Segment: time.Second}, 3, 1.0 / SpeechSampleRate},
		{"whole track", media.AudioSpec{Source: src, Attempt: 3, Segment: time.Second}, 3.5, 0.03},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := tt.spec
			spec.OutDir = t.TempDir()
			res, err := EncodeAudio(context.Background(), spec)
			if err != nil {
				t.Fatalf("EncodeAudio error: %v", err)
			}
			sp := res.Speech
			if sp == nil {
				t.Fatal("Speech = nil, want the speech track")
			}
			if want := filepath.Join("audio", "a"+strconv.Itoa(spec.Attempt)+"_16k.wav"); sp.File != want || sp.SampleRate != SpeechSampleRate {
				t.Errorf("Speech = %+v, want File %q at %d Hz", sp, want, SpeechSampleRate)
			}
			path := filepath.Join(spec.OutDir, sp.File)
			if fi, err := os.Stat(path); err != nil || fi.Size() != sp.Bytes {
				t.Fatalf("stat %s: %v, want a file of Bytes = %d", sp.File, err, sp.Bytes)
			}
			if math.Abs(sp.Duration-tt.wantDuration) > tt.tolerance {
				t.Errorf("Speech.Duration = %.5f s, want %.3f s ± %.5f", sp.Duration, tt.wantDuration, tt.tolerance)
			}
			h := wantWAVHeader(t, path, SpeechSampleRate, 1)
			if got := float64(h.dataSize) / 2 / SpeechSampleRate; math.Abs(got-sp.Duration) > 1e-9 {
				t.Errorf("WAV holds %.5f s, Speech.Duration says %.5f s", got, sp.Duration)
			}
			wantSpeechProbe(t, path, sp.Duration)

			// Aligned like the AAC track: silence until the audio starts at 0.5 s.
			samples := readPCM16(t, path)
			at := func(sec float64) int { return int(sec * SpeechSampleRate) }
			if p := peak(samples[at(0.02):at(0.45)]); p > 1e-3 {
				t.Errorf("peak between 0.02 s and 0.45 s = %.4f, want silence before the audio starts at 0.5 s", p)
			}
			if r := rms(samples[at(0.55):at(0.95)]); r < 0.02 {
				t.Errorf("RMS between 0.55 s and 0.95 s = %.4f, want the sine", r)
			}
		})
	}
}

// wantSpeechProbe checks with ffprobe that a WAV file is what speech-to-text
// services take.
func wantSpeechProbe(t *testing.T, path string, duration float64) {
	t.Helper()
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
		t.Fatalf("decode ffprobe output: %v", err)
	}
	if out.Format.FormatName != "wav" || len(out.Streams) != 1 {
		t.Fatalf("format %q with %d streams, want wav with one", out.Format.FormatName, len(out.Streams))
	}
	st := out.Streams[0]
	if st.CodecName != "pcm_s16le" || st.SampleRate != "16000" || st.Channels != 1 {
		t.Errorf("%s %s Hz %d channels, want pcm_s16le 16000 Hz 1 channel", st.CodecName, st.SampleRate, st.Channels)
	}
	if d, err := strconv.ParseFloat(st.Duration, 64); err != nil || math.Abs(d-duration) > 1e-3 {
		t.Errorf("ffprobe duration %q, want %.4f s", st.Duration, duration)
	}
}

// readPCM16 reads a canonical WAV file's 16-bit samples as floats in [-1, 1).
func readPCM16(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = b[wavHeaderSize:]
	out := make([]float32, len(b)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return out
}

// TestEncodeAudioParts checks the two parts of a track split at the head:
// the head's part up to the first chunk's end, then the rest from there with
// its pre-roll dropped. Read through libav's HLS demuxer as one rendition,
// the parts join with no gap and no overlap, and last as long as the track
// encoded in one task, within one AAC frame.
func TestEncodeAudioParts(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes generated media; skipped with -short")
	}
	src := testmedia.Generate(t, testmedia.AudioLags(9))
	whole := media.AudioSpec{Source: src, Attempt: 1, Duration: 9, Segment: 2 * time.Second, OutDir: t.TempDir()}
	one, err := EncodeAudio(context.Background(), whole)
	if err != nil {
		t.Fatalf("EncodeAudio (one task) error: %v", err)
	}
	wantPTS := testmedia.HLSAudioPTS(t, whole.OutDir, one)
	offset := float64(TimelineOffset) / float64(OutputTimeBase.Den())
	// Inside a segment; on a segment boundary.
	for _, from := range []float64{media.AudioPartBoundary(3.1), media.AudioPartBoundary(8)} {
		t.Run(strconv.FormatFloat(from, 'f', -1, 64), func(t *testing.T) {
			head := whole
			head.OutDir, head.Duration = t.TempDir(), from
			rest := whole
			rest.OutDir, rest.Part, rest.From = head.OutDir, media.AudioPartRest, from
			hr, err := EncodeAudio(context.Background(), head)
			if err != nil {
				t.Fatalf("EncodeAudio (head) error: %v", err)
			}
			rr, err := EncodeAudio(context.Background(), rest)
			if err != nil {
				t.Fatalf("EncodeAudio (rest) error: %v", err)
			}
			if want := int(math.Ceil(from / 2)); len(hr.Segments) != want {
				t.Fatalf("head: %d segments, want %d", len(hr.Segments), want)
			}
			last := hr.Segments[len(hr.Segments)-1]
			if end := last.Start + last.Duration; math.Abs(end-from) > 1e-9 {
				t.Errorf("head ends at %.6f s, want %.6f s", end, from)
			}
			first := rr.Segments[0]
			if first.Index != len(hr.Segments) || math.Abs(first.Start-from) > 1e-9 {
				t.Errorf("rest starts with segment %d at %.6f s, want segment %d at %.6f s", first.Index, first.Start, len(hr.Segments), from)
			}
			segs := append(slices.Clone(hr.Segments), rr.Segments...)
			names := map[string]bool{}
			for i, s := range segs {
				if s.Index != i || names[s.File] {
					t.Errorf("segment %d: Index %d, File %q (taken: %v)", i, s.Index, s.File, names[s.File])
				}
				names[s.File] = true
				if i > 0 && math.Abs(segs[i-1].Start+segs[i-1].Duration-s.Start) > 1e-9 {
					t.Errorf("segment %d starts at %.6f s, the one before ends at %.6f s", i, s.Start, segs[i-1].Start+segs[i-1].Duration)
				}
				if i > len(hr.Segments) && math.Abs(s.Start-float64(s.Index-1)*2) >= aacFrame {
					t.Errorf("segment %d starts at %.6f s, want the grid's %d s", i, s.Start, (s.Index-1)*2)
				}
			}
			// Through the HLS demuxer the two parts are the one task's
			// packets: the same count, the same timestamps, so the same
			// duration; and around the join, one AAC frame apart.
			got := testmedia.HLSAudioPTS(t, head.OutDir, media.MergeAudioParts([]*media.AudioResult{hr, rr}))
			if len(got) != len(wantPTS) {
				t.Errorf("two parts: %d packets through the HLS demuxer, one task %d (%.6f s apart, want within one AAC frame)",
					len(got), len(wantPTS), float64(len(got)-len(wantPTS))*aacFrame)
			}
			for i := range min(len(got), len(wantPTS)) {
				if math.Abs(got[i]-wantPTS[i]) > 1e-4 {
					t.Errorf("packet %d at %.6f s, one task's at %.6f s", i, got[i], wantPTS[i])
				}
				if at := got[i] - offset; i > 0 && math.Abs(at-from) < 0.2 && math.Abs(got[i]-got[i-1]-aacFrame) > 1e-4 {
					t.Errorf("packet %d at %.6f s, %.6f s after the one before, at the join: want one AAC frame", i, at, got[i]-got[i-1])
				}
			}
			// The speech track is the whole track's, from the rest.
			if rr.Speech == nil || math.Abs(rr.Speech.Duration-one.Speech.Duration) > 1e-3 {
				t.Errorf("rest's speech track = %+v, want the whole track's %+v", rr.Speech, one.Speech)
			}
		})
	}
}
