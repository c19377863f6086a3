package pipeline_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/segmenter"
	"github.com/sunomi/sunomi/storage/layout"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("transcodes generated clips and checks them with ffprobe; skipped with -short")
	}
}

var discardLog = slog.New(slog.DiscardHandler)

// rungWant is a rung the ladder policy must produce from a source; an empty name accepts any.
type rungWant struct {
	name string
	w, h int
}

// ladderCase is one source transcoded in-process, then read back with ffprobe.
type ladderCase struct {
	name             string
	spec             testmedia.Spec
	segment, chunk   time.Duration
	fps              float64 // the output frame rate the source must get; 0 for variable frame rate
	cfr              bool    // constant frame rate: frame counts must match the source's
	audio            bool    // the source has an audio stream
	rungs            []rungWant
	check            func(t *testing.T, l *ladder) // case-specific checks, after the common ones
	wantPosterFadeIn bool
	segments         media.SegmentFormat // "": the default (fMP4)
	// firstSegment and firstChunk, when set, are the options' FirstSegment
	// and FirstChunk: segment 0 shorter than the others.
	firstSegment, firstChunk time.Duration
}

// fadeIn is a 30 fps clip with audio that fades in from black over its first two seconds (60
// frames), so that a poster taken from the first frame is black.
func fadeIn(seconds, w, h int) testmedia.Spec {
	return testmedia.Spec{Name: fmt.Sprintf("fadein-%ds-%dx%d-30fps", seconds, w, h), Ext: "mp4", Args: []string{
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30:duration=%d,fade=in:0:60", w, h, seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:beep_factor=4:sample_rate=48000:duration=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
	}}
}

// ladderCases keep clips short and small, with 2 s segments and 4 s chunks so that every clip of
// 10 s or more has at least three chunks: the chunk-boundary checks need two inner boundaries.
func ladderCases() []ladderCase {
	const seg, chunk = 2 * time.Second, 4 * time.Second
	return []ladderCase{
		{
			name: "cfr-720p-fade-in", spec: fadeIn(12, 1280, 720), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, wantPosterFadeIn: true,
			// Never upscaled: a 720p source gets no 1080p rung.
			rungs: []rungWant{{"720p", 1280, 720}, {"480p", 854, 480}, {"360p", 640, 360}, {"240p", 426, 240}},
			check: func(t *testing.T, l *ladder) {
				for _, name := range []string{"2160p", "1440p", "1080p"} {
					if _, err := os.Stat(l.path(name)); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("stat %s: %v, want it not to exist for a 1280x720 source", name, err)
					}
				}
			},
		},
		{
			// MPEG-TS timestamps start near 1.4 s: the output timeline must start at the first frame.
			name: "cfr-mpegts", spec: testmedia.CFRTS(12, 640, 360, 30, true), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true,
			rungs: []rungWant{{"360p", 640, 360}, {"240p", 426, 240}},
		},
		{
			name: "long-gop", spec: testmedia.LongGOP(21), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true,
			rungs: []rungWant{{"360p", 640, 360}, {"240p", 426, 240}},
			check: func(t *testing.T, l *ladder) {
				// One keyframe every 20 s must not make a 20 s chunk: chunks follow the plan, not the GOPs.
				if got, want := len(l.report.Plan.Chunks), l.wantChunks(); got != want {
					t.Errorf("plan has %d chunks, want %d: one per %v of the %.3f s source", got, want, l.tc.chunk, l.src.duration)
				}
				for _, c := range l.report.Plan.Chunks {
					if c.End-c.Start > l.tc.chunk.Seconds()+1e-6 {
						t.Errorf("chunk %d spans %.3f–%.3f s, want at most %v", c.Index, c.Start, c.End, l.tc.chunk)
					}
				}
			},
		},
		{
			name: "vfr", spec: testmedia.VFR(12), segment: seg, chunk: chunk, audio: true,
			rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			name: "rotated-portrait", spec: testmedia.RotatedPortrait(12), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true,
			rungs: []rungWant{{"360p", 360, 640}, {"240p", 240, 426}},
			check: func(t *testing.T, l *ladder) {
				for _, r := range l.rungs {
					if r.stream.Height <= r.stream.Width {
						t.Errorf("%s is %dx%d, want portrait (height > width)", r.name, r.stream.Width, r.stream.Height)
					}
				}
			},
		},
		{
			name: "10-bit-4:2:2", spec: testmedia.TenBit422(12), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true,
			rungs: []rungWant{{"240p", 320, 240}},
			check: func(t *testing.T, l *ladder) {
				for _, r := range l.rungs {
					if r.stream.PixFmt != "yuv420p" || r.stream.Profile != "High" {
						t.Errorf("%s is %s %q, want yuv420p \"High\" (8-bit 4:2:0)", r.name, r.stream.PixFmt, r.stream.Profile)
					}
				}
			},
		},
		{
			name: "interlaced", spec: testmedia.Interlaced(10), segment: seg, chunk: chunk,
			fps: 25, cfr: true, audio: true,
			rungs: []rungWant{{"480p", 600, 480}, {"360p", 450, 360}, {"240p", 300, 240}},
			check: func(t *testing.T, l *ladder) {
				if v := l.report.Probe.Video; v == nil || !v.Interlaced {
					t.Errorf("report probe video = %+v, want interlaced: true", v)
				}
				for _, r := range l.rungs {
					if fo := r.stream.FieldOrder; fo != "progressive" && fo != "unknown" && fo != "" {
						t.Errorf("%s field_order = %q, want progressive", r.name, fo)
					}
				}
			},
		},
		{
			// 720x480 at 32:27 displays as 853.3x480.
			name: "non-square-pixels", spec: testmedia.NonSquarePixels(10), segment: seg, chunk: chunk,
			fps: 30000.0 / 1001, cfr: true, audio: true,
			rungs: []rungWant{{"480p", 854, 480}, {"360p", 640, 360}, {"240p", 426, 240}},
			check: func(t *testing.T, l *ladder) {
				const want = 720.0 * 32 / 27 / 480
				for _, r := range l.rungs {
					if got := float64(r.stream.Width) / float64(r.stream.Height); math.Abs(got/want-1) > 0.01 {
						t.Errorf("%s is %dx%d, aspect %.4f, want %.4f ± 1%%", r.name, r.stream.Width, r.stream.Height, got, want)
					}
					if r.stream.SampleAspectRatio != "1:1" {
						t.Errorf("%s sample_aspect_ratio = %q, want 1:1", r.name, r.stream.SampleAspectRatio)
					}
				}
			},
		},
		{
			name: "odd-dimensions", spec: testmedia.OddDims(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true,
			rungs: []rungWant{{"480p", 852, 480}, {"360p", 638, 360}, {"240p", 426, 240}},
			check: func(t *testing.T, l *ladder) {
				for _, r := range l.rungs {
					if r.stream.Width%2 != 0 || r.stream.Height%2 != 0 {
						t.Errorf("%s is %dx%d, want even dimensions", r.name, r.stream.Width, r.stream.Height)
					}
				}
			},
		},
		// Editors' and old tools' codecs, whose parameters a stream copy into the chunk files
		// (NUT) would lose without avx.NUTParams.
		{
			name: "prores", spec: testmedia.ProRes(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			name: "windows-media", spec: testmedia.WindowsMedia(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			name: "quicktime-animation-alac", spec: testmedia.Animation(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			name: "ut-video", spec: testmedia.UtVideo(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			name: "audio-only", spec: testmedia.AudioOnly(12), segment: seg, chunk: chunk, audio: true,
			check: func(t *testing.T, l *ladder) {
				entries, err := os.ReadDir(l.dir)
				if err != nil {
					t.Fatal(err)
				}
				var dirs []string
				for _, e := range entries {
					if e.IsDir() {
						dirs = append(dirs, e.Name())
					}
				}
				if !slices.Equal(dirs, []string{"audio"}) {
					t.Errorf("output directories = %v, want [audio]", dirs)
				}
				if len(l.report.Ladder) != 0 || l.report.Plan != nil {
					t.Errorf("report ladder %v, plan %v; want neither for audio-only input", l.report.Ladder, l.report.Plan)
				}
				// The output keeps the AAC encoder's priming frame in front (MPEG-TS has no edit list
				// to hide it); what follows must last as long as the source within one AAC frame, the
				// padding of the last one.
				pts := sortedPTS(l.audio.allAudio())
				got := pts[len(pts)-1] - pts[0] // + the last packet's frame − the priming frame
				if !near(got, l.src.audioDuration, aacFrame+1e-3) {
					t.Errorf("audio lasts %.4f s after the priming frame (%d packets from %.4f s), want the source's %.4f s ± one AAC frame (%.4f s)",
						got, len(pts), pts[0], l.src.audioDuration, aacFrame)
				}
			},
		},
		{
			name: "no-audio", spec: testmedia.NoAudio(12), segment: seg, chunk: chunk, fps: 30, cfr: true,
			rungs: []rungWant{{"240p", 320, 240}},
			check: func(t *testing.T, l *ladder) {
				if _, err := os.Stat(l.path("audio")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("stat audio: %v, want no audio directory", err)
				}
				if len(l.master.Renditions) != 0 {
					t.Errorf("master has renditions %+v, want none", l.master.Renditions)
				}
			},
		},
		{
			name: "audio-leads", spec: testmedia.AudioLeads(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			name: "audio-lags", spec: testmedia.AudioLags(10), segment: seg, chunk: chunk,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
		},
		{
			// 2 s in 1 s chunks: still two chunks. No rung fits, so one at the source's size.
			name: "tiny", spec: testmedia.Tiny(), segment: time.Second, chunk: time.Second,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"", 160, 120}},
		},
		{
			name: "high-fps", spec: testmedia.HighFPS(8), segment: seg, chunk: seg,
			fps: 60, cfr: true, audio: true, rungs: []rungWant{{"240p", 320, 240}},
			check: func(t *testing.T, l *ladder) {
				for _, r := range l.rungs {
					if got, want := countFrames(t, l.path(r.variant.URI)), l.src.frames/2; got != want {
						t.Errorf("%s has %d frames, want half the source's %d = %d", r.name, got, l.src.frames, want)
					}
					if r.stream.RFrameRate != "60/1" {
						t.Errorf("%s r_frame_rate = %s, want 60/1", r.name, r.stream.RFrameRate)
					}
				}
			},
		},
	}
}

// TestTranscodeLadders transcodes each kind of source the platform accepts into MPEG-TS
// segments and checks every invariant of the output with ffprobe.
func TestTranscodeLadders(t *testing.T) {
	skipShort(t)
	cases := ladderCases()
	for i := range cases {
		cases[i].segments = media.SegmentsTS
	}
	runLadderCases(t, cases)
}

// TestTranscodeLaddersFMP4 holds the CMAF ladders of the same sources to
// the same checks: ffprobe reads each segment behind its init segment.
func TestTranscodeLaddersFMP4(t *testing.T) {
	skipShort(t)
	cases := ladderCases()
	for i := range cases {
		cases[i].segments = media.SegmentsFMP4
	}
	runLadderCases(t, cases)
}

func runLadderCases(t *testing.T, cases []ladderCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := transcodeLadder(t, tc)
			t.Run("decodes without errors", l.checkDecodes)
			t.Run("segments join without corrupt packets", l.checkJoins)
			t.Run("master playlist", l.checkMaster)
			t.Run("report", l.checkReport)
			t.Run("fingerprint and speech track", l.checkExtras)
			if len(l.rungs) > 0 {
				t.Run("duration", l.checkDuration)
				if tc.cfr {
					t.Run("frame count", l.checkFrameCount)
				}
				t.Run("segments aligned", l.checkSegments)
				t.Run("segments start with a keyframe", l.checkKeyframes)
				t.Run("timestamps continuous", l.checkContinuity)
				t.Run("picture", l.checkPicture)
				t.Run("poster and storyboard", l.checkImages)
			}
			if len(l.rungs) > 0 && l.audio != nil {
				t.Run("audio and video start together", l.checkAVStart)
				t.Run("lip sync", l.checkLipSync)
			}
			if l.audio != nil {
				t.Run("audio timestamps continuous", l.checkAudioContinuity)
			}
			if tc.check != nil {
				t.Run(tc.name, func(t *testing.T) { tc.check(t, l) })
			}
		})
	}
}

// source is what ffprobe says about a test clip.
type source struct {
	path   string
	video  *ffStream
	pts    []float64 // video presentation times in display order
	start  float64   // first video frame
	frames int       // decoded video frames
	fps    float64   // r_frame_rate
	// duration is last pts + that frame's duration − first pts.
	duration                    float64
	medianInterval, maxInterval float64

	audio         *ffStream
	audioDuration float64
}

// rel returns the source's frame times relative to its first frame.
func (s *source) rel() []float64 {
	rel := make([]float64, len(s.pts))
	for i, p := range s.pts {
		rel[i] = p - s.start
	}
	return rel
}

func probeSource(t *testing.T, path string) *source {
	t.Helper()
	s := &source{path: path}
	streams := probeStreams(t, path)
	if v, ok := streamOf(streams, "video"); ok {
		s.video = &v
	}
	if a, ok := streamOf(streams, "audio"); ok {
		s.audio = &a
	}
	video, _ := probePackets(t, path)
	if s.audio != nil {
		s.audioDuration = audioStreamDuration(t, path)
	}
	if s.video == nil {
		return s
	}
	s.fps = rate(s.video.RFrameRate)
	s.frames = countFrames(t, path)
	s.pts = sortedPTS(video)
	s.start = s.pts[0]
	var intervals []float64
	for i := 1; i < len(s.pts); i++ {
		intervals = append(intervals, s.pts[i]-s.pts[i-1])
	}
	slices.Sort(intervals)
	s.medianInterval, s.maxInterval = intervals[len(intervals)/2], intervals[len(intervals)-1]
	last := 1 / s.fps
	for _, p := range video {
		if p.PTS == s.pts[len(s.pts)-1] && p.Duration > 0 {
			last = p.Duration
		}
	}
	s.duration = s.pts[len(s.pts)-1] + last - s.start
	return s
}

func audioStreamDuration(t *testing.T, path string) float64 {
	t.Helper()
	var out struct {
		Streams []struct {
			Duration string `json:"duration"`
		} `json:"streams"`
	}
	raw := testmedia.FFprobeJSON(t, "-select_streams", "a:0", "-show_entries", "stream=duration", path)
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Streams) == 0 {
		t.Fatalf("ffprobe audio duration of %s: %v", path, err)
	}
	return rate(out.Streams[0].Duration)
}

// ladder is a transcoded output as read back from disk.
type ladder struct {
	tc     ladderCase
	src    *source
	dir    string
	report *pipeline.Report
	master *hls.MasterPlaylist
	rungs  []*rendition // video variants, in master order
	audio  *rendition   // the audio rendition, or the audio-only variant
}

// rendition is one rung's (or the audio's) playlist and its segments as ffprobe reads them.
type rendition struct {
	name     string // the playlist's directory: "720p", "audio"
	uri      string // relative to the output directory
	raw      string
	playlist *hls.MediaPlaylist
	segs     []segment
	variant  hls.Variant
	stream   ffStream // video stream of the first segment
}

type segment struct {
	uri          string // as written in the playlist
	path         string
	bytes        int64
	video, audio []packet // decode order
}

// start is the segment's first presentation time.
func (s segment) start() float64 { return slices.Min(sortedPTS(s.video)) }

func (m *rendition) allVideo() []packet {
	var all []packet
	for _, s := range m.segs {
		all = append(all, s.video...)
	}
	return all
}

func (m *rendition) allAudio() []packet {
	var all []packet
	for _, s := range m.segs {
		all = append(all, s.audio...)
	}
	return all
}

func (l *ladder) path(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

// segmentStart is where segment i starts after the first frame: i·S, or
// after a short first segment, its length then (i-1)·S.
func (l *ladder) segmentStart(i int) float64 {
	return media.Plan{Segment: l.tc.segment, FirstSegment: l.tc.firstSegment}.SegmentStart(i).Seconds()
}

// wantSegments is one segment for every boundary at or before last.
func (l *ladder) wantSegments(last float64) int {
	n := 1
	for l.segmentStart(n) <= last+1e-9 {
		n++
	}
	return n
}

// frameDuration is one output frame: the nominal one, or the source's median interval for VFR.
func (l *ladder) frameDuration() float64 {
	if l.tc.fps > 0 {
		return 1 / l.tc.fps
	}
	return l.src.medianInterval
}

// wantChunks is ceil(duration / chunk), counted from where the last frame starts: a chunk exists
// for every multiple of the chunk length at or before it, so a VFR clip whose last frame ends a
// few ms after 12 s still has three 4 s chunks.
func (l *ladder) wantChunks() int {
	last := l.src.pts[len(l.src.pts)-1] - l.src.start
	return int(math.Floor(last/l.tc.chunk.Seconds()+1e-9)) + 1
}

// end is where the rung's last frame ends.
func (l *ladder) end(m *rendition) float64 {
	pts := sortedPTS(m.allVideo())
	last := l.frameDuration()
	if l.tc.fps == 0 && len(pts) > 1 {
		last = pts[len(pts)-1] - pts[len(pts)-2]
	}
	return pts[len(pts)-1] + last
}

func transcodeLadder(t *testing.T, tc ladderCase) *ladder {
	t.Helper()
	return transcodeFile(t, tc, testmedia.Generate(t, tc.spec))
}

// transcodeFile runs Transcode in-process on two workers and reads the result back.
func transcodeFile(t *testing.T, tc ladderCase, src string) *ladder {
	t.Helper()
	l := &ladder{tc: tc, src: probeSource(t, src), dir: t.TempDir()}
	opts := media.Options{Workers: 2, Segment: tc.segment, Chunk: tc.chunk, Segments: tc.segments,
		FirstSegment: tc.firstSegment, FirstChunk: tc.firstChunk}
	r, err := pipeline.Transcode(t.Context(), discardLog, src, l.dir, "", opts)
	if err != nil {
		t.Fatalf("Transcode(%s) error: %v", filepath.Base(src), err)
	}
	l.report = r
	l.readAll(t)
	return l
}

func (l *ladder) readMedia(t *testing.T, uri string) *rendition {
	t.Helper()
	b, err := os.ReadFile(l.path(uri))
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMediaPlaylist(b)
	if err != nil {
		t.Fatalf("ParseMediaPlaylist(%s): %v\n%s", uri, err, b)
	}
	if len(p.Segments) == 0 {
		t.Fatalf("%s lists no segments", uri)
	}
	m := &rendition{name: path.Dir(uri), uri: uri, raw: string(b), playlist: p}
	var init []byte
	if p.Map != "" {
		if init, err = os.ReadFile(l.path(path.Join(path.Dir(uri), p.Map))); err != nil {
			t.Fatalf("init segment of %s: %v", uri, err)
		}
	}
	for _, s := range p.Segments {
		sp := l.path(path.Join(path.Dir(uri), s.URI))
		fi, err := os.Stat(sp)
		if err != nil {
			t.Fatalf("segment listed in %s: %v", uri, err)
		}
		seg := segment{uri: s.URI, path: sp, bytes: fi.Size()}
		if init != nil {
			seg.path = behindInit(t, init, sp)
		}
		seg.video, seg.audio = probePackets(t, seg.path)
		if m.name != "audio" && len(seg.video) == 0 {
			t.Fatalf("%s/%s has no video packets", m.name, s.URI)
		}
		m.segs = append(m.segs, seg)
	}
	return m
}

// behindInit writes an fMP4 media segment behind its init segment into a
// file of its own, which ffprobe reads as it reads an MPEG-TS segment.
func behindInit(t *testing.T, init []byte, segment string) string {
	t.Helper()
	b, err := os.ReadFile(segment)
	if err != nil {
		t.Fatal(err)
	}
	joined := filepath.Join(t.TempDir(), filepath.Base(segment)+".mp4")
	if err := os.WriteFile(joined, append(slices.Clone(init), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	return joined
}

func (l *ladder) checkDecodes(t *testing.T) {
	all := slices.Clone(l.rungs)
	if l.audio != nil {
		all = append(all, l.audio)
	}
	for _, m := range all {
		if msg := decodeErrors(t, l.path(m.uri)); msg != "" {
			t.Errorf("ffmpeg -v error -i %s -f null - printed %q, want nothing", m.uri, msg)
		}
	}
}

// checkJoins reads every rendition as one stream, the way libavformat-based players do: segments
// muxed one per file, on different agents, must still join without a continuity error.
func (l *ladder) checkJoins(t *testing.T) {
	all := slices.Clone(l.rungs)
	if l.audio != nil {
		all = append(all, l.audio)
	}
	for _, m := range all {
		if damage := joinDamage(t, l.path(m.uri)); len(damage) > 0 {
			t.Errorf("%s read through the HLS demuxer: %d continuity errors or corrupt packets, want none; first ones:\n  %s",
				m.uri, len(damage), strings.Join(damage[:min(len(damage), 6)], "\n  "))
		}
	}
}

func (l *ladder) checkDuration(t *testing.T) {
	fd := l.frameDuration()
	for _, r := range l.rungs {
		pts := sortedPTS(r.allVideo())
		if got := l.end(r) - pts[0]; !near(got, l.src.duration, fd+1e-3) {
			t.Errorf("%s lasts %.4f s (frames %.4f–%.4f s), want the source's %.4f s ± one frame (%.4f s)",
				r.name, got, pts[0], pts[len(pts)-1], l.src.duration, fd)
		}
		if got := r.playlist.Duration(); !near(got, l.src.duration, fd+1e-3) {
			t.Errorf("%s EXTINF sum = %.4f s, want the source's %.4f s ± one frame", r.name, got, l.src.duration)
		}
	}
	if got := l.report.Output.Duration; !near(got, l.src.duration, fd+1e-3) {
		t.Errorf("report output duration = %.4f s, want the source's %.4f s ± one frame", got, l.src.duration)
	}
}

func (l *ladder) checkFrameCount(t *testing.T) {
	want := int(math.Round(float64(l.src.frames) * l.tc.fps / l.src.fps))
	for _, r := range l.rungs {
		if got := countFrames(t, l.path(r.uri)); got != want {
			t.Errorf("%s decodes to %d frames, want %d (source: %d at %.3f fps)", r.name, got, want, l.src.frames, l.src.fps)
		}
	}
	if !near(l.tc.fps, l.src.fps, 0.01) {
		return
	}
	// Every source frame lands in exactly one segment: segment i holds the source frames with
	// i·S <= pts < (i+1)·S on the timeline that starts at the first frame (segmentStart).
	rel := l.src.rel()
	for _, r := range l.rungs {
		var diffs []string
		for i, seg := range r.segs {
			lo, hi := l.segmentStart(i), l.segmentStart(i+1)
			if i == len(r.segs)-1 {
				hi = math.Inf(1)
			}
			want := 0
			for _, p := range rel {
				if p >= lo-1e-6 && p < hi-1e-6 {
					want++
				}
			}
			if got := len(seg.video); got != want {
				diffs = append(diffs, fmt.Sprintf("segment %d (%s): got %d frames, want %d", i, seg.uri, got, want))
			}
		}
		if len(diffs) > 0 {
			t.Errorf("%s frames per segment differ from the source's:\n  %s", r.name, strings.Join(diffs, "\n  "))
		}
	}
}

func (l *ladder) checkSegments(t *testing.T) {
	ref := l.rungs[0]
	rel := l.src.rel()
	// One segment for every boundary at or before the last source frame.
	wantSegs := l.wantSegments(rel[len(rel)-1])
	if got := len(ref.segs); got != wantSegs {
		t.Errorf("%s has %d segments, want %d (last source frame %.3f s after the first, %v segments)",
			ref.name, got, wantSegs, rel[len(rel)-1], l.tc.segment)
	}
	for _, r := range l.rungs[1:] {
		if len(r.segs) != len(ref.segs) {
			t.Errorf("%s has %d segments, %s has %d; want the same", r.name, len(r.segs), ref.name, len(ref.segs))
			continue
		}
		for i := range r.segs {
			if got, want := r.playlist.Segments[i].Duration, ref.playlist.Segments[i].Duration; got != want {
				t.Errorf("%s segment %d EXTINF = %.6f, %s has %.6f; want equal", r.name, i, got, ref.name, want)
			}
			if got, want := r.segs[i].start(), ref.segs[i].start(); !near(got, want, 1e-4) {
				t.Errorf("%s segment %d (%s) starts at %.6f s, %s's at %.6f s; want equal", r.name, i, r.segs[i].uri, got, ref.name, want)
			}
		}
	}
	// Boundaries are exact multiples of S on the source timeline (after a short first segment,
	// its length then multiples of S): segment i starts with the first source frame at or after
	// i·S, and its EXTINF runs until the next segment starts.
	tol := 1e-3
	if !l.tc.cfr {
		tol = l.src.maxInterval
	}
	for _, r := range l.rungs {
		origin, end := r.segs[0].start(), l.end(r)
		for i, seg := range r.segs {
			got := seg.start() - origin
			want := firstAtOrAfter(rel, l.segmentStart(i))
			if !near(got, want, tol) {
				t.Errorf("%s segment %d (%s) starts %.4f s after the first frame, want %.4f s (first source frame at or after %.3f s)",
					r.name, i, seg.uri, got, want, l.segmentStart(i))
			}
			next := end
			if i+1 < len(r.segs) {
				next = r.segs[i+1].start()
			}
			if got, want := r.playlist.Segments[i].Duration, next-seg.start(); !near(got, want, 1e-3) {
				t.Errorf("%s segment %d (%s) EXTINF = %.6f, want %.6f (until the next segment's first frame)", r.name, i, seg.uri, got, want)
			}
		}
	}
}

func (l *ladder) checkKeyframes(t *testing.T) {
	for _, r := range l.rungs {
		for _, seg := range r.segs {
			first := seg.video[0]
			if !first.Key {
				t.Errorf("%s/%s: first video packet (pts %.4f s) is not a keyframe", r.name, seg.uri, first.PTS)
			}
			// Closed GOP: nothing in the segment is shown before its keyframe.
			if got := seg.start(); got < first.PTS {
				t.Errorf("%s/%s: a frame at %.4f s is shown before the keyframe at %.4f s, want a closed GOP", r.name, seg.uri, got, first.PTS)
			}
		}
	}
}

// checkContinuity concatenates every rung's frames in playlist order: presentation times must
// increase with no gap over 1.5 frames and no overlap, decode times must increase, in particular
// where one chunk's segments end and the next chunk's begin (c00000_… → c00001_…).
func (l *ladder) checkContinuity(t *testing.T) {
	maxGap := 1.5 * l.frameDuration()
	if !l.tc.cfr {
		maxGap = 1.5 * l.src.maxInterval
	}
	for _, r := range l.rungs {
		if strings.Contains(r.raw, "#EXT-X-DISCONTINUITY") {
			t.Errorf("%s playlist has EXT-X-DISCONTINUITY, want one continuous timeline", r.name)
		}
		var problems []string
		var prevPTS, prevDTS float64
		var prevURI string
		for i, seg := range r.segs {
			for j, p := range sortedPTS(seg.video) {
				where := seg.uri
				if j == 0 {
					where = prevURI + " → " + seg.uri
				}
				if i > 0 || j > 0 {
					switch d := p - prevPTS; {
					case d <= 1e-6:
						problems = append(problems, fmt.Sprintf("pts %.4f after %.4f (overlap) at %s", p, prevPTS, where))
					case d > maxGap:
						problems = append(problems, fmt.Sprintf("pts gap %.4f s (%.4f → %.4f) at %s", d, prevPTS, p, where))
					}
				}
				prevPTS = p
			}
			for j, p := range seg.video {
				if (i > 0 || j > 0) && p.DTS <= prevDTS {
					problems = append(problems, fmt.Sprintf("dts %.4f after %.4f in %s (packet %d)", p.DTS, prevDTS, seg.uri, j))
				}
				prevDTS = p.DTS
			}
			prevURI = seg.uri
		}
		if len(problems) > 0 {
			t.Errorf("%s timestamps: %d problems, want increasing pts with gaps ≤ %.4f s and increasing dts; first ones:\n  %s",
				r.name, len(problems), maxGap, strings.Join(problems[:min(len(problems), 8)], "\n  "))
		}
	}
}

func (l *ladder) checkAudioContinuity(t *testing.T) {
	m := l.audio
	if strings.Contains(m.raw, "#EXT-X-DISCONTINUITY") {
		t.Errorf("audio playlist has EXT-X-DISCONTINUITY, want one continuous timeline")
	}
	var problems []string
	var prev float64
	for i, seg := range m.segs {
		if len(seg.audio) == 0 {
			problems = append(problems, fmt.Sprintf("%s has no audio packets", seg.uri))
		}
		for j, p := range seg.audio {
			if i > 0 || j > 0 {
				if d := p.PTS - prev; d < 0.5*aacFrame || d > 1.5*aacFrame {
					problems = append(problems, fmt.Sprintf("pts %.5f after %.5f (%.5f s, want %.5f) in %s", p.PTS, prev, d, aacFrame, seg.uri))
				}
			}
			prev = p.PTS
		}
	}
	if len(problems) > 0 {
		t.Errorf("audio timestamps: %d problems, want one AAC frame apart; first ones:\n  %s",
			len(problems), strings.Join(problems[:min(len(problems), 8)], "\n  "))
	}
}

// checkAVStart compares where audio and video begin. The AAC encoder's 1024 priming samples sit
// in front of the first real sample and MPEG-TS has no edit list to hide them, so the audio
// stream starts 1024/48000 s (21.3 ms) before the video by design; at 60 fps that is more than a
// frame, hence the tolerance of the larger of one frame and one AAC frame.
func (l *ladder) checkAVStart(t *testing.T) {
	v := l.rungs[0].segs[0].start()
	a := slices.Min(sortedPTS(l.audio.segs[0].audio))
	tol := max(l.frameDuration(), aacFrame)
	if !near(a, v, tol+1e-3) {
		t.Errorf("audio starts at %.4f s, video at %.4f s (%+.1f ms), want within %.1f ms",
			a, v, (a-v)*1000, tol*1000)
	}
}

// lipSyncTolerance is how far a beep may move relative to the video. Beeps are located to a few
// samples in source and output alike, so anything near a whole AAC frame (21.3 ms) or more is a
// timestamp error, not measurement noise.
const lipSyncTolerance = 0.010

// checkLipSync finds the testmedia sine's once-a-second beeps in the source and in the output
// audio, each relative to its own first video frame: they must be at the same places, whatever
// the source's audio offset.
func (l *ladder) checkLipSync(t *testing.T) {
	var src []float64
	for _, o := range beepOnsets(t, l.src.path) {
		src = append(src, o-l.src.start)
	}
	if len(src) == 0 {
		t.Fatalf("found no beeps in the source %s, want one a second", l.src.path)
	}
	origin := l.rungs[0].segs[0].start()
	var checked int
	var worst float64
	for _, o := range beepOnsets(t, l.path(l.audio.uri)) {
		got := o - origin
		if got < 0.5 || got > l.src.duration-0.5 {
			continue // the first and last beeps may be cut or merged with silence at the edges
		}
		checked++
		i := slices.IndexFunc(src, func(s float64) bool { return s > got })
		want := src[max(i-1, 0)]
		if i >= 0 && i < len(src) && src[i]-got < got-want {
			want = src[i]
		} else if i < 0 {
			want = src[len(src)-1]
		}
		if math.Abs(got-want) > math.Abs(worst) {
			worst = got - want
		}
		if !near(got, want, lipSyncTolerance) {
			t.Errorf("beep %.4f s after the first video frame, in the source %.4f s: audio %+.1f ms off, want within %.0f ms",
				got, want, (got-want)*1000, lipSyncTolerance*1000)
		}
	}
	t.Logf("%d beeps checked, largest offset %+.1f ms", checked, worst*1000)
	if want := max(1, int(l.src.duration)-2); checked < want {
		t.Errorf("found %d beeps in the output audio, want at least %d", checked, want)
	}
}

// measured returns a playlist's peak and average bit rate from the sizes of its segment files.
func measured(m *rendition) (peak, avg float64) {
	var bytes, secs float64
	for i, s := range m.segs {
		d := m.playlist.Segments[i].Duration
		peak = max(peak, float64(s.bytes)*8/d)
		bytes += float64(s.bytes)
		secs += d
	}
	return peak, bytes * 8 / secs
}

func (l *ladder) checkMaster(t *testing.T) {
	m := l.master
	var audioGroup string
	var audioRenditions int
	for _, r := range m.Renditions {
		if r.Type == "AUDIO" {
			audioRenditions++
			audioGroup = r.GroupID
		}
	}
	var audioAvg float64
	if l.audio != nil {
		_, audioAvg = measured(l.audio)
	}
	if len(l.rungs) == 0 {
		if len(m.Variants) != 1 || audioRenditions != 0 {
			t.Fatalf("audio-only master has %d variants and %d audio renditions, want 1 and 0", len(m.Variants), audioRenditions)
		}
		v := m.Variants[0]
		if !slices.Equal(v.Codecs, []string{hls.AACLowComplexity}) || v.Audio != "" {
			t.Errorf("audio-only variant CODECS %v AUDIO %q, want [%s] and no group", v.Codecs, v.Audio, hls.AACLowComplexity)
		}
		if v.Bandwidth < v.AverageBandwidth || v.AverageBandwidth <= 0 {
			t.Errorf("audio-only variant BANDWIDTH %d AVERAGE-BANDWIDTH %d, want BANDWIDTH ≥ AVERAGE-BANDWIDTH > 0", v.Bandwidth, v.AverageBandwidth)
		}
		if got := float64(v.AverageBandwidth); math.Abs(got/audioAvg-1) > 0.1 {
			t.Errorf("audio-only AVERAGE-BANDWIDTH = %.0f, want %.0f ± 10%% (from the segment files)", got, audioAvg)
		}
		return
	}

	if (audioRenditions == 1) != l.tc.audio || audioRenditions > 1 {
		t.Errorf("master has %d audio renditions, want one when the source has audio (%v), else none", audioRenditions, l.tc.audio)
	}
	var got []rungWant
	for _, r := range l.rungs {
		got = append(got, rungWant{r.name, r.variant.Width, r.variant.Height})
	}
	want := slices.Clone(l.tc.rungs)
	for i := range want {
		if want[i].name == "" && i < len(got) {
			want[i].name = got[i].name
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ladder = %v, want %v", got, want)
	}
	for _, r := range l.rungs {
		v, st := r.variant, r.stream
		if v.Bandwidth < v.AverageBandwidth || v.AverageBandwidth <= 0 {
			t.Errorf("%s BANDWIDTH %d AVERAGE-BANDWIDTH %d, want BANDWIDTH ≥ AVERAGE-BANDWIDTH > 0", r.name, v.Bandwidth, v.AverageBandwidth)
		}
		peak, avg := measured(r)
		if float64(v.Bandwidth) < peak {
			t.Errorf("%s BANDWIDTH = %d, below the video's own peak segment rate %.0f", r.name, v.Bandwidth, peak)
		}
		if got, want := float64(v.AverageBandwidth), avg+audioAvg; math.Abs(got/want-1) > 0.1 {
			t.Errorf("%s AVERAGE-BANDWIDTH = %.0f, want %.0f ± 10%% (from the segment files)", r.name, got, want)
		}
		if v.Width != st.Width || v.Height != st.Height {
			t.Errorf("%s RESOLUTION = %dx%d, ffprobe reads %dx%d", r.name, v.Width, v.Height, st.Width, st.Height)
		}
		if len(v.Codecs) == 0 {
			t.Errorf("%s has no CODECS", r.name)
		} else if err := avcCodecMatches(v.Codecs[0], st.Profile, st.Level); err != nil {
			t.Errorf("%s CODECS: %v", r.name, err)
		}
		hasAAC := slices.Contains(v.Codecs, hls.AACLowComplexity)
		if hasAAC != l.tc.audio || (v.Audio != "") != l.tc.audio || v.Audio != audioGroup {
			t.Errorf("%s CODECS %v AUDIO %q, want mp4a.40.2 and AUDIO=%q only when the source has audio (%v)",
				r.name, v.Codecs, v.Audio, audioGroup, l.tc.audio)
		}
		if l.tc.fps > 0 {
			if !near(v.FrameRate, l.tc.fps, 0.001) || !near(rate(st.RFrameRate), l.tc.fps, 0.001) {
				t.Errorf("%s FRAME-RATE %.3f, ffprobe r_frame_rate %s, want %.3f", r.name, v.FrameRate, st.RFrameRate, l.tc.fps)
			}
		} else if !near(v.FrameRate, l.src.fps, 0.05*l.src.fps) {
			// RFC 8216 section 4.3.4.2: FRAME-RATE is the maximum frame rate of the variant, not the
			// average, so a phone clip that drops frames in low light still announces 30.
			t.Errorf("%s FRAME-RATE %.3f, want the source's nominal (maximum) %.3f ± 5%%", r.name, v.FrameRate, l.src.fps)
		}
		if st.CodecName != "h264" || st.PixFmt != "yuv420p" {
			t.Errorf("%s is %s %s, want h264 yuv420p", r.name, st.CodecName, st.PixFmt)
		}
		if fo := st.FieldOrder; fo != "progressive" && fo != "unknown" && fo != "" {
			t.Errorf("%s field_order = %q, want progressive", r.name, fo)
		}
		if sar := st.SampleAspectRatio; sar != "1:1" && sar != "0:1" && sar != "" {
			t.Errorf("%s sample_aspect_ratio = %q, want square pixels", r.name, sar)
		}
	}
}

// checkPicture compares the first frame of a rung's segment from the second chunk with the
// source frames around the one it should show, decoded by the ffmpeg CLI (which applies the
// display matrix) and scaled to the rung's size. A wrong rotation, stretch or crop differs by far
// more than coding noise (under 2 grey levels here, over 100 for a picture upside down), and the
// closest of the three neighbouring source frames must be the right one: a chunk that starts a
// frame early or late shows its neighbour.
func (l *ladder) checkPicture(t *testing.T) {
	const maxDiff = 8 // mean absolute luma difference, 0–255
	r := l.rungs[0]
	i := int(l.tc.chunk / l.tc.segment)
	if i >= len(r.segs) {
		i = 0
	}
	w, h := r.stream.Width, r.stream.Height
	at := firstAtOrAfter(l.src.pts, l.src.start+l.segmentStart(i))
	k := slices.Index(l.src.pts, at)
	from := l.src.pts[max(k-1, 0)]
	src := grayFrames(t, w, h, 3, "-copyts", "-i", l.src.path, "-vf",
		fmt.Sprintf(`yadif=deint=interlaced,select='gte(t\,%.6f)',scale=%d:%d`, from-0.0005, w, h))
	got := grayFrames(t, w, h, 1, "-i", r.segs[i].path, "-vf", fmt.Sprintf("scale=%d:%d", w, h))[0]
	var diffs []float64
	for _, f := range src {
		diffs = append(diffs, meanAbsDiff(got, f))
	}
	want := 1 // the middle one, unless at is the very first frame
	if k == 0 {
		want = 0
	}
	t.Logf("%s/%s first frame vs source frames from %.3f s: mean luma differences %.2f", r.name, r.segs[i].uri, from, diffs)
	if best := slices.Index(diffs, slices.Min(diffs)); best != want || diffs[want] > maxDiff {
		t.Errorf("%s/%s first frame: mean luma difference to the source frames at %.3f s and its neighbours = %.2f, "+
			"want the frame at %.3f s closest and within %d (same orientation, framing and moment)",
			r.name, r.segs[i].uri, from, diffs, at, maxDiff)
	}
}

func (l *ladder) checkImages(t *testing.T) {
	for _, name := range []string{layout.PosterFile, layout.StoryboardImage, layout.StoryboardVTT} {
		if _, err := os.Stat(l.path(name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	poster := decodeJPEG(t, l.path(layout.PosterFile))
	// The poster must be a representative frame: compare with a frame from the middle of the
	// source, which testsrc2 never leaves dark.
	mid := l.src.start + l.src.duration/2
	ref := mean(grayFrames(t, 160, 90, 1, "-copyts", "-i", l.src.path, "-vf", fmt.Sprintf(`select='gte(t\,%.6f)',scale=160:90`, mid))[0])
	if got := meanLuma(poster); got < 0.6*ref {
		t.Errorf("poster mean luma = %.1f, want at least 60%% of a mid-clip frame's %.1f (not a black or fading-in frame)", got, ref)
	}
	if l.tc.wantPosterFadeIn && l.report.Output.PosterTime < 2 {
		t.Errorf("poster taken at %.3f s, want after the 2 s fade-in", l.report.Output.PosterTime)
	}

	sprite := decodeJPEG(t, l.path(layout.StoryboardImage)).Bounds()
	vtt, err := os.ReadFile(l.path(layout.StoryboardVTT))
	if err != nil {
		t.Fatal(err)
	}
	cues := parseVTT(t, vtt)
	if len(cues) == 0 {
		t.Fatalf("storyboard VTT has no cues:\n%s", vtt)
	}
	fd := l.frameDuration()
	for i, c := range cues {
		rect, err := parseXYWH(c.Text, layout.StoryboardImage)
		if err != nil {
			t.Errorf("storyboard cue %d: %v", i, err)
		} else if rect.Empty() || !rect.In(sprite) {
			t.Errorf("storyboard cue %d tile %v, want a non-empty tile inside the %v sprite", i, rect, sprite)
		}
		if c.End <= c.Start {
			t.Errorf("storyboard cue %d runs %.3f → %.3f s, want end after start", i, c.Start, c.End)
		}
		if i > 0 && !near(c.Start, cues[i-1].End, 1e-3) {
			t.Errorf("storyboard cue %d starts at %.3f s, the previous ends at %.3f s; want no gap", i, c.Start, cues[i-1].End)
		}
	}
	if first := cues[0].Start; first > 1e-3 {
		t.Errorf("first storyboard cue starts at %.3f s, want 0 (seek previews from the start)", first)
	}
	if last := cues[len(cues)-1].End; !near(last, l.src.duration, fd+1e-3) {
		t.Errorf("last storyboard cue ends at %.3f s, want the duration %.3f s ± one frame", last, l.src.duration)
	}
}

func (l *ladder) checkReport(t *testing.T) {
	b, err := os.ReadFile(l.path("report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	want := []string{"probe", "tasks", "output"}
	if len(l.rungs) > 0 {
		want = append(want, "ladder", "plan")
	}
	for _, k := range want {
		if v, ok := fields[k]; !ok || string(v) == "null" {
			t.Errorf("report.json has no %q", k)
		}
	}
	var r pipeline.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json into pipeline.Report: %v", err)
	}
	if r.Probe == nil || r.Output == nil {
		t.Fatalf("report.json probe %v output %v, want both", r.Probe, r.Output)
	}
	if (r.Probe.Video != nil) != (l.src.video != nil) || (r.Probe.Audio != nil) != (l.src.audio != nil) {
		t.Errorf("report probe video %v audio %v, want video %v audio %v",
			r.Probe.Video != nil, r.Probe.Audio != nil, l.src.video != nil, l.src.audio != nil)
	}

	kinds := map[string]int{}
	chunks := map[int]bool{}
	var encodedFrames int
	for _, task := range r.Tasks {
		kinds[task.Kind]++
		if task.Seconds <= 0 || task.Start < 0 {
			t.Errorf("task %+v, want a start ≥ 0 and a positive duration", task)
		}
		if task.Kind == "encode" {
			chunks[task.Chunk] = true
			encodedFrames += task.Frames
		}
	}
	wantKinds := map[string]int{"split": 1, "stitch": 1}
	if l.src.audio != nil {
		wantKinds["audio"] = 1
	}
	if len(l.rungs) > 0 {
		if r.Plan == nil {
			t.Fatal("report.json has no chunk plan")
		}
		wantKinds["encode"] = len(r.Plan.Chunks)
		if got, want := len(r.Plan.Chunks), l.wantChunks(); got != want {
			t.Errorf("plan has %d chunks, want %d: one per %v of the %.3f s source", got, want, l.tc.chunk, l.src.duration)
		}
		for i, c := range r.Plan.Chunks {
			if !chunks[i] {
				t.Errorf("no encode task for chunk %d", i)
			}
			if want := float64(i) * l.tc.chunk.Seconds(); !near(c.Start, want, 1e-3) {
				t.Errorf("chunk %d starts at %.4f s, want %.4f s", i, c.Start, want)
			}
		}
		var names []string
		for _, rung := range r.Ladder {
			names = append(names, rung.Name)
		}
		var outNames []string
		for _, rung := range l.rungs {
			outNames = append(outNames, rung.name)
		}
		if !slices.Equal(names, outNames) {
			t.Errorf("report ladder %v, master lists %v", names, outNames)
		}
		if l.tc.cfr && near(l.tc.fps, l.src.fps, 0.01) && encodedFrames != l.src.frames {
			t.Errorf("encode tasks report %d frames in all, want the source's %d (each frame in exactly one chunk)", encodedFrames, l.src.frames)
		}
	}
	if !maps.Equal(kinds, wantKinds) {
		t.Errorf("report tasks by kind = %v, want %v", kinds, wantKinds)
	}
	if r.Encoder != l.report.Encoder || len(r.Tasks) != len(l.report.Tasks) {
		t.Errorf("report.json encoder %q with %d tasks, Transcode returned %q with %d", r.Encoder, len(r.Tasks), l.report.Encoder, len(l.report.Tasks))
	}
}

// outputFiles lists what a failed transcode left in dir that a player could read.
func outputFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch filepath.Ext(p) {
		case ".ts", ".m4s", ".mp4", ".m3u8", ".mpd", ".jpg", ".vtt", ".json":
			rel, _ := filepath.Rel(dir, p)
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestTranscodeRejectsInvalidMedia feeds inputs that cannot or must not be transcoded: each
// fails with an error wrapping segmenter.ErrInvalidMedia, before anything is encoded.
func TestTranscodeRejectsInvalidMedia(t *testing.T) {
	skipShort(t)
	clip := func(s testmedia.Spec) func(t *testing.T) string {
		return func(t *testing.T) string { return testmedia.Generate(t, s) }
	}
	big := clip(testmedia.CFR(6, 640, 360, 30, true))
	limits := media.DefaultLimits
	tests := []struct {
		name    string
		src     func(t *testing.T) string
		limits  media.Limits
		wantMsg string
	}{
		{name: "zero-byte", src: func(t *testing.T) string { return testmedia.ZeroByte(t) }, wantMsg: "empty"},
		{name: "text-file", src: func(t *testing.T) string { return testmedia.TextFile(t) }},
		{name: "truncated-mp4", src: func(t *testing.T) string {
			// The moov atom is at the end of an ffmpeg MP4: without it nothing is readable.
			return testmedia.Truncated(t, testmedia.Generate(t, testmedia.CFR(6, 320, 240, 30, true)))
		}},
		{name: "wider-than-limit", src: big, limits: media.Limits{MaxWidth: 320, MaxHeight: limits.MaxHeight, MaxDuration: limits.MaxDuration}, wantMsg: "limit"},
		{name: "taller-than-limit", src: big, limits: media.Limits{MaxWidth: limits.MaxWidth, MaxHeight: 200, MaxDuration: limits.MaxDuration}, wantMsg: "limit"},
		{name: "longer-than-limit", src: big, limits: media.Limits{MaxWidth: limits.MaxWidth, MaxHeight: limits.MaxHeight, MaxDuration: 2}, wantMsg: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, dir := tt.src(t), t.TempDir()
			opts := media.Options{Workers: 2, Segment: 2 * time.Second, Chunk: 4 * time.Second, Limits: tt.limits}
			_, err := pipeline.Transcode(t.Context(), discardLog, src, dir, "", opts)
			if !errors.Is(err, segmenter.ErrInvalidMedia) {
				t.Fatalf("Transcode error = %v, want one wrapping segmenter.ErrInvalidMedia", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantMsg) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tt.wantMsg)
			}
			if files := outputFiles(t, dir); len(files) > 0 {
				t.Errorf("rejected input left %v, want nothing written", files)
			}
		})
	}
}

// TestTranscodeTruncatedTS cuts an MPEG-TS upload to 40 % of its bytes, as an interrupted upload
// leaves it. Unlike an MP4, whose index is at the end, what remains is playable: the result is a
// correct, shorter ladder.
func TestTranscodeTruncatedTS(t *testing.T) {
	skipShort(t)
	t.Parallel()
	whole := testmedia.Generate(t, testmedia.CFRTS(12, 320, 240, 30, true))
	src := testmedia.Truncated(t, whole)
	eachSegmentFormat(t, func(t *testing.T, format media.SegmentFormat) {
		l := transcodeFile(t, ladderCase{name: "truncated-ts", segment: 2 * time.Second, chunk: 4 * time.Second, fps: 30, audio: true,
			segments: format}, src)
		if d := l.report.Output.Duration; d < 2 || d > 10 {
			t.Errorf("output lasts %.3f s, want a few seconds of the 12 s clip", d)
		}
		t.Run("decodes without errors", l.checkDecodes)
		t.Run("segments start with a keyframe", l.checkKeyframes)
		t.Run("timestamps continuous", l.checkContinuity)
		t.Run("duration", l.checkDuration)
	})
}

// TestTranscodeCorruptMiddle overwrites a few KB in the middle of an MPEG-TS file: the pipeline
// transcodes what decodes, reports the damage as warnings, and writes a ladder that decodes
// cleanly.
func TestTranscodeCorruptMiddle(t *testing.T) {
	skipShort(t)
	t.Parallel()
	src := testmedia.CorruptMiddle(t, testmedia.Generate(t, testmedia.CFRTS(12, 640, 360, 30, true)))
	eachSegmentFormat(t, func(t *testing.T, format media.SegmentFormat) {
		l := transcodeFile(t, ladderCase{name: "corrupt-middle", segment: 2 * time.Second, chunk: 4 * time.Second, fps: 30, audio: true,
			segments: format}, src)
		if len(l.report.Warnings) == 0 {
			t.Errorf("Transcode returned no warnings, want the damage reported")
		}
		b, err := os.ReadFile(l.path("report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Warnings []string `json:"warnings"`
		}
		if err := json.Unmarshal(b, &rep); err != nil || len(rep.Warnings) == 0 {
			t.Errorf("report.json warnings = %q (%v), want the damage listed", rep.Warnings, err)
		}
		t.Run("decodes without errors", l.checkDecodes)
		t.Run("segments start with a keyframe", l.checkKeyframes)
		t.Run("segments aligned", func(t *testing.T) {
			for _, r := range l.rungs[1:] {
				if len(r.segs) != len(l.rungs[0].segs) {
					t.Errorf("%s has %d segments, %s %d; want the same", r.name, len(r.segs), l.rungs[0].name, len(l.rungs[0].segs))
				}
			}
		})
		t.Run("no overlap", func(t *testing.T) {
			for _, r := range l.rungs {
				var prev float64
				for i, seg := range r.segs {
					for j, p := range sortedPTS(seg.video) {
						if (i > 0 || j > 0) && p <= prev {
							t.Errorf("%s/%s: pts %.4f after %.4f, want increasing", r.name, seg.uri, p, prev)
						}
						prev = p
					}
				}
			}
		})
	})
}

// readAll reads the master playlist and every playlist it lists.
func (l *ladder) readAll(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(l.path(layout.MasterPlaylist))
	if err != nil {
		t.Fatal(err)
	}
	if l.master, err = hls.ParseMasterPlaylist(b); err != nil {
		t.Fatalf("ParseMasterPlaylist: %v\n%s", err, b)
	}
	for _, r := range l.master.Renditions {
		if r.Type == "AUDIO" && r.URI != "" {
			l.audio = l.readMedia(t, r.URI)
		}
	}
	for _, v := range l.master.Variants {
		m := l.readMedia(t, v.URI)
		m.variant = v
		if v.Width == 0 && v.Height == 0 {
			l.audio = m
			continue
		}
		vs, ok := streamOf(probeStreams(t, m.segs[0].path), "video")
		if !ok {
			t.Fatalf("%s: first segment has no video stream", v.URI)
		}
		m.stream = vs
		l.rungs = append(l.rungs, m)
	}
}

// firstChunkTask splits a 4 s clip into segments of format and returns the
// encode spec of its one chunk and the chunk file, named as the spec names
// its input.
func firstChunkTask(t *testing.T, format media.SegmentFormat) (json.RawMessage, string) {
	t.Helper()
	src := testmedia.Generate(t, testmedia.CFR(4, 320, 240, 25, false))
	job, err := pipeline.Split(t.Context(), src, t.TempDir(), "", media.Options{Segment: 2 * time.Second, Chunk: 4 * time.Second, Segments: format})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(media.EncodeSpec{Chunk: job.Chunks[0], Video: *job.Video})
	if err != nil {
		t.Fatal(err)
	}
	return spec, job.Chunks[0].Source
}

func TestRunTaskReportsEncodeProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a clip")
	}
	spec, chunk := firstChunkTask(t, "")
	var reports []int64
	ctx := pipeline.WithProgress(t.Context(), func(n int64) { reports = append(reports, n) })
	if _, err := pipeline.RunTask(ctx, scheduler.KindEncode, spec, map[string]string{chunk: chunk}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if len(reports) == 0 || reports[len(reports)-1] > 100 || !slices.IsSorted(reports) {
		t.Errorf("progress reports = %v, want increasing frame counts up to the chunk's 100 frames", reports)
	}
}

// TestRunTaskOneThreadSameOutput checks that encoding a chunk's rungs one
// after another (WithThreads(1)) writes what the parallel encode does: the
// same segments holding the same frames, and the same pictures. Not always
// the same bytes: in a long-lived process x264's AVX-512 code now and then (a
// few encodes in a hundred; never with AVX2 only, nor in fresh ffmpeg CLI
// runs) takes other but equivalent decisions that code the same pictures
// differently. It reads heap memory nobody wrote: with glibc's MALLOC_PERTURB_
// set, 0 encodes in 80 differed (7 without), and zeroing the input frames'
// row padding changed nothing.
func TestRunTaskOneThreadSameOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a clip twice")
	}
	eachSegmentFormat(t, func(t *testing.T, format media.SegmentFormat) {
		spec, chunk := firstChunkTask(t, format)
		encode := func(ctx context.Context) (dir string, segments []string) {
			dir = t.TempDir()
			if _, err := pipeline.RunTask(ctx, scheduler.KindEncode, spec, map[string]string{chunk: chunk}, dir); err != nil {
				t.Fatal(err)
			}
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if ext := filepath.Ext(path); err == nil && (ext == ".ts" || ext == ".m4s") {
					rel, _ := filepath.Rel(dir, path)
					segments = append(segments, rel)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return dir, segments
		}
		parallelDir, parallel := encode(t.Context())
		serialDir, serial := encode(pipeline.WithThreads(t.Context(), 1))
		if len(parallel) == 0 || !slices.Equal(parallel, serial) {
			t.Fatalf("parallel wrote segments %v, one thread %v", parallel, serial)
		}
		for _, name := range parallel {
			a, b := readableSegment(t, parallelDir, name), readableSegment(t, serialDir, name)
			pa, _ := probePackets(t, a)
			pb, _ := probePackets(t, b)
			if !slices.Equal(sortedPTS(pa), sortedPTS(pb)) || !pb[0].Key {
				t.Errorf("%s: one-thread frames %v (first key %v), parallel %v", name, sortedPTS(pb), pb[0].Key, sortedPTS(pa))
				continue
			}
			v, _ := streamOf(probeStreams(t, a), "video")
			fa := grayFrames(t, v.Width, v.Height, len(pa), "-i", a)
			fb := grayFrames(t, v.Width, v.Height, len(pb), "-i", b)
			for i := range fa {
				if d := meanAbsDiff(fa[i], fb[i]); d > 0.5 {
					t.Errorf("%s frame %d: one-thread picture differs from the parallel one by %.2f levels on average", name, i, d)
				}
			}
		}
	})
}

// readableSegment is a file ffprobe reads as the segment name of an encode
// task's output dir: an MPEG-TS segment itself, an fMP4 one behind the
// init segment its chunk wrote beside it.
func readableSegment(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if filepath.Ext(name) != ".m4s" {
		return p
	}
	inits, err := filepath.Glob(filepath.Join(filepath.Dir(p), "*_init.mp4"))
	if err != nil || len(inits) != 1 {
		t.Fatalf("init segments beside %s: %v (%v), want one", name, inits, err)
	}
	return behindInit(t, mustRead(t, "", inits[0]), p)
}

// TestRunTaskRestoresWhatChunkFilesLose runs split, encode and audio as the agents do — separate
// tasks that meet only through JSON specs and files — on sources whose decoders need codec
// parameters the NUT chunk files cannot carry (WMA's block alignment, QuickTime Animation's bits
// per pixel, ALAC's codec).
func TestRunTaskRestoresWhatChunkFilesLose(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes clips")
	}
	for _, spec := range []testmedia.Spec{testmedia.WindowsMedia(4), testmedia.Animation(4)} {
		t.Run(spec.Name, func(t *testing.T) {
			src := testmedia.Generate(t, spec)
			splitDir := t.TempDir()
			splitSpec, _ := json.Marshal(media.SplitSpec{Options: media.Options{Segment: 2 * time.Second, Chunk: 4 * time.Second}})
			raw, err := pipeline.RunTask(t.Context(), scheduler.KindSplit, splitSpec, map[string]string{media.SplitInput: src}, splitDir)
			if err != nil {
				t.Fatal(err)
			}
			var job media.SplitResult
			if err := json.Unmarshal(raw, &job); err != nil {
				t.Fatal(err)
			}
			if job.Video == nil || job.Audio == nil || len(job.Chunks) == 0 {
				t.Fatalf("split found video %v, audio %v, %d chunks; want both and chunks", job.Video != nil, job.Audio != nil, len(job.Chunks))
			}
			if job.Chunks[0].Params == (media.NUTParams{}) && job.Audio.Params == (media.NUTParams{}) {
				t.Fatalf("the split recorded no parameters for %s: the case tests nothing", spec.Name)
			}
			chunk := job.Chunks[0].Source
			encodeSpec, _ := json.Marshal(media.EncodeSpec{Chunk: job.Chunks[0], Video: *job.Video})
			if _, err := pipeline.RunTask(t.Context(), scheduler.KindEncode, encodeSpec, map[string]string{chunk: filepath.Join(splitDir, chunk)}, t.TempDir()); err != nil {
				t.Errorf("encode task: %v", err)
			}
			audioSpec, _ := json.Marshal(job.Audio)
			audio := job.Audio.Source
			if _, err := pipeline.RunTask(t.Context(), scheduler.KindAudio, audioSpec, map[string]string{audio: filepath.Join(splitDir, audio)}, t.TempDir()); err != nil {
				t.Errorf("audio task: %v", err)
			}
		})
	}
}

// TestRunTaskResolvesEncoderWhereItRuns checks that the split records the
// requested encoder, not one it resolved on its own host, and that the
// encode task resolves it where it runs — the agent's choice (WithEncoder)
// first, else the best this host opens — and reports, per rung, the encoder
// that actually wrote it.
func TestRunTaskResolvesEncoderWhereItRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a clip three times")
	}
	src := testmedia.Generate(t, testmedia.CFR(2, 160, 120, 25, false))
	for _, requested := range []string{"", media.EncoderNVENC} {
		job, err := pipeline.Split(t.Context(), src, t.TempDir(), "", media.Options{Segment: time.Second, Chunk: 2 * time.Second, Encoder: requested})
		if err != nil {
			t.Fatal(err)
		}
		want := cmp.Or(requested, media.EncoderAuto)
		if got := job.Video.H264.Encoder; got != want {
			t.Errorf("split asked for %q recorded encoder %q, want %q", requested, got, want)
		}
	}
	job, err := pipeline.Split(t.Context(), src, t.TempDir(), "", media.Options{Segment: time.Second, Chunk: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hostBest, err := encoder.ResolveEncoder(media.EncoderAuto)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, requested, agentChoice, want string
	}{
		{"auto resolves on this host", media.EncoderAuto, "", hostBest},
		{"unavailable falls back as auto", "h264_missing", "", hostBest},
		{"the agent's choice wins", media.EncoderAuto, media.EncoderX264, media.EncoderX264},
	} {
		t.Run(tt.name, func(t *testing.T) {
			video := *job.Video
			video.H264.Encoder = tt.requested
			spec, err := json.Marshal(media.EncodeSpec{Chunk: job.Chunks[0], Video: video})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tt.agentChoice != "" {
				ctx = pipeline.WithEncoder(ctx, tt.agentChoice)
			}
			chunk := job.Chunks[0].Source
			raw, err := pipeline.RunTask(ctx, scheduler.KindEncode, spec, map[string]string{chunk: chunk}, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var res media.ChunkResult
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatal(err)
			}
			if len(res.Rungs) == 0 {
				t.Fatal("the result has no rungs")
			}
			for _, r := range res.Rungs {
				if r.Encoder != tt.want {
					t.Errorf("rung %s reports encoder %q, want %q", r.Name, r.Encoder, tt.want)
				}
			}
		})
	}
}
