package pipeline_test

// The integration tests read what Transcode writes with the ffmpeg and ffprobe CLIs, an
// implementation independent of the libav code under test. These helpers wrap the few ways they
// are called.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// eachSegmentFormat runs test as a subtest per segment container: every
// media test holds both to its checks.
func eachSegmentFormat(t *testing.T, test func(t *testing.T, format media.SegmentFormat)) {
	t.Helper()
	for _, format := range []media.SegmentFormat{media.SegmentsTS, media.SegmentsFMP4} {
		t.Run(string(format), func(t *testing.T) { test(t, format) })
	}
}

// aacFrame is the duration of one AAC-LC frame at 48 kHz: 1024 samples.
const aacFrame = 1024.0 / 48000

// ffStream is the part of ffprobe's -show_streams output the tests read.
type ffStream struct {
	Index              int    `json:"index"`
	CodecType          string `json:"codec_type"`
	CodecName          string `json:"codec_name"`
	Profile            string `json:"profile"`
	Level              int    `json:"level"`
	Width              int    `json:"width"`
	Height             int    `json:"height"`
	PixFmt             string `json:"pix_fmt"`
	FieldOrder         string `json:"field_order"`
	SampleAspectRatio  string `json:"sample_aspect_ratio"`
	DisplayAspectRatio string `json:"display_aspect_ratio"`
	RFrameRate         string `json:"r_frame_rate"`
	AvgFrameRate       string `json:"avg_frame_rate"`
	StartTime          string `json:"start_time"`
	NbReadFrames       string `json:"nb_read_frames"`
	SampleRate         string `json:"sample_rate"`
	Channels           int    `json:"channels"`
}

// probeStreams runs ffprobe -show_streams on path, with extra arguments before it.
func probeStreams(tb testing.TB, path string, extra ...string) []ffStream {
	tb.Helper()
	args := append(slices.Clone(extra), "-show_streams", path)
	var out struct {
		Streams []ffStream `json:"streams"`
	}
	if err := json.Unmarshal(testmedia.FFprobeJSON(tb, args...), &out); err != nil {
		tb.Fatalf("decode ffprobe streams of %s: %v", path, err)
	}
	return out.Streams
}

// streamOf returns the first stream of a codec type ("video", "audio").
func streamOf(streams []ffStream, codecType string) (ffStream, bool) {
	for _, s := range streams {
		if s.CodecType == codecType {
			return s, true
		}
	}
	return ffStream{}, false
}

// countFrames decodes the first video stream of path with ffprobe -count_frames.
func countFrames(tb testing.TB, path string) int {
	tb.Helper()
	streams := probeStreams(tb, path, "-count_frames", "-select_streams", "v:0")
	if len(streams) == 0 {
		tb.Fatalf("ffprobe -count_frames %s: no video stream", path)
	}
	n, err := strconv.Atoi(streams[0].NbReadFrames)
	if err != nil {
		tb.Fatalf("ffprobe -count_frames %s: nb_read_frames %q: %v", path, streams[0].NbReadFrames, err)
	}
	return n
}

// packet is one packet as ffprobe -show_packets reports it, times in seconds.
type packet struct {
	PTS, DTS float64
	Duration float64 // 0 when the container does not say
	Key      bool
	Size     int
}

// probePackets returns the video and audio packets of path in decode order (one ffprobe run).
func probePackets(tb testing.TB, path string) (video, audio []packet) {
	tb.Helper()
	var out struct {
		Packets []struct {
			CodecType string `json:"codec_type"`
			PTSTime   string `json:"pts_time"`
			DTSTime   string `json:"dts_time"`
			Duration  string `json:"duration_time"`
			Flags     string `json:"flags"`
			Size      string `json:"size"`
		} `json:"packets"`
	}
	raw := testmedia.FFprobeJSON(tb, "-show_entries", "packet=codec_type,pts_time,dts_time,duration_time,flags,size", path)
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("decode ffprobe packets of %s: %v", path, err)
	}
	for i, p := range out.Packets {
		pts, err := strconv.ParseFloat(p.PTSTime, 64)
		if err != nil {
			tb.Fatalf("%s: %s packet %d has no pts (%q)", path, p.CodecType, i, p.PTSTime)
		}
		pk := packet{PTS: pts, DTS: pts, Key: strings.HasPrefix(p.Flags, "K")}
		if d, err := strconv.ParseFloat(p.DTSTime, 64); err == nil {
			pk.DTS = d
		}
		if d, err := strconv.ParseFloat(p.Duration, 64); err == nil {
			pk.Duration = d
		}
		pk.Size, _ = strconv.Atoi(p.Size)
		switch p.CodecType {
		case "video":
			video = append(video, pk)
		case "audio":
			audio = append(audio, pk)
		}
	}
	return video, audio
}

// sortedPTS returns the packets' presentation times in display order.
func sortedPTS(pkts []packet) []float64 {
	pts := make([]float64, len(pkts))
	for i, p := range pkts {
		pts[i] = p.PTS
	}
	slices.Sort(pts)
	return pts
}

// decodeErrors decodes every stream of path with the ffmpeg CLI and returns what it printed at
// log level error, plus how it exited when that was not cleanly.
func decodeErrors(tb testing.TB, path string) string {
	tb.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	if err != nil {
		msg += fmt.Sprintf(" (ffmpeg: %v)", err)
	}
	return strings.TrimSpace(msg)
}

// joinDamage reads the playlist at path through libavformat's HLS demuxer, which joins a
// rendition's segments into one MPEG-TS stream as mpv, ffplay and restreamers do, and returns the
// lines in which the demuxer reports a continuity counter that jumps without the discontinuity
// indicator (on any PID: tables, video, audio) or flags a packet corrupt.
func joinDamage(tb testing.TB, path string) []string {
	tb.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "debug", "-i", path,
		"-map", "0", "-c", "copy", "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg -i %s -c copy: %v\n%s", path, err, stderr.String())
	}
	var damage []string
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, "Continuity check failed") || strings.Contains(strings.ToLower(line), "corrupt") {
			damage = append(damage, strings.TrimSpace(line))
		}
	}
	return damage
}

// ffmpegOutput runs the ffmpeg CLI and returns its standard output.
func ffmpegOutput(tb testing.TB, args ...string) []byte {
	tb.Helper()
	full := append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", full...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// silenceEnd matches silencedetect's report of where a silence ends, i.e. where a beep starts.
var silenceEnd = regexp.MustCompile(`silence_end: (-?[0-9.]+)`)

// beepOnsets returns where the testmedia sine's 1760 Hz beeps start in the first audio stream of
// path, in seconds on the file's own timeline (-copyts keeps it). Two high-pass filters bury the
// 440 Hz carrier far under the threshold, so what remains is silence broken by the beeps (40 ms
// each, one a second). Both the source and the output are measured the same way, so the filters'
// delay cancels out when the two are compared.
func beepOnsets(tb testing.TB, path string) []float64 {
	tb.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-copyts", "-i", path, "-map", "0:a:0",
		"-af", "highpass=f=1200,highpass=f=1200,silencedetect=n=-30dB:d=0.2", "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg silencedetect %s: %v\n%s", path, err, stderr.String())
	}
	var onsets []float64
	for _, m := range silenceEnd.FindAllStringSubmatch(stderr.String(), -1) {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			tb.Fatalf("silencedetect %s: bad time %q", path, m[1])
		}
		onsets = append(onsets, f)
	}
	return onsets
}

// grayFrames decodes n consecutive frames with the ffmpeg CLI (input and filter arguments given)
// as 8-bit luma of w×h pixels each.
func grayFrames(tb testing.TB, w, h, n int, args ...string) [][]byte {
	tb.Helper()
	out := ffmpegOutput(tb, append(args, "-frames:v", strconv.Itoa(n), "-f", "rawvideo", "-pix_fmt", "gray", "-")...)
	if len(out) != n*w*h {
		tb.Fatalf("ffmpeg %v: got %d bytes of luma, want %d frames of %dx%d", args, len(out), n, w, h)
	}
	var frames [][]byte
	for i := range n {
		frames = append(frames, out[i*w*h:(i+1)*w*h])
	}
	return frames
}

func meanAbsDiff(a, b []byte) float64 {
	var sum int
	for i := range a {
		d := int(a[i]) - int(b[i])
		sum += max(d, -d)
	}
	return float64(sum) / float64(len(a))
}

func mean(b []byte) float64 {
	var sum int
	for _, v := range b {
		sum += int(v)
	}
	return float64(sum) / float64(len(b))
}

// decodeJPEG reads a JPEG file with the standard library's decoder.
func decodeJPEG(tb testing.TB, path string) image.Image {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		tb.Fatalf("decode %s as JPEG: %v", path, err)
	}
	return img
}

// meanLuma is the average BT.601 luma of an image on the 0–255 scale.
func meanLuma(img image.Image) float64 {
	b := img.Bounds()
	var sum float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
		}
	}
	return sum / float64(b.Dx()*b.Dy())
}

// rate parses an ffprobe rational such as "30000/1001"; 0 when it is not one.
func rate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0
	}
	return n / d
}

// avcProfileIDC maps ffprobe's H.264 profile names to profile_idc, the first byte of an avc1
// codec string (RFC 6381).
var avcProfileIDC = map[string]int{
	"Baseline": 66, "Constrained Baseline": 66, "Main": 77, "Extended": 88, "High": 100,
	"High 10": 110, "High 4:2:2": 122, "High 4:4:4 Predictive": 244,
}

// avcCodecMatches checks an "avc1.PPCCLL" string against the profile and level ffprobe reads from
// the stream's SPS; CC (constraint flags) ffprobe does not report.
func avcCodecMatches(codec, profile string, level int) error {
	hex, ok := strings.CutPrefix(codec, "avc1.")
	if !ok || len(hex) != 6 {
		return fmt.Errorf("%q is not avc1.PPCCLL", codec)
	}
	pp, err1 := strconv.ParseUint(hex[0:2], 16, 8)
	_, err2 := strconv.ParseUint(hex[2:4], 16, 8)
	ll, err3 := strconv.ParseUint(hex[4:6], 16, 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return fmt.Errorf("%q is not avc1 followed by six hex digits", codec)
	}
	idc, known := avcProfileIDC[profile]
	if !known {
		return fmt.Errorf("ffprobe reports unknown H.264 profile %q", profile)
	}
	if int(pp) != idc || int(ll) != level {
		return fmt.Errorf("%q says profile_idc %d level_idc %d, ffprobe reads profile %q (%d) level %d",
			codec, pp, ll, profile, idc, level)
	}
	return nil
}

// vttCue is one cue of a WebVTT file.
type vttCue struct {
	Start, End float64
	Text       string
}

var vttTiming = regexp.MustCompile(`^(\d+):(\d\d):(\d\d\.\d\d\d) --> (\d+):(\d\d):(\d\d\.\d\d\d)`)

// parseVTT reads the cues of a WebVTT file; it fails the test on a file without the WEBVTT header.
func parseVTT(tb testing.TB, b []byte) []vttCue {
	tb.Helper()
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	if !strings.HasPrefix(text, "WEBVTT") {
		tb.Fatalf("storyboard VTT starts %q, want WEBVTT", text[:min(len(text), 20)])
	}
	clock := func(h, m, s string) float64 {
		hh, _ := strconv.Atoi(h)
		mm, _ := strconv.Atoi(m)
		ss, _ := strconv.ParseFloat(s, 64)
		return float64(hh*3600+mm*60) + ss
	}
	var cues []vttCue
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		m := vttTiming.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		c := vttCue{Start: clock(m[1], m[2], m[3]), End: clock(m[4], m[5], m[6])}
		if i+1 < len(lines) {
			c.Text = lines[i+1]
		}
		cues = append(cues, c)
	}
	return cues
}

// parseXYWH reads the media fragment of a storyboard cue: "sprite.jpg#xywh=x,y,w,h".
func parseXYWH(text, sprite string) (image.Rectangle, error) {
	frag, ok := strings.CutPrefix(text, sprite+"#xywh=")
	if !ok {
		return image.Rectangle{}, fmt.Errorf("cue %q does not reference %s#xywh=", text, sprite)
	}
	var x, y, w, h int
	if n, err := fmt.Sscanf(frag, "%d,%d,%d,%d", &x, &y, &w, &h); n != 4 || err != nil {
		return image.Rectangle{}, fmt.Errorf("cue %q: bad xywh fragment", text)
	}
	return image.Rect(x, y, x+w, y+h), nil
}

// firstAtOrAfter returns the smallest value of sorted that is at least t (a tiny tolerance absorbs
// the six decimals ffprobe prints), or NaN.
func firstAtOrAfter(sorted []float64, t float64) float64 {
	i, _ := slices.BinarySearch(sorted, t-1e-6)
	if i == len(sorted) {
		return math.NaN()
	}
	return sorted[i]
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }
