package testmedia

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sunomi/sunomi/internal/testkit"
)

// probe is the part of ffprobe's -show_format -show_streams output the checks read.
type probe struct {
	Streams []struct {
		CodecType         string `json:"codec_type"`
		CodecName         string `json:"codec_name"`
		Profile           string `json:"profile"`
		Width             int    `json:"width"`
		Height            int    `json:"height"`
		PixFmt            string `json:"pix_fmt"`
		FieldOrder        string `json:"field_order"`
		SampleAspectRatio string `json:"sample_aspect_ratio"`
		DisplayAspect     string `json:"display_aspect_ratio"`
		RFrameRate        string `json:"r_frame_rate"`
		SampleRate        string `json:"sample_rate"`
		Channels          int    `json:"channels"`
		StartTime         string `json:"start_time"`
		SideDataList      []struct {
			SideDataType string  `json:"side_data_type"`
			Rotation     float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

func probeFile(t *testing.T, path string) probe {
	t.Helper()
	var p probe
	if err := json.Unmarshal(FFprobeJSON(t, "-show_format", "-show_streams", path), &p); err != nil {
		t.Fatalf("decode ffprobe output: %v", err)
	}
	return p
}

// streamTypes lists codec_type:codec_name per stream, e.g. "video:h264 audio:aac".
func (p probe) streamTypes() string {
	var s []string
	for _, st := range p.Streams {
		s = append(s, st.CodecType+":"+st.CodecName)
	}
	return strings.Join(s, " ")
}

// packet is one packet of ffprobe -show_packets.
type packet struct {
	PTSTime string `json:"pts_time"`
	Flags   string `json:"flags"`
}

func videoPackets(t *testing.T, path string) []packet {
	t.Helper()
	var out struct {
		Packets []packet `json:"packets"`
	}
	raw := FFprobeJSON(t, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", path)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode ffprobe packets: %v", err)
	}
	return out.Packets
}

func seconds(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parse seconds %q: %v", s, err)
	}
	return f
}

// sortedPTS returns the packets' presentation times in display order.
func sortedPTS(t *testing.T, pkts []packet) []float64 {
	t.Helper()
	var pts []float64
	for _, p := range pkts {
		pts = append(pts, seconds(t, p.PTSTime))
	}
	slices.Sort(pts)
	return pts
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }

func TestSpecs(t *testing.T) {
	const d = 3 // seconds: long enough to have B-frames and a few AAC packets, fast to encode
	tests := []struct {
		spec  Spec
		check func(t *testing.T, path string, p probe)
	}{
		{CFR(d, 320, 240, 30, true), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			v, a := p.Streams[0], p.Streams[1]
			if v.Width != 320 || v.Height != 240 || v.PixFmt != "yuv420p" || v.RFrameRate != "30/1" {
				t.Errorf("video = %dx%d %s %s, want 320x240 yuv420p 30/1", v.Width, v.Height, v.PixFmt, v.RFrameRate)
			}
			if a.SampleRate != "48000" || a.Channels != 2 {
				t.Errorf("audio = %s Hz %d ch, want 48000 Hz 2 ch", a.SampleRate, a.Channels)
			}
			wantDuration(t, p, d)
			if n := len(videoPackets(t, path)); n != d*30 {
				t.Errorf("video frames = %d, want %d", n, d*30)
			}
		}},
		{CFR(d, 320, 240, 25, false), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264")
			wantDuration(t, p, d)
		}},
		{CFRTS(d, 320, 240, 30, true), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			if p.Format.FormatName != "mpegts" {
				t.Errorf("format = %q, want mpegts", p.Format.FormatName)
			}
		}},
		{LongGOP(21), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			var keys []float64
			for _, pk := range videoPackets(t, path) {
				if strings.Contains(pk.Flags, "K") {
					keys = append(keys, seconds(t, pk.PTSTime))
				}
			}
			if len(keys) != 2 || !near(keys[0], 0, 0.001) || !near(keys[1], 20, 0.001) {
				t.Errorf("keyframes at %v s, want [0 20]", keys)
			}
		}},
		{VFR(5), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			pts := sortedPTS(t, videoPackets(t, path))
			distinct := map[int]bool{}
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := 1; i < len(pts); i++ {
				iv := pts[i] - pts[i-1]
				lo, hi = min(lo, iv), max(hi, iv)
				distinct[int(math.Round(iv*1e4))] = true // 0.1 ms buckets
			}
			if lo > 0.030 || hi < 0.060 || len(distinct) < 10 {
				t.Errorf("frame intervals span %.4f–%.4f s in %d distinct values, want <0.030–>0.060 s in ≥10",
					lo, hi, len(distinct))
			}
		}},
		{RotatedPortrait(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			v := p.Streams[0]
			if v.Width != 640 || v.Height != 360 {
				t.Errorf("coded size = %dx%d, want 640x360", v.Width, v.Height)
			}
			var rotations []float64
			for _, sd := range v.SideDataList {
				if sd.SideDataType == "Display Matrix" {
					rotations = append(rotations, sd.Rotation)
				}
			}
			if len(rotations) != 1 || rotations[0] != -90 {
				t.Errorf("display matrix rotations = %v, want [-90]", rotations)
			}
		}},
		{TenBit422(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:pcm_s16le")
			if v := p.Streams[0]; v.PixFmt != "yuv422p10le" || v.Profile != "High 4:2:2" {
				t.Errorf("video = %s %q, want yuv422p10le \"High 4:2:2\"", v.PixFmt, v.Profile)
			}
			if !strings.Contains(p.Format.FormatName, "mov") {
				t.Errorf("format = %q, want mov", p.Format.FormatName)
			}
		}},
		{Interlaced(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:mp2")
			v := p.Streams[0]
			if v.Width != 720 || v.Height != 576 || v.FieldOrder != "tt" || v.RFrameRate != "25/1" {
				t.Errorf("video = %dx%d field_order %q %s, want 720x576 field_order \"tt\" 25/1",
					v.Width, v.Height, v.FieldOrder, v.RFrameRate)
			}
		}},
		{NonSquarePixels(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			v := p.Streams[0]
			if v.Width != 720 || v.Height != 480 || v.SampleAspectRatio != "32:27" || v.DisplayAspect != "16:9" {
				t.Errorf("video = %dx%d SAR %s DAR %s, want 720x480 SAR 32:27 DAR 16:9",
					v.Width, v.Height, v.SampleAspectRatio, v.DisplayAspect)
			}
			if v.RFrameRate != "30000/1001" {
				t.Errorf("frame rate = %s, want 30000/1001", v.RFrameRate)
			}
		}},
		{OddDims(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			if v := p.Streams[0]; v.Width != 853 || v.Height != 481 || v.PixFmt != "yuv444p" {
				t.Errorf("video = %dx%d %s, want 853x481 yuv444p", v.Width, v.Height, v.PixFmt)
			}
		}},
		{AudioOnly(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "audio:aac")
			wantDuration(t, p, d)
		}},
		{NoAudio(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264")
			wantDuration(t, p, d)
		}},
		{AudioLeads(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			wantStarts(t, p, 0.5, 0)
		}},
		{AudioLags(d), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			wantStarts(t, p, 0, 0.5)
		}},
		{Tiny(), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			if v := p.Streams[0]; v.Width != 160 || v.Height != 120 {
				t.Errorf("video = %dx%d, want 160x120", v.Width, v.Height)
			}
			wantDuration(t, p, 2)
		}},
		{HighFPS(2), func(t *testing.T, path string, p probe) {
			wantStreams(t, p, "video:h264 audio:aac")
			if v := p.Streams[0]; v.RFrameRate != "120/1" {
				t.Errorf("frame rate = %s, want 120/1", v.RFrameRate)
			}
			if n := len(videoPackets(t, path)); n != 240 {
				t.Errorf("video frames = %d, want 240", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name, func(t *testing.T) {
			t.Parallel()
			path := Generate(t, tt.spec)
			if !strings.HasSuffix(path, "."+tt.spec.Ext) {
				t.Errorf("path %q does not end in .%s", path, tt.spec.Ext)
			}
			tt.check(t, path, probeFile(t, path))
		})
	}
}

func wantStreams(t *testing.T, p probe, want string) {
	t.Helper()
	if got := p.streamTypes(); got != want {
		t.Fatalf("streams = %q, want %q", got, want)
	}
}

func wantDuration(t *testing.T, p probe, want float64) {
	t.Helper()
	if got := seconds(t, p.Format.Duration); !near(got, want, 0.1) {
		t.Errorf("duration = %.3f s, want %.1f ± 0.1 s", got, want)
	}
}

// wantStarts checks the first video and audio stream start times within 30 ms: enough slack for
// the AAC encoder's priming.
func wantStarts(t *testing.T, p probe, video, audio float64) {
	t.Helper()
	v, a := seconds(t, p.Streams[0].StartTime), seconds(t, p.Streams[1].StartTime)
	if !near(v, video, 0.03) || !near(a, audio, 0.03) {
		t.Errorf("start times video %.3f s audio %.3f s, want %.1f s and %.1f s", v, a, video, audio)
	}
}

func TestGenerateCaches(t *testing.T) {
	s := Tiny()
	first := Generate(t, s)
	var wg sync.WaitGroup
	paths := make([]string, 4)
	for i := range paths {
		wg.Go(func() { paths[i] = Generate(t, s) })
	}
	wg.Wait()
	for _, p := range paths {
		if p != first {
			t.Errorf("Generate = %q, want the cached %q", p, first)
		}
	}

	// A different spec with the same name is a different clip.
	other := s
	other.Args = cfrArgs(2, 160, 120, 25, true)
	if p := Generate(t, other); p == first {
		t.Errorf("specs with different args share %q", p)
	}
}

func TestGenerateFailureShowsFFmpegError(t *testing.T) {
	msg := testkit.Failure(t, func(tb testing.TB) {
		Generate(tb, Spec{Name: "broken", Ext: "mp4", Args: []string{"-f", "lavfi", "-i", "nosuchsource"}})
	})
	if !strings.Contains(msg, "broken.mp4") || !strings.Contains(msg, "nosuchsource") {
		t.Errorf("failure message = %q, want it to name the spec and carry ffmpeg's complaint", msg)
	}

	msg = testkit.Failure(t, func(tb testing.TB) { Generate(tb, Spec{Name: "a/b", Ext: "mp4"}) })
	if !strings.Contains(msg, "invalid spec") {
		t.Errorf("failure message = %q, want it to reject the spec", msg)
	}
}

func TestDamage(t *testing.T) {
	t.Run("truncated", func(t *testing.T) {
		src := Generate(t, CFR(2, 320, 240, 30, true))
		got := Truncated(t, src)
		whole, cut := readFile(t, src), readFile(t, got)
		if len(cut) != len(whole)*40/100 || !bytes.HasPrefix(whole, cut) {
			t.Errorf("truncated copy is %d bytes, want the first %d of %d", len(cut), len(whole)*40/100, len(whole))
		}
		if out, err := exec.Command("ffprobe", "-v", "error", got).CombinedOutput(); err == nil {
			t.Errorf("ffprobe accepted the truncated MP4, want an error: %s", out)
		}
	})
	t.Run("zero-byte", func(t *testing.T) {
		fi, err := os.Stat(ZeroByte(t))
		if err != nil || fi.Size() != 0 {
			t.Errorf("ZeroByte: %v, size %d, want an empty file", err, fi.Size())
		}
	})
	t.Run("text", func(t *testing.T) {
		got := TextFile(t)
		if b := readFile(t, got); !bytes.HasPrefix(b, []byte("This is not a video.")) || !strings.HasSuffix(got, ".mp4") {
			t.Errorf("TextFile %q starts %q, want English text in a .mp4", got, b[:min(len(b), 20)])
		}
	})
	t.Run("corrupt-middle", func(t *testing.T) {
		src := Generate(t, CFRTS(4, 320, 240, 30, true))
		got := CorruptMiddle(t, src)
		if again := CorruptMiddle(t, src); !bytes.Equal(readFile(t, got), readFile(t, again)) {
			t.Errorf("CorruptMiddle is not deterministic")
		}
		whole, bad := readFile(t, src), readFile(t, got)
		var changed int
		for i := range whole {
			if whole[i] != bad[i] {
				changed++
			}
		}
		if len(bad) != len(whole) || changed < corruptSize/2 {
			t.Errorf("corrupt copy: %d of %d bytes changed (size %d), want about %d", changed, len(whole), len(bad), corruptSize)
		}
		// The damage shows when decoding, yet ffmpeg gets through it: it exits cleanly and the
		// packets after the damage are still there.
		var stderr bytes.Buffer
		cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", got, "-f", "null", "-")
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() == 0 {
			t.Errorf("decoding the corrupt copy: %v, stderr %q; want success with decoding errors", err, stderr.String())
		}
		wantPTS, gotPTS := sortedPTS(t, videoPackets(t, src)), sortedPTS(t, videoPackets(t, got))
		if len(gotPTS) < len(wantPTS)*3/4 || gotPTS[len(gotPTS)-1] != wantPTS[len(wantPTS)-1] {
			t.Errorf("corrupt copy has %d video packets ending at %.3f s, want most of %d, ending at %.3f s",
				len(gotPTS), gotPTS[len(gotPTS)-1], len(wantPTS), wantPTS[len(wantPTS)-1])
		}
	})
}
