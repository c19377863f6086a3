package pipeline_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
)

// TestSplitWithHeadAudio: the head extracts the audio up to its first
// chunk's end, in time for the head's audio part to be encoded before the
// split has read on, and the split's result is the rest of the track. The
// head's part then the rest's, read through libav's HLS demuxer as one
// rendition, are the packets of the track encoded in one task: timestamps
// continuous across the join, the same total duration; in fMP4, with the
// head's init segment.
func TestSplitWithHeadAudio(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, testmedia.AudioLags(20))
	for _, format := range []media.SegmentFormat{media.SegmentsTS, media.SegmentsFMP4} {
		t.Run(string(format), func(t *testing.T) {
			opts := media.Options{Segment: 2 * time.Second, Chunk: 6 * time.Second, FirstChunk: 2 * time.Second, Segments: format}
			whole, err := pipeline.Split(context.Background(), src, t.TempDir(), "", opts)
			if err != nil {
				t.Fatal(err)
			}
			oneDir := t.TempDir()
			one := *whole.Audio
			one.OutDir = oneDir
			oneRes, err := encoder.EncodeAudio(context.Background(), one)
			if err != nil {
				t.Fatalf("one task: %v", err)
			}

			out := t.TempDir()
			var headAudio *media.AudioResult
			var headSpec media.AudioSpec
			rest, err := pipeline.SplitWithHead(context.Background(), src, t.TempDir(), out, opts, func(h *media.SplitResult) error {
				if h.Audio == nil || h.Audio.Source == "" {
					t.Fatalf("the head has no audio to encode: %+v", h.Audio)
				}
				headSpec = *h.Audio
				// Encoded now, from what the head extracted: the split reads on
				// only after this returns.
				var err error
				headAudio, err = encoder.EncodeAudio(context.Background(), headSpec)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := media.AudioPartBoundary(whole.Chunks[0].Chunk.End); headSpec.Part != media.AudioPartHead || headSpec.Duration != want {
				t.Errorf("head's audio: part %d up to %.6f s, want part %d up to %.6f s (the AAC frame at or after chunk 0's end %.6f s)",
					headSpec.Part, headSpec.Duration, media.AudioPartHead, want, whole.Chunks[0].Chunk.End)
			}
			if math.Abs(headSpec.Origin-one.Origin) > 1e-9 {
				t.Errorf("head's audio origin %.6f s, the whole track's %.6f s", headSpec.Origin, one.Origin)
			}
			if rest.Audio.Part != media.AudioPartRest || rest.Audio.From != headSpec.Duration || rest.Audio.Source != filepath.Join(filepath.Dir(rest.Audio.Source), "audio.nut") {
				t.Fatalf("split's audio after a head: %+v, want the rest of the track from %.6f s", rest.Audio, headSpec.Duration)
			}
			restRes, err := encoder.EncodeAudio(context.Background(), *rest.Audio)
			if err != nil {
				t.Fatalf("rest: %v", err)
			}
			last := headAudio.Segments[len(headAudio.Segments)-1]
			if end := last.Start + last.Duration; math.Abs(end-headSpec.Duration) > 1e-9 {
				t.Errorf("the head's audio ends at %.6f s, want %.6f s: the head extracted too little audio", end, headSpec.Duration)
			}
			merged := media.MergeAudioParts([]*media.AudioResult{headAudio, restRes})
			if len(merged.Segments) != len(oneRes.Segments) {
				t.Errorf("%d segments in two parts, %d in one task", len(merged.Segments), len(oneRes.Segments))
			}
			got, want := testmedia.HLSAudioPTS(t, out, merged), testmedia.HLSAudioPTS(t, oneDir, oneRes)
			if len(got) != len(want) {
				t.Fatalf("%d packets in two parts, %d in one task: %.6f s apart, want within one AAC frame",
					len(got), len(want), float64(len(got)-len(want))*aacFrame)
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-4 {
					t.Fatalf("packet %d at %.6f s in two parts, %.6f s in one task", i, got[i], want[i])
				}
			}
			if merged.Speech == nil || merged.Speech.Duration != oneRes.Speech.Duration {
				t.Errorf("speech track of the two parts %+v, want the whole track's %+v", merged.Speech, oneRes.Speech)
			}
			if _, err := os.Stat(filepath.Join(out, merged.Speech.File)); err != nil {
				t.Error(err)
			}
			checkAudioParts(t, out, rest, headAudio, merged, want, oneRes)
		})
	}
}

// checkAudioParts cuts the rest of the track (rest.Audio) into parts on the
// chunks' ends, as the farm does (media.AudioParts; about 5 s each here, so
// that the 20 s track has three, one ending on the AAC frame grid and one
// off it), encodes them in outDir beside the head's part (headAudio), and
// compares them with the rest encoded as one task (merged: the head's and
// the rest's segments) and with the whole track in one task (want: its
// packets through libav's HLS demuxer, oneRes): the same segments, each
// within an AAC frame, the one task's packets, so no gap and no overlap at
// any join, and the whole track's speech track from the last part alone.
func checkAudioParts(t *testing.T, outDir string, rest *media.SplitResult, headAudio, merged *media.AudioResult, want []float64, oneRes *media.AudioResult) {
	t.Helper()
	var ends []float64
	for _, c := range rest.Chunks {
		ends = append(ends, c.Chunk.End)
	}
	parts := media.AudioParts(*rest.Audio, ends, 5)
	if len(parts) != 3 {
		t.Fatalf("the rest is cut into %d parts, want 3: %+v", len(parts), parts)
	}
	results := []*media.AudioResult{headAudio}
	for _, p := range parts {
		r, err := encoder.EncodeAudio(context.Background(), p)
		if err != nil {
			t.Fatalf("part %d: %v", p.Part, err)
		}
		if (r.Speech == nil) != p.NoSpeech {
			t.Errorf("part %d: speech track %+v, want one only from the last part", p.Part, r.Speech)
		}
		results = append(results, r)
	}
	byParts := media.MergeAudioParts(results)
	if len(byParts.Segments) != len(merged.Segments) {
		t.Fatalf("%d segments in %d parts, %d with the rest as one task", len(byParts.Segments), len(parts), len(merged.Segments))
	}
	for i, s := range byParts.Segments {
		m := merged.Segments[i]
		if s.Index != m.Index || math.Abs(s.Start-m.Start) >= aacFrame || math.Abs(s.Start+s.Duration-m.Start-m.Duration) >= aacFrame {
			t.Errorf("segment %d in parts: #%d [%.6f s, %.6f s), with the rest as one task #%d [%.6f s, %.6f s)",
				i, s.Index, s.Start, s.Start+s.Duration, m.Index, m.Start, m.Start+m.Duration)
		}
	}
	got := testmedia.HLSAudioPTS(t, outDir, byParts)
	if len(got) != len(want) {
		t.Fatalf("%d packets in %d parts, %d in one task: %.6f s apart, want within one AAC frame",
			len(got), len(parts), len(want), float64(len(got)-len(want))*aacFrame)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-4 {
			t.Fatalf("packet %d at %.6f s in %d parts, %.6f s in one task", i, got[i], len(parts), want[i])
		}
	}
	if byParts.Speech == nil || byParts.Speech.Duration != oneRes.Speech.Duration {
		t.Errorf("speech track of the parts %+v, want the whole track's %+v", byParts.Speech, oneRes.Speech)
	}
}
