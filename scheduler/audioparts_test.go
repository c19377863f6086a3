package scheduler

import (
	"encoding/json"
	"testing"

	"github.com/sunomi/sunomi/media"
)

// headEnd is where the first chunk of the audio tests' heads ends, and
// headAudioEnd the AAC frame boundary after it, where the audio parts join.
const (
	headEnd      = 2.0
	headAudioEnd = 94 * 1024.0 / 48000
)

// audioPart is an audio task of job: index 0 for the head's part (or the
// whole track), 1 for the rest, with spec.
func audioPart(tb testing.TB, job string, index int, spec media.AudioSpec) NewTask {
	id := job + "-audio"
	if index == media.AudioPartRest {
		id += "-rest"
	}
	return NewTask{ID: id, Kind: KindAudio, Index: index, Spec: mustJSON(tb, spec),
		Inputs: map[string]string{"audio": "jobs/" + job + "/audio"}, MediaSeconds: spec.Duration - spec.From}
}

// headWithAudio is a head of job whose chunk 0 ends at headEnd, with the
// audio up to there.
func headWithAudio(tb testing.TB, job string, n int) SplitHead {
	c := head(job, n)
	c.NewTasks[0].Spec = mustJSON(tb, media.EncodeSpec{Chunk: media.ChunkSpec{Chunk: media.Chunk{End: headEnd}}})
	c.NewTasks = append(c.NewTasks, audioPart(tb, job, media.AudioPartHead, media.AudioSpec{Duration: headAudioEnd}))
	return c
}

// restWithAudio is the Complete after headWithAudio: chunks 1..2 and the
// rest of the audio.
func restWithAudio(tb testing.TB, job string, n int) Complete {
	c := rest(job, n, 3)
	c.NewTasks[len(c.NewTasks)-1] = audioPart(tb, job, media.AudioPartRest,
		media.AudioSpec{Part: media.AudioPartRest, From: headAudioEnd, Duration: 24})
	return c
}

func audioResult(tb testing.TB, segs ...media.AudioSegment) json.RawMessage {
	return mustJSON(tb, media.AudioResult{Codec: "mp4a.40.2", Segments: segs,
		Speech: &media.SpeechTrack{File: "audio/" + segs[0].File + ".wav"}})
}

// TestSplitHeadAudio: the head adds the audio up to the first chunk's end,
// whose result Results reports before the rest of the audio exists; the
// split's Complete adds the rest, and Results then reports both parts'
// segments in order, the rest's speech track, and the job stitches once
// both are done.
func TestSplitHeadAudio(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.lease1("a1", "j1-split")
	c := headWithAudio(t, "j1", n)
	c.Now = h.now()
	h.ok(c)

	a := h.lease1("a2", "j1-audio")
	head := media.AudioSegment{Index: 0, File: "audio/a1_00000.ts", Start: 0, Duration: headAudioEnd}
	h.ok(Complete{Task: "j1-audio", Attempt: a, Result: audioResult(t, head), Now: h.now()})
	_, _, audio, _ := h.f.Results("j1")
	var got media.AudioResult
	if err := json.Unmarshal(audio, &got); err != nil || len(got.Segments) != 1 || got.Segments[0] != head {
		t.Fatalf("Results' audio with the head's part done = %s (%v), want the head's segment", audio, err)
	}

	rc := restWithAudio(t, "j1", n)
	rc.Now = h.now()
	h.ok(rc)
	for _, id := range []string{"j1-encode-0", "j1-encode-1", "j1-encode-2"} {
		h.complete(id, h.lease1("a2", id))
	}
	if j := h.job("j1"); j.State != JobEncoding {
		t.Fatalf("job is %s with the rest of the audio pending, want encoding", j.State)
	}
	a = h.lease1("a2", "j1-audio-rest")
	tail := media.AudioSegment{Index: 1, File: "audio/p1_a1_00001.ts", Start: headAudioEnd, Duration: 24 - headAudioEnd}
	h.ok(Complete{Task: "j1-audio-rest", Attempt: a, Result: audioResult(t, tail), Now: h.now()})
	_, _, audio, _ = h.f.Results("j1")
	got = media.AudioResult{}
	if err := json.Unmarshal(audio, &got); err != nil || len(got.Segments) != 2 || got.Segments[0] != head || got.Segments[1] != tail ||
		got.Speech == nil || got.Speech.File != "audio/"+tail.File+".wav" {
		t.Fatalf("Results' audio with both parts done = %s (%v), want the head's segment, the rest's and its speech track", audio, err)
	}
	if j := h.job("j1"); j.State != JobStitching {
		t.Fatalf("job is %s after every task, want stitching", j.State)
	}
	if st := h.f.s.Tasks["j1-stitch"]; st.MediaSeconds != 24 {
		t.Errorf("stitch counts %.3f media seconds, want the video's 24", st.MediaSeconds)
	}
}

// TestSplitHeadAudioRefused: a head carries at most one audio task, only
// for the audio up to its first chunk's end; its split's Complete then adds
// exactly the rest, from where the head's part ends.
func TestSplitHeadAudioRefused(t *testing.T) {
	setup := func(t *testing.T) (*harness, int) {
		h := newHarness(t)
		h.agent("a1", "a2")
		h.submit("j1", 0)
		return h, h.lease1("a1", "j1-split")
	}
	heads := []struct {
		name  string
		audio func(c *SplitHead)
	}{
		{"two audio tasks", func(c *SplitHead) {
			second := c.NewTasks[1]
			second.ID = "j1-audio-2"
			c.NewTasks = append(c.NewTasks, second)
		}},
		{"the whole track", func(c *SplitHead) {
			c.NewTasks[1] = audioPart(t, "j1", 0, media.AudioSpec{Duration: 24})
		}},
		{"ending before the first chunk", func(c *SplitHead) {
			c.NewTasks[1] = audioPart(t, "j1", 0, media.AudioSpec{Duration: 1})
		}},
		{"the rest's part", func(c *SplitHead) {
			c.NewTasks[1] = audioPart(t, "j1", media.AudioPartRest, media.AudioSpec{Part: media.AudioPartRest, From: headAudioEnd, Duration: 24})
		}},
		{"starting later", func(c *SplitHead) {
			c.NewTasks[1] = audioPart(t, "j1", 0, media.AudioSpec{From: 1, Duration: headAudioEnd})
		}},
	}
	for _, tt := range heads {
		t.Run("a head with "+tt.name, func(t *testing.T) {
			h, n := setup(t)
			c := headWithAudio(t, "j1", n)
			tt.audio(&c)
			c.Now = h.now()
			h.unchanged(c, ErrInvalidInput)
		})
	}
	rests := []struct {
		name  string
		audio func(c *Complete)
	}{
		{"no rest of the audio", func(c *Complete) { c.NewTasks = c.NewTasks[:len(c.NewTasks)-1] }},
		{"the whole track again", func(c *Complete) {
			c.NewTasks[len(c.NewTasks)-1] = audioPart(t, "j1", media.AudioPartRest, media.AudioSpec{Duration: 24})
		}},
		{"a rest that overlaps the head's", func(c *Complete) {
			c.NewTasks[len(c.NewTasks)-1] = audioPart(t, "j1", media.AudioPartRest,
				media.AudioSpec{Part: media.AudioPartRest, From: 1, Duration: 24})
		}},
		{"a rest numbered as the head's", func(c *Complete) { c.NewTasks[len(c.NewTasks)-1].Index = 0 }},
		{"two rests", func(c *Complete) {
			second := c.NewTasks[len(c.NewTasks)-1]
			second.ID = "j1-audio-rest-2"
			c.NewTasks = append(c.NewTasks, second)
		}},
	}
	for _, tt := range rests {
		t.Run("a complete with "+tt.name, func(t *testing.T) {
			h, n := setup(t)
			hc := headWithAudio(t, "j1", n)
			hc.Now = h.now()
			h.ok(hc)
			c := restWithAudio(t, "j1", n)
			tt.audio(&c)
			c.Now = h.now()
			h.unchanged(c, ErrInvalidInput)
		})
	}
}
