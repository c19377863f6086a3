package pipeline_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// TestTranscodeShortFirstSegment: with a 2 s first segment of 4 s segments,
// the first chunk one segment, every rung and the audio cut segment 0 at
// 2 s and every later segment 4 s after the one before, read through libav
// as the other ladders are: aligned, continuous, one frame in one segment,
// and playlists whose target duration is the long segments'.
func TestTranscodeShortFirstSegment(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, testmedia.CFRTS(11, 640, 360, 30, true))
	eachSegmentFormat(t, func(t *testing.T, format media.SegmentFormat) {
		tc := ladderCase{name: "short-first-segment", segment: 4 * time.Second, chunk: 8 * time.Second,
			firstSegment: 2 * time.Second, firstChunk: 4 * time.Second, segments: format,
			fps: 30, cfr: true, audio: true, rungs: []rungWant{{"360p", 640, 360}, {"240p", 426, 240}}}
		l := transcodeFile(t, tc, src)
		if len(l.rungs) < 2 || l.audio == nil {
			t.Fatalf("%d rungs and audio %v, want two rungs and audio", len(l.rungs), l.audio != nil)
		}
		t.Run("decodes without errors", l.checkDecodes)
		t.Run("segments join without corrupt packets", l.checkJoins)
		t.Run("master playlist", l.checkMaster)
		t.Run("duration", l.checkDuration)
		t.Run("frame count", l.checkFrameCount)
		t.Run("segments aligned", l.checkSegments)
		t.Run("segments start with a keyframe", l.checkKeyframes)
		t.Run("timestamps continuous", l.checkContinuity)
		t.Run("picture", l.checkPicture)
		t.Run("poster and storyboard", l.checkImages)
		t.Run("fingerprint and speech track", l.checkExtras)
		t.Run("audio and video start together", l.checkAVStart)
		t.Run("lip sync", l.checkLipSync)
		t.Run("audio timestamps continuous", l.checkAudioContinuity)
		t.Run("plan", l.checkShortFirstPlan)
		t.Run("segment lengths", l.checkShortFirstLengths)
		t.Run("audio segments aligned", l.checkAudioSegmentsAligned)
	})
}

// checkShortFirstPlan: the plan records the short first segment, and the
// first chunk is that one segment.
func (l *ladder) checkShortFirstPlan(t *testing.T) {
	p := l.report.Plan
	if p.FirstSegment != l.tc.firstSegment {
		t.Errorf("plan's first segment %v, want %v", p.FirstSegment, l.tc.firstSegment)
	}
	if c := p.Chunks[0]; c.Segments != 1 || !near(c.End-c.Start, l.tc.firstSegment.Seconds(), 1e-3) {
		t.Errorf("first chunk: %d segments over %.3f s, want one of %v", c.Segments, c.End-c.Start, l.tc.firstSegment)
	}
}

// checkShortFirstLengths: segment 0 of every rendition lasts the first
// segment's length, every later one but the last the configured length,
// and every playlist's target duration is the configured length.
func (l *ladder) checkShortFirstLengths(t *testing.T) {
	for _, r := range append(slices.Clone(l.rungs), l.audio) {
		tol := l.frameDuration()
		if r == l.audio {
			// A segment starts on the AAC frame at or after its boundary,
			// and segment 0 also holds the encoder's priming frame.
			tol = 2 * aacFrame
		}
		segs := r.playlist.Segments
		for i, s := range segs[:len(segs)-1] {
			want := l.tc.segment.Seconds()
			if i == 0 {
				want = l.tc.firstSegment.Seconds()
			}
			if !near(s.Duration, want, tol) {
				t.Errorf("%s segment %d EXTINF = %.6f, want %.3f", r.name, i, s.Duration, want)
			}
		}
		if got, want := r.playlist.TargetDuration, int(l.tc.segment.Seconds()); got != want {
			t.Errorf("%s EXT-X-TARGETDURATION = %d, want %d", r.name, got, want)
		}
	}
}

// checkAudioSegmentsAligned: the audio has a segment for every video
// segment, each starting where the video's does, within the larger of a
// frame and an AAC frame (an AAC frame never starts exactly on a boundary).
func (l *ladder) checkAudioSegmentsAligned(t *testing.T) {
	ref := l.rungs[0]
	if len(l.audio.segs) != len(ref.segs) {
		t.Fatalf("audio has %d segments, %s has %d; want the same", len(l.audio.segs), ref.name, len(ref.segs))
	}
	tol := max(l.frameDuration(), aacFrame)
	for i, seg := range l.audio.segs {
		a, v := slices.Min(sortedPTS(seg.audio)), ref.segs[i].start()
		if math.Abs(a-v) > tol {
			t.Errorf("audio segment %d (%s) starts at %.6f s, %s's at %.6f s; want within %.4f s", i, seg.uri, a, ref.name, v, tol)
		}
	}
}
