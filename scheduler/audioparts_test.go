package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"
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

// headAudioHarness is a harness with agents a1 and a2 where job j1's split
// (attempt n, on a1) reported headWithAudio.
func headAudioHarness(t *testing.T) (h *harness, n int) {
	t.Helper()
	h = newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n = h.lease1("a1", "j1-split")
	c := headWithAudio(t, "j1", n)
	c.Now = h.now()
	h.ok(c)
	return h, n
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
// both are done. The rest is one task, "<job>-audio-rest", as the code
// before the rest had parts planned it: such a job, restored from a
// snapshot, still finishes.
func TestSplitHeadAudio(t *testing.T) {
	h, n := headAudioHarness(t)
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
	h.f = restored(t, snapshotBytes(t, h.f))
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
		{"another job's audio id", func(c *SplitHead) { c.NewTasks[1].ID = "j2-audio" }},
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
			h, n := headAudioHarness(t)
			c := restWithAudio(t, "j1", n)
			tt.audio(&c)
			c.Now = h.now()
			h.unchanged(c, ErrInvalidInput)
		})
	}
}

// restEnds are where chunks 0..4 of the audio-parts tests end: chunk 0 the
// head's, and the video's end.
var restEnds = []float64{headEnd, 6, 10, 14, 18}

// restWithParts is the Complete after headWithAudio that adds chunks
// 1..4 (ending at restEnds) and the rest of the audio as the parts
// media.AudioParts cuts it into, about four seconds each.
func restWithParts(tb testing.TB, job string, n int) (Complete, []media.AudioSpec) {
	tb.Helper()
	c := rest(job, n, len(restEnds))
	for i := range c.NewTasks[:len(c.NewTasks)-1] {
		nt := &c.NewTasks[i]
		nt.Spec = mustJSON(tb, media.EncodeSpec{Chunk: media.ChunkSpec{Chunk: media.Chunk{Index: nt.Index, End: restEnds[nt.Index]}}})
	}
	specs := media.AudioParts(media.AudioSpec{Part: media.AudioPartRest, From: headAudioEnd, Duration: 18}, restEnds, 4)
	if len(specs) < 3 {
		tb.Fatalf("the rest is cut into %d parts, want at least 3: %+v", len(specs), specs)
	}
	c.NewTasks = c.NewTasks[:len(c.NewTasks)-1]
	for _, spec := range specs {
		c.NewTasks = append(c.NewTasks, NewTask{ID: AudioTaskID(job, spec.Part), Kind: KindAudio, Index: spec.Part,
			Spec: mustJSON(tb, spec), Inputs: map[string]string{"audio": "jobs/" + job + "/audio"}, MediaSeconds: 1})
	}
	return c, specs
}

// partSegment is the one segment an audio part's result holds in these
// tests: the part's range.
func partSegment(spec media.AudioSpec) media.AudioSegment {
	return media.AudioSegment{Index: spec.Part + 1, File: "audio/" + media.AudioPrefix(spec.Part, 1) + "00000.ts",
		Start: spec.From, Duration: spec.Duration - spec.From}
}

// TestSplitAudioParts: the split's Complete adds the rest of the audio as
// parts 1..N, which are leased before the encodes like the head's audio;
// Results reports the audio of the parts done in order (a later part done
// first waits for the one before it), and the job stitches once every part
// is done.
func TestSplitAudioParts(t *testing.T) {
	h, n := headAudioHarness(t)
	head := media.AudioSegment{Index: 0, File: "audio/a1_00000.ts", Start: 0, Duration: headAudioEnd}
	h.ok(Complete{Task: "j1-audio", Attempt: h.lease1("a2", "j1-audio"), Result: audioResult(t, head), Now: h.now()})

	c, specs := restWithParts(t, "j1", n)
	c.Now = h.now()
	h.ok(c)
	l := h.findLease("a2", len(specs))
	var want []string
	for _, s := range specs {
		want = append(want, AudioTaskID("j1", s.Part))
	}
	if !slices.Equal(l.Tasks, want) {
		t.Fatalf("FindWork with %d free slots: %v, want the audio parts %v first", len(specs), l.Tasks, want)
	}
	attempts := map[string]int{}
	for _, a := range h.ok(l).(LeaseResult).Granted {
		attempts[a.Task] = a.Attempt
	}
	segments := func() []media.AudioSegment {
		_, _, audio, _ := h.f.Results("j1")
		var got media.AudioResult
		if err := json.Unmarshal(audio, &got); err != nil {
			t.Fatalf("Results' audio %s: %v", audio, err)
		}
		return got.Segments
	}
	completePart := func(spec media.AudioSpec) {
		id := AudioTaskID("j1", spec.Part)
		h.ok(Complete{Task: id, Attempt: attempts[id], Result: audioResult(t, partSegment(spec)), Now: h.now()})
	}
	completePart(specs[1])
	if got := segments(); !slices.Equal(got, []media.AudioSegment{head}) {
		t.Errorf("Results' audio with part 2 done before part 1 = %+v, want the head's segment only", got)
	}
	completePart(specs[0])
	if got, want := segments(), []media.AudioSegment{head, partSegment(specs[0]), partSegment(specs[1])}; !slices.Equal(got, want) {
		t.Errorf("Results' audio with parts 1 and 2 done = %+v, want %+v", got, want)
	}
	for i := range restEnds {
		task := fmt.Sprintf("j1-encode-%d", i)
		h.complete(task, h.lease1("a1", task))
	}
	for _, s := range specs[2:] {
		if j := h.job("j1"); j.State != JobEncoding {
			t.Fatalf("job is %s with audio part %d pending, want encoding", j.State, s.Part)
		}
		completePart(s)
	}
	if got := segments(); len(got) != len(specs)+1 || got[len(got)-1] != partSegment(specs[len(specs)-1]) {
		t.Errorf("Results' audio with every part done = %+v, want the head's segment and every part's", got)
	}
	if j := h.job("j1"); j.State != JobStitching {
		t.Fatalf("job is %s after every task, want stitching", j.State)
	}
}

// TestSplitAudioPartsRefused: a split cannot report parts of the rest of
// the audio that overlap, leave a gap, come out of order, repeat a part,
// take another job's ids, end off the chunks' ends, or number their
// segments or write their speech track otherwise than the plan says.
func TestSplitAudioPartsRefused(t *testing.T) {
	// part is the index in the Complete's NewTasks of audio part k.
	part := func(c *Complete, k int) *NewTask {
		for i := range c.NewTasks {
			if nt := &c.NewTasks[i]; nt.Kind == KindAudio && nt.Index == k {
				return nt
			}
		}
		t.Fatalf("no audio part %d in %+v", k, c.NewTasks)
		return nil
	}
	respec := func(t *testing.T, nt *NewTask, edit func(*media.AudioSpec)) {
		var spec media.AudioSpec
		if err := json.Unmarshal(nt.Spec, &spec); err != nil {
			t.Fatal(err)
		}
		edit(&spec)
		nt.Spec = mustJSON(t, spec)
	}
	const frame = 1024.0 / 48000
	tests := []struct {
		name string
		edit func(t *testing.T, c *Complete, specs []media.AudioSpec)
	}{
		{"overlapping parts", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, 2), func(s *media.AudioSpec) { s.From -= frame })
		}},
		{"a gap between parts", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, 2), func(s *media.AudioSpec) { s.From += frame })
		}},
		{"parts out of order", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			p1, p2 := part(c, 1), part(c, 2)
			p1.Spec, p2.Spec = p2.Spec, p1.Spec
		}},
		{"a part numbered after its range", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			p1, p2 := part(c, 1), part(c, 2)
			p1.Index, p2.Index = 2, 1
		}},
		{"a part twice", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			twice := *part(c, 2)
			twice.ID = "j1-audio-p2-again"
			c.NewTasks = append(c.NewTasks, twice)
		}},
		{"a part missing", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			p2 := part(c, 2)
			c.NewTasks = slices.DeleteFunc(c.NewTasks, func(nt NewTask) bool { return nt.ID == p2.ID })
		}},
		{"another job's part id", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			part(c, 2).ID = AudioTaskID("j2", 2)
		}},
		{"the legacy rest id among parts", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			part(c, 1).ID = "j1-audio-rest"
		}},
		{"a part ending off the chunks' ends", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, 1), func(s *media.AudioSpec) { s.Duration -= frame })
			respec(t, part(c, 2), func(s *media.AudioSpec) { s.From -= frame })
		}},
		{"a part whose spec names another part", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, 2), func(s *media.AudioSpec) { s.Part = 3 })
		}},
		{"a part numbering its segments after another head", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, 2), func(s *media.AudioSpec) { s.HeadEnd = 0 })
		}},
		{"a middle part writing the speech track", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, 2), func(s *media.AudioSpec) { s.NoSpeech = false })
		}},
		{"the last part writing no speech track", func(t *testing.T, c *Complete, specs []media.AudioSpec) {
			respec(t, part(c, len(specs)), func(s *media.AudioSpec) { s.NoSpeech = true })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n := headAudioHarness(t)
			c, specs := restWithParts(t, "j1", n)
			tt.edit(t, &c, specs)
			c.Now = h.now()
			h.unchanged(c, ErrInvalidInput)
		})
	}
}
