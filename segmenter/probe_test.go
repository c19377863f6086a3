package segmenter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// ffStream is the part of ffprobe's -show_streams output the tests compare with.
type ffStream struct {
	Index        int    `json:"index"`
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	TimeBase     string `json:"time_base"`
	StartPTS     int64  `json:"start_pts"`
	StartTime    string `json:"start_time"`
	Duration     string `json:"duration"`
	NbReadPacket string `json:"nb_read_packets"`
}

type ffFormat struct {
	FormatName string `json:"format_name"`
	Duration   string `json:"duration"`
}

// ffprobeStreams returns ffprobe's view of the file's streams and format,
// with packet counts.
func ffprobeStreams(tb testing.TB, path string) ([]ffStream, ffFormat) {
	tb.Helper()
	var out struct {
		Streams []ffStream `json:"streams"`
		Format  ffFormat   `json:"format"`
	}
	raw := testmedia.FFprobeJSON(tb, "-count_packets", "-show_streams", "-show_format", path)
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("decode ffprobe output: %v", err)
	}
	return out.Streams, out.Format
}

// ffFrame is one decoded frame as ffprobe -show_frames reports it.
type ffFrame struct {
	PTS                 *int64 `json:"pts"`
	BestEffortTimestamp *int64 `json:"best_effort_timestamp"`
}

// ffprobeFramePTS decodes the first video stream with ffprobe and returns
// every frame's timestamp in presentation order. With keyOnly, the decoder
// skips every frame but the keyframes.
func ffprobeFramePTS(tb testing.TB, path string, keyOnly bool) []int64 {
	tb.Helper()
	args := []string{"-select_streams", "v:0", "-show_entries", "frame=pts,best_effort_timestamp"}
	if keyOnly {
		args = append(args, "-skip_frame", "nokey")
	}
	var out struct {
		Frames []ffFrame `json:"frames"`
	}
	if err := json.Unmarshal(testmedia.FFprobeJSON(tb, append(args, path)...), &out); err != nil {
		tb.Fatalf("decode ffprobe frames: %v", err)
	}
	var pts []int64
	for i, f := range out.Frames {
		switch {
		case f.BestEffortTimestamp != nil:
			pts = append(pts, *f.BestEffortTimestamp)
		case f.PTS != nil:
			pts = append(pts, *f.PTS)
		default:
			tb.Fatalf("%s: frame %d has no timestamp", path, i)
		}
	}
	slices.Sort(pts)
	return pts
}

func parseSeconds(tb testing.TB, s string) float64 {
	tb.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("parse seconds %q: %v", s, err)
	}
	return f
}

func parseTimeBase(tb testing.TB, s string) media.Rational {
	tb.Helper()
	num, den, ok := strings.Cut(s, "/")
	n, err1 := strconv.Atoi(num)
	d, err2 := strconv.Atoi(den)
	if !ok || err1 != nil || err2 != nil {
		tb.Fatalf("parse time base %q", s)
	}
	return media.Rational{Num: n, Den: d}
}

func firstOfType(streams []ffStream, typ string) *ffStream {
	for i := range streams {
		if streams[i].CodecType == typ {
			return &streams[i]
		}
	}
	return nil
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("decodes generated media; skipped with -short")
	}
}

func probe(t *testing.T, path string) *media.Probe {
	t.Helper()
	p, err := ProbeFile(context.Background(), path)
	if err != nil {
		t.Fatalf("ProbeFile(%s) error: %v", filepath.Base(path), err)
	}
	return p
}

func TestProbeFile(t *testing.T) {
	skipShort(t)
	const d = 3 // seconds; the same clips as testmedia's own tests, so the cache is shared
	tests := []struct {
		spec  testmedia.Spec
		check func(t *testing.T, p *media.Probe, path string)
	}{
		{testmedia.CFR(d, 320, 240, 30, true), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 30, Den: 1})
			v := p.Video
			if v.VFR || v.Interlaced || v.Rotation != 0 || v.SAR != (media.Rational{Num: 1, Den: 1}) {
				t.Errorf("VFR, Interlaced, Rotation, SAR = %v, %v, %d, %v; want false, false, 0, 1:1",
					v.VFR, v.Interlaced, v.Rotation, v.SAR)
			}
			if v.BitDepth != 8 || v.Chroma != "4:2:0" || v.PixelFormat != "yuv420p" {
				t.Errorf("pixels = %s %d-bit %s, want yuv420p 8-bit 4:2:0", v.PixelFormat, v.BitDepth, v.Chroma)
			}
			if a := p.Audio; a == nil || a.Codec != "aac" || a.SampleRate != 48000 || a.Channels != 2 {
				t.Errorf("audio = %+v, want aac 48000 Hz 2 channels", a)
			}
		}},
		{testmedia.CFRTS(d, 320, 240, 30, true), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 30, Den: 1})
			// MPEG-TS timestamps start near 1.4 s; the output timeline starts there.
			if got := p.Video.Seconds(p.Video.OriginPTS); got != 0 {
				t.Errorf("Seconds(OriginPTS) = %v, want 0", got)
			}
			if got := float64(p.Video.OriginPTS) * p.Video.TimeBase.Float(); got < 1 || got > 2 {
				t.Errorf("origin = %.3f s, want about 1.4 s", got)
			}
		}},
		{testmedia.LongGOP(30), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 640, 360, media.Rational{Num: 30, Den: 1})
			v := p.Video
			var keys []float64
			for _, k := range v.Keyframes {
				keys = append(keys, v.Seconds(k))
			}
			if len(keys) != 2 || keys[0] != 0 || math.Abs(keys[1]-20) > 1e-9 {
				t.Errorf("keyframes at %v s, want [0 20]", keys)
			}
			if v.KeyCount != 2 {
				t.Errorf("KeyCount = %d, want 2", v.KeyCount)
			}
			if math.Abs(v.MaxGOP-20) > 1e-9 {
				t.Errorf("MaxGOP = %v s, want 20 s", v.MaxGOP)
			}
		}},
		{testmedia.VFR(5), func(t *testing.T, p *media.Probe, path string) {
			if p.Video == nil {
				t.Fatalf("Video = nil")
			}
			v := p.Video
			if !v.VFR {
				t.Errorf("VFR = false, want true")
			}
			// About a fifth of the frames is dropped: the average rate is
			// well below the nominal 30 fps.
			if fps := v.FrameRate.Float(); fps < 20 || fps > 29 {
				t.Errorf("frame rate = %v (%.2f fps), want the measured average between 20 and 29", v.FrameRate, fps)
			}
			if v.TimeBase != (media.Rational{Num: 1, Den: 90000}) {
				t.Errorf("time base = %v, want 1/90000", v.TimeBase)
			}
		}},
		{testmedia.RotatedPortrait(d), func(t *testing.T, p *media.Probe, path string) {
			if p.Video == nil {
				t.Fatalf("Video = nil")
			}
			v := p.Video
			if v.Width != 640 || v.Height != 360 {
				t.Errorf("coded size = %dx%d, want 640x360", v.Width, v.Height)
			}
			if v.Rotation != 90 && v.Rotation != 270 {
				t.Fatalf("Rotation = %d, want 90 or 270", v.Rotation)
			}
			if w, h := v.DisplaySize(); w != 360 || h != 640 {
				t.Errorf("DisplaySize = %dx%d, want 360x640", w, h)
			}
			wantAutorotated(t, path, v.Rotation)
		}},
		{testmedia.TenBit422(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 30, Den: 1})
			if v := p.Video; v.BitDepth != 10 || v.Chroma != "4:2:2" || v.PixelFormat != "yuv422p10le" {
				t.Errorf("pixels = %s %d-bit %s, want yuv422p10le 10-bit 4:2:2", v.PixelFormat, v.BitDepth, v.Chroma)
			}
			if a := p.Audio; a == nil || a.Codec != "pcm_s16le" {
				t.Errorf("audio = %+v, want pcm_s16le", a)
			}
		}},
		{testmedia.Interlaced(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 720, 576, media.Rational{Num: 25, Den: 1})
			if !p.Video.Interlaced {
				t.Errorf("Interlaced = false, want true")
			}
			if a := p.Audio; a == nil || a.Codec != "mp2" {
				t.Errorf("audio = %+v, want mp2", a)
			}
		}},
		{testmedia.NonSquarePixels(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 720, 480, media.Rational{Num: 30000, Den: 1001})
			v := p.Video
			if v.SAR != (media.Rational{Num: 32, Den: 27}) {
				t.Errorf("SAR = %v, want 32:27", v.SAR)
			}
			if w, h := v.DisplaySize(); w != 853 || h != 480 {
				t.Errorf("DisplaySize = %dx%d, want 853x480", w, h)
			}
		}},
		{testmedia.OddDims(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 853, 481, media.Rational{Num: 30, Den: 1})
			if v := p.Video; v.Chroma != "4:4:4" || v.BitDepth != 8 {
				t.Errorf("pixels = %d-bit %s, want 8-bit 4:4:4", v.BitDepth, v.Chroma)
			}
		}},
		{testmedia.AudioOnly(d), func(t *testing.T, p *media.Probe, path string) {
			if p.Video != nil {
				t.Errorf("Video = %+v, want nil", p.Video)
			}
			if a := p.Audio; a == nil || a.Codec != "aac" || a.SampleRate != 48000 || a.Channels != 2 {
				t.Errorf("audio = %+v, want aac 48000 Hz 2 channels", a)
			}
		}},
		{testmedia.NoAudio(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 30, Den: 1})
			if p.Audio != nil {
				t.Errorf("Audio = %+v, want nil", p.Audio)
			}
		}},
		{testmedia.AudioLeads(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 30, Den: 1})
			wantAudioOffset(t, p, path, -0.5)
		}},
		{testmedia.AudioLags(d), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 30, Den: 1})
			wantAudioOffset(t, p, path, 0.5)
		}},
		{testmedia.Tiny(), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 160, 120, media.Rational{Num: 30, Den: 1})
		}},
		{testmedia.HighFPS(2), func(t *testing.T, p *media.Probe, path string) {
			wantVideo(t, p, 320, 240, media.Rational{Num: 120, Den: 1})
			if got := p.Video.Frames; got != 240 {
				t.Errorf("Frames = %d, want 240", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			t.Parallel()
			path := testmedia.Generate(t, tt.spec)
			p := probe(t, path)
			wantLikeFFprobe(t, p, path)
			tt.check(t, p, path)
		})
	}
}

// wantLikeFFprobe compares what every probe reports with ffprobe's view of
// the same file.
func wantLikeFFprobe(t *testing.T, p *media.Probe, path string) {
	t.Helper()
	streams, format := ffprobeStreams(t, path)
	if p.Container != format.FormatName {
		t.Errorf("Container = %q, want ffprobe's %q", p.Container, format.FormatName)
	}
	var got, want []string
	for _, s := range p.Streams {
		got = append(got, strconv.Itoa(s.Index)+":"+s.Type+":"+s.Codec)
	}
	for _, s := range streams {
		want = append(want, strconv.Itoa(s.Index)+":"+s.CodecType+":"+s.CodecName)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Streams = %v, want ffprobe's %v", got, want)
	}
	if p.Size <= 0 {
		t.Errorf("Size = %d, want > 0", p.Size)
	}
	if len(p.Warnings) > 0 {
		t.Errorf("Warnings = %q, want none for a clean clip", p.Warnings)
	}

	if v := p.Video; v != nil {
		fv := firstOfType(streams, "video")
		if fv == nil || fv.Index != v.Index {
			t.Fatalf("Video.Index = %d, want ffprobe's first video stream %+v", v.Index, fv)
		}
		if tb := parseTimeBase(t, fv.TimeBase); v.TimeBase != tb {
			t.Errorf("Video.TimeBase = %v, want ffprobe's %v", v.TimeBase, tb)
		}
		// The duration runs from the first keyframe to the end of the last
		// frame: ffprobe's video stream duration, within one frame.
		frame := 1 / v.FrameRate.Float()
		if want := parseSeconds(t, fv.Duration); math.Abs(p.Duration-want) > frame+0.001 {
			t.Errorf("Duration = %.4f s, want ffprobe's video duration %.4f s ± one frame (%.4f s)", p.Duration, want, frame)
		}
		if n, _ := strconv.Atoi(fv.NbReadPacket); v.Frames != n {
			t.Errorf("Frames = %d, want ffprobe's %d video packets", v.Frames, n)
		}
		frames := ffprobeFramePTS(t, path, false)
		if v.OriginPTS != frames[0] || v.LastPTS != frames[len(frames)-1] {
			t.Errorf("OriginPTS, LastPTS = %d, %d; want ffprobe's first and last frame %d, %d",
				v.OriginPTS, v.LastPTS, frames[0], frames[len(frames)-1])
		}
		if v.EndPTS <= v.LastPTS {
			t.Errorf("EndPTS = %d, want after LastPTS %d", v.EndPTS, v.LastPTS)
		}
		keys := ffprobeFramePTS(t, path, true)
		if got := slices.Sorted(slices.Values(v.Keyframes)); !slices.Equal(got, keys) {
			t.Errorf("Keyframes = %v, want ffprobe's keyframes %v", got, keys)
		}
		if v.KeyCount != len(v.Keyframes) {
			t.Errorf("KeyCount = %d, want len(Keyframes) = %d", v.KeyCount, len(v.Keyframes))
		}
	} else if want := parseSeconds(t, format.Duration); math.Abs(p.Duration-want) > 0.001 {
		t.Errorf("Duration = %.4f s, want ffprobe's %.4f s", p.Duration, want)
	}

	if a := p.Audio; a != nil {
		fa := firstOfType(streams, "audio")
		if fa == nil || fa.Index != a.Index {
			t.Fatalf("Audio.Index = %d, want ffprobe's first audio stream %+v", a.Index, fa)
		}
		if tb := parseTimeBase(t, fa.TimeBase); a.TimeBase != tb {
			t.Errorf("Audio.TimeBase = %v, want ffprobe's %v", a.TimeBase, tb)
		}
		if n, _ := strconv.Atoi(fa.NbReadPacket); a.Packets != n {
			t.Errorf("Audio.Packets = %d, want ffprobe's %d", a.Packets, n)
		}
		// StartSeconds leaves out encoder priming, as ffprobe's start_time does.
		if got, want := a.StartSeconds, parseSeconds(t, fa.StartTime); math.Abs(got-want) > 1e-4 {
			t.Errorf("StartSeconds = %v, want ffprobe's start_time %v", got, want)
		}
	}
}

func wantVideo(t *testing.T, p *media.Probe, w, h int, rate media.Rational) {
	t.Helper()
	v := p.Video
	if v == nil {
		t.Fatalf("Video = nil, want a %dx%d stream", w, h)
	}
	if v.Width != w || v.Height != h {
		t.Errorf("size = %dx%d, want %dx%d", v.Width, v.Height, w, h)
	}
	if v.FrameRate != rate {
		t.Errorf("FrameRate = %v, want exactly %v", v.FrameRate, rate)
	}
	if v.VFR {
		t.Errorf("VFR = true, want false")
	}
	if v.Codec != "h264" {
		t.Errorf("Codec = %q, want h264", v.Codec)
	}
}

// wantAudioOffset checks where the audio starts relative to the video origin,
// against the clip's construction (within the AAC priming) and ffprobe.
func wantAudioOffset(t *testing.T, p *media.Probe, path string, want float64) {
	t.Helper()
	if p.Audio == nil || p.Video == nil {
		t.Fatalf("Audio, Video = %v, %v; want both", p.Audio, p.Video)
	}
	v := p.Video
	origin := float64(v.OriginPTS) * v.TimeBase.Float()
	got := p.Audio.StartSeconds - origin
	if math.Abs(got-want) > 0.03 {
		t.Errorf("audio start - video origin = %.4f s, want %.1f s ± 0.03 s", got, want)
	}
	streams, _ := ffprobeStreams(t, path)
	fv, fa := firstOfType(streams, "video"), firstOfType(streams, "audio")
	ffOffset := parseSeconds(t, fa.StartTime) - parseSeconds(t, fv.StartTime)
	// ffprobe's start time sometimes leaves out the AAC priming (1024
	// samples) that the first packet carries, sometimes not.
	priming := 1024 / float64(p.Audio.SampleRate)
	if math.Abs(got-ffOffset) > priming+0.001 {
		t.Errorf("audio start - video origin = %.4f s, want ffprobe's %.4f s ± the AAC priming %.4f s", got, ffOffset, priming)
	}
}

// wantAutorotated checks that turning the coded picture by rotation degrees
// clockwise, as the encoder does, gives the picture ffmpeg's autorotate shows.
func wantAutorotated(t *testing.T, path string, rotation int) {
	t.Helper()
	turn := map[int]string{90: "transpose=clock", 180: "hflip,vflip", 270: "transpose=cclock"}[rotation]
	auto := firstFrameGray(t, path)
	ours := firstFrameGray(t, path, "-noautorotate", "-i", path, "-vf", turn)
	if len(auto) != 360*640 {
		t.Fatalf("ffmpeg's autorotated frame has %d pixels, want 360×640", len(auto))
	}
	if !bytes.Equal(auto, ours) {
		t.Errorf("picture turned by Rotation %d (%s) differs from ffmpeg's autorotated one", rotation, turn)
	}
}

// firstFrameGray decodes the first video frame as 8-bit gray with the ffmpeg
// CLI; args replace the input (default: path with autorotate).
func firstFrameGray(t *testing.T, path string, args ...string) []byte {
	t.Helper()
	if len(args) == 0 {
		args = []string{"-i", path}
	}
	full := append([]string{"-hide_banner", "-nostdin", "-v", "error"}, args...)
	full = append(full, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", full...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func TestProbeFileVFRAndCFR(t *testing.T) {
	skipShort(t)
	tests := []struct {
		spec    testmedia.Spec
		wantVFR bool
	}{
		{testmedia.CFR(3, 320, 240, 30, true), false},
		{testmedia.NonSquarePixels(3), false},
		{testmedia.CFRTS(3, 320, 240, 30, true), false},
		{testmedia.VFR(5), true},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			t.Parallel()
			p := probe(t, testmedia.Generate(t, tt.spec))
			if p.Video == nil {
				t.Fatalf("Video = nil")
			}
			if got := p.Video.VFR; got != tt.wantVFR {
				t.Errorf("VFR = %v, want %v", got, tt.wantVFR)
			}
		})
	}
}

func TestProbeFileInvalid(t *testing.T) {
	skipShort(t)
	tests := []struct {
		name string
		path func(t *testing.T) string
		want string // a phrase the message must hold
	}{
		{"zero byte", func(t *testing.T) string { return testmedia.ZeroByte(t) }, "empty"},
		{"text file", func(t *testing.T) string { return testmedia.TextFile(t) }, "not a media file"},
		{"truncated mp4", func(t *testing.T) string {
			return testmedia.Truncated(t, testmedia.Generate(t, testmedia.CFR(3, 320, 240, 30, true)))
		}, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProbeFile(context.Background(), tt.path(t))
			if !errors.Is(err, ErrInvalidMedia) {
				t.Fatalf("ProbeFile = %+v, %v; want an error wrapping ErrInvalidMedia", p, err)
			}
			wantSentence(t, err, tt.want)
		})
	}
}

// wantSentence checks that an error reads as a sentence for a user.
func wantSentence(t *testing.T, err error, phrase string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, phrase) {
		t.Errorf("error = %q, want it to say %q", msg, phrase)
	}
	if strings.ContainsAny(msg, "\n\t") || strings.Contains(msg, "%!") || strings.Contains(msg, "0x") {
		t.Errorf("error = %q, want one readable line", msg)
	}
}

func TestProbeFileMissing(t *testing.T) {
	_, err := ProbeFile(context.Background(), filepath.Join(t.TempDir(), "missing.mp4"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ProbeFile(missing) error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrInvalidMedia) {
		t.Errorf("ProbeFile(missing) error = %v, want it not to blame the media", err)
	}
}

func TestProbeFileCanceled(t *testing.T) {
	skipShort(t)
	path := testmedia.Generate(t, testmedia.Tiny())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ProbeFile(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("ProbeFile(canceled) error = %v, want context.Canceled", err)
	}
}

// TestProbeFileCorruptMiddle checks that damage in the middle of an MPEG-TS
// file is survived: the demuxer resyncs and the probe still sees most frames.
func TestProbeFileCorruptMiddle(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, testmedia.CFRTS(4, 320, 240, 30, true))
	clean := probe(t, src)
	p := probe(t, testmedia.CorruptMiddle(t, src))
	if p.Video == nil || p.Audio == nil {
		t.Fatalf("Video, Audio = %v, %v; want both", p.Video, p.Audio)
	}
	if got, want := p.Video.Frames, clean.Video.Frames; got < want*3/4 || got > want {
		t.Errorf("Frames = %d, want most of the clean %d", got, want)
	}
	if got, want := p.Video.LastPTS, clean.Video.LastPTS; got != want {
		t.Errorf("LastPTS = %d, want the clean %d", got, want)
	}
}

func TestLimitsCheck(t *testing.T) {
	video := func(w, h int, seconds float64) *media.Probe {
		return &media.Probe{Duration: seconds, Video: &media.VideoStream{Width: w, Height: h}}
	}
	tests := []struct {
		name   string
		limits media.Limits
		probe  *media.Probe
		want   string // "" for no error, else a phrase of the message
	}{
		{"1080p", media.DefaultLimits, video(1920, 1080, 600), ""},
		{"at every limit", media.DefaultLimits, video(8192, 8192, 12*3600), ""},
		{"too wide", media.DefaultLimits, video(8193, 1080, 60), "8193×1080"},
		{"too tall", media.DefaultLimits, video(1080, 8193, 60), "1080×8193"},
		{"too long", media.DefaultLimits, video(1920, 1080, 12*3600+1), "12:00:01"},
		{"audio only too long", media.DefaultLimits, &media.Probe{Duration: 13 * 3600, Audio: &media.AudioStream{}}, "13:00:00"},
		{"audio only", media.DefaultLimits, &media.Probe{Duration: 3600, Audio: &media.AudioStream{}}, ""},
		{"custom width", media.Limits{MaxWidth: 1920, MaxHeight: 1920, MaxDuration: 60}, video(3840, 2160, 10), "1920×1920 limit"},
		{"custom duration", media.Limits{MaxWidth: 1920, MaxHeight: 1920, MaxDuration: 90}, video(640, 360, 91.5), "0:01:30 limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLimits(tt.limits, tt.probe)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check error = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMedia) {
				t.Fatalf("Check error = %v, want one wrapping ErrInvalidMedia", err)
			}
			wantSentence(t, err, tt.want)
		})
	}
}

func TestDisplaySize(t *testing.T) {
	tests := []struct {
		name         string
		v            media.VideoStream
		wantW, wantH int
	}{
		{"square", media.VideoStream{Width: 1920, Height: 1080, SAR: media.Rational{Num: 1, Den: 1}}, 1920, 1080},
		{"unknown SAR", media.VideoStream{Width: 1920, Height: 1080}, 1920, 1080},
		{"anamorphic NTSC", media.VideoStream{Width: 720, Height: 480, SAR: media.Rational{Num: 32, Den: 27}}, 853, 480},
		{"anamorphic PAL", media.VideoStream{Width: 720, Height: 576, SAR: media.Rational{Num: 64, Den: 45}}, 1024, 576},
		{"rotated 90", media.VideoStream{Width: 640, Height: 360, SAR: media.Rational{Num: 1, Den: 1}, Rotation: 90}, 360, 640},
		{"rotated 270", media.VideoStream{Width: 640, Height: 360, SAR: media.Rational{Num: 1, Den: 1}, Rotation: 270}, 360, 640},
		{"rotated 180", media.VideoStream{Width: 640, Height: 360, SAR: media.Rational{Num: 1, Den: 1}, Rotation: 180}, 640, 360},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, h := tt.v.DisplaySize(); w != tt.wantW || h != tt.wantH {
				t.Errorf("DisplaySize = %dx%d, want %dx%d", w, h, tt.wantW, tt.wantH)
			}
		})
	}
}
