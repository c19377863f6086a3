package testmedia

import (
	"fmt"
	"strconv"
)

// The ready-made specs below share these choices unless their comment says otherwise:
//   - video: testsrc2 (moving, colourful, never a scene cut), libx264 preset ultrafast with two
//     B-frames (ultrafast alone disables them, but real uploads have them and they cause the
//     negative-DTS pitfalls the pipeline must handle), x264's default GOP (keyint 250), yuv420p;
//   - audio: a 440 Hz sine with a 1760 Hz beep at the start of every second (useful to eyeball
//     A/V sync), AAC-LC 48 kHz stereo 128 kb/s;
//   - video and audio have the same length, so the clip lasts the requested seconds.

// encodeX264 is the video encoder shared by the specs.
func encodeX264(pixFmt string) []string {
	return []string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", pixFmt}
}

func encodeAAC() []string {
	return []string{"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"}
}

// testsrc is a testsrc2 lavfi input; filters, when set, are appended to the source's chain.
func testsrc(seconds, w, h int, rate, filters string) []string {
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%s:duration=%d", w, h, rate, seconds)
	if filters != "" {
		src += "," + filters
	}
	return []string{"-f", "lavfi", "-i", src}
}

func sine(seconds int) []string {
	return []string{"-f", "lavfi", "-i",
		fmt.Sprintf("sine=frequency=440:beep_factor=4:sample_rate=48000:duration=%d", seconds)}
}

// join concatenates argument groups into a fresh slice, so specs never share backing arrays.
func join(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func cfrArgs(seconds, w, h, fps int, audio bool) []string {
	if !audio {
		return join(testsrc(seconds, w, h, strconv.Itoa(fps), ""), encodeX264("yuv420p"))
	}
	return join(testsrc(seconds, w, h, strconv.Itoa(fps), ""), sine(seconds),
		encodeX264("yuv420p"), encodeAAC())
}

func cfrName(prefix string, seconds, w, h, fps int, audio bool) string {
	name := fmt.Sprintf("%s-%ds-%dx%d-%dfps", prefix, seconds, w, h, fps)
	if !audio {
		name += "-noaudio"
	}
	return name
}

// CFR is a constant-frame-rate MP4: H.264 yuv420p at w×h and fps, with AAC audio when audio is
// set — the common upload.
func CFR(seconds, w, h, fps int, audio bool) Spec {
	return Spec{Name: cfrName("cfr", seconds, w, h, fps, audio), Ext: "mp4",
		Args: cfrArgs(seconds, w, h, fps, audio)}
}

// CFRTS is CFR in MPEG-TS (AAC in ADTS), whose timestamps start near 1.4 s as the ffmpeg muxer
// writes them; CorruptMiddle expects a source like this, since the TS demuxer resyncs on the next
// 0x47 sync byte.
func CFRTS(seconds, w, h, fps int, audio bool) Spec {
	return Spec{Name: cfrName("cfrts", seconds, w, h, fps, audio), Ext: "ts",
		Args: cfrArgs(seconds, w, h, fps, audio)}
}

// LongGOP is a 640×360 30 fps MP4 with audio and one keyframe every 20 s (frames 0, 600, 1200, …),
// as some cameras and screen recorders write: an accurate cut can need up to 20 s of extra decode.
func LongGOP(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("longgop-%ds", seconds), Ext: "mp4", Args: join(
		testsrc(seconds, 640, 360, "30", ""), sine(seconds),
		encodeX264("yuv420p"), []string{"-g", "600", "-keyint_min", "600", "-sc_threshold", "0"},
		encodeAAC())}
}

// VFR is a phone-like variable-frame-rate MP4 (320×240, audio): nominally 30 fps, every
// timestamp jittered by up to ±4 ms, and between 40 % and 60 % of the clip every other frame
// dropped, as a phone does in low light, so intervals range from about 27 ms to 73 ms. The video
// time base is 1/90000, so the jitter survives muxing.
func VFR(seconds int) Spec {
	lo, hi := 0.4*float64(seconds), 0.6*float64(seconds)
	filters := fmt.Sprintf(`select='not(between(t\,%g\,%g)*mod(n\,2))',settb=1/90000,`+
		`setpts='(T+0.004*sin(N*1.7))/TB'`, lo, hi)
	return Spec{Name: fmt.Sprintf("vfr-%ds", seconds), Ext: "mp4", Args: join(
		testsrc(seconds, 320, 240, "30", filters), sine(seconds),
		encodeX264("yuv420p"), []string{"-fps_mode:v", "vfr", "-enc_time_base:v", "1/90000"},
		encodeAAC())}
}

// RotatedPortrait is a phone held upright: 640×360 coded frames in an MP4 (audio) whose display
// matrix is the one iPhones write (ffprobe reports "rotation": -90, i.e. turn the picture 90°
// clockwise), so the picture displays as 360×640. FFmpeg 5.1 has no -display_rotation and only turns
// a rotate tag into a display matrix when stream copying, hence the remux pass; rotate=270 is the
// tag value that yields that matrix.
func RotatedPortrait(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("rotated-portrait-%ds", seconds), Ext: "mp4",
		Args:  cfrArgs(seconds, 640, 360, 30, true),
		Remux: []string{"-c", "copy", "-metadata:s:v:0", "rotate=270"}}
}

// TenBit422 is a 320×240 30 fps QuickTime file as a camera or editor exports it: H.264 High 4:2:2
// in yuv422p10le, with 16-bit PCM audio.
func TenBit422(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("tenbit422-%ds", seconds), Ext: "mov", Args: join(
		testsrc(seconds, 320, 240, "30", ""), sine(seconds),
		encodeX264("yuv422p10le"), []string{"-profile:v", "high422"},
		[]string{"-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2"})}
}

// Interlaced is PAL broadcast video in MPEG-TS: 720×576 at 25 interlaced frames per second, top
// field first (each frame weaves two fields of a 50 fps source, so motion combs when shown
// without deinterlacing), interlaced H.264 (x264 codes it as MBAFF), MP2 audio.
func Interlaced(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("interlaced-%ds", seconds), Ext: "ts", Args: join(
		testsrc(seconds, 720, 576, "50", "interlace=scan=tff"), sine(seconds),
		encodeX264("yuv420p"), []string{"-flags", "+ildct+ilme"},
		[]string{"-c:a", "mp2", "-b:a", "192k", "-ar", "48000", "-ac", "2"})}
}

// NonSquarePixels is anamorphic NTSC widescreen: 720×480 coded at 29.97 fps with a sample aspect
// ratio of 32:27, so it displays as 16:9 (853×480); MP4 with audio.
func NonSquarePixels(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("nonsquare-%ds", seconds), Ext: "mp4", Args: join(
		testsrc(seconds, 720, 480, "30000/1001", "setsar=32/27"), sine(seconds),
		encodeX264("yuv420p"), encodeAAC())}
}

// OddDims is an 853×481 MP4 with audio. H.264 cannot code odd dimensions in 4:2:0 (chroma is
// subsampled and cropping works in pairs of pixels), so it is yuv444p (High 4:4:4 Predictive);
// testsrc2 only draws even sizes, so the picture is cropped from 854×482 (after converting to
// 4:4:4, since crop rounds odd sizes down in subsampled formats).
func OddDims(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("odddims-%ds", seconds), Ext: "mp4", Args: join(
		testsrc(seconds, 854, 482, "30", "format=yuv444p,crop=853:481:0:0"), sine(seconds),
		encodeX264("yuv444p"), encodeAAC())}
}

// AudioOnly is an M4A holding only AAC audio.
func AudioOnly(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("audioonly-%ds", seconds), Ext: "m4a",
		Args: join(sine(seconds), encodeAAC())}
}

// NoAudio is a 320×240 30 fps MP4 with no audio stream.
func NoAudio(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("noaudio-%ds", seconds), Ext: "mp4",
		Args: cfrArgs(seconds, 320, 240, 30, false)}
}

// AudioLeads is a 320×240 30 fps MP4 whose audio starts at 0 and video at 0.5 s (an empty edit
// in the video track). Both streams last the requested seconds, so the file lasts 0.5 s longer.
// Passthrough frame timing keeps ffmpeg from filling the gap by repeating the first frame.
func AudioLeads(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("audioleads-%ds", seconds), Ext: "mp4", Args: join(
		[]string{"-itsoffset", "0.5"}, testsrc(seconds, 320, 240, "30", ""), sine(seconds),
		encodeX264("yuv420p"), []string{"-fps_mode:v", "passthrough"}, encodeAAC())}
}

// AudioLags is a 320×240 30 fps MP4 whose video starts at 0 and audio about 0.5 s later
// (ffprobe: 0.478 s; the AAC encoder's 1024 priming samples come out of the 0.5 s offset).
// Both streams last the requested seconds, so the file lasts 0.5 s longer.
func AudioLags(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("audiolags-%ds", seconds), Ext: "mp4", Args: join(
		testsrc(seconds, 320, 240, "30", ""), []string{"-itsoffset", "0.5"}, sine(seconds),
		encodeX264("yuv420p"), encodeAAC())}
}

// Tiny is a 2 s 160×120 30 fps MP4 with audio, for tests that need any valid input quickly.
func Tiny() Spec {
	return Spec{Name: "tiny", Ext: "mp4", Args: cfrArgs(2, 160, 120, 30, true)}
}

// HighFPS is a 320×240 MP4 at 120 fps with audio, above the ladder's 60 fps cap.
func HighFPS(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("highfps-%ds", seconds), Ext: "mp4",
		Args: cfrArgs(seconds, 320, 240, 120, true)}
}

// ProRes is a 320×240 30 fps QuickTime file as editors export it for delivery: ProRes 422 Proxy
// (tag "apco", which NUT's tables do not hold) with 24-bit PCM audio.
func ProRes(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("prores-%ds", seconds), Ext: "mov", Args: join(
		testsrc(seconds, 320, 240, "30", ""), sine(seconds),
		[]string{"-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s24le", "-ar", "48000", "-ac", "2"})}
}

// WindowsMedia is a 320×240 30 fps ASF file as old Windows tools wrote them: WMV 8 (wmv2) video
// and WMA 2 audio, whose decoder needs the block alignment and bit rate from the container.
func WindowsMedia(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("windowsmedia-%ds", seconds), Ext: "asf", Args: join(
		testsrc(seconds, 320, 240, "30", ""), sine(seconds),
		[]string{"-c:v", "wmv2", "-b:v", "1M", "-c:a", "wmav2", "-b:a", "128k", "-ar", "44100", "-ac", "2"})}
}

// Animation is a 320×240 30 fps QuickTime file as motion-graphics tools export it: QuickTime
// Animation (qtrle, RGB, whose decoder needs the bits per coded sample) with ALAC audio (a codec
// NUT has no tag for).
func Animation(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("animation-%ds", seconds), Ext: "mov", Args: join(
		testsrc(seconds, 320, 240, "30", ""), sine(seconds),
		[]string{"-c:v", "qtrle", "-c:a", "alac", "-ar", "48000", "-ac", "2"})}
}

// UtVideo is a 320×240 30 fps AVI in Ut Video (lossless, tag "ULY0": the decoder reads the pixel
// layout from the tag) with 16-bit PCM audio, as capture and editing tools write intermediates.
func UtVideo(seconds int) Spec {
	return Spec{Name: fmt.Sprintf("utvideo-%ds", seconds), Ext: "avi", Args: join(
		testsrc(seconds, 320, 240, "30", ""), sine(seconds),
		[]string{"-c:v", "utvideo", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2"})}
}
