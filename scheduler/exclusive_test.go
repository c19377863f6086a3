package scheduler

import (
	"errors"
	"testing"
)

// A live job owns its output prefix: a submission that asks for an
// exclusive output is refused when it equals, lies inside or contains a live
// job's, and admitted again once that job finished (also after a restore).
func TestExclusiveOutput(t *testing.T) {
	h := newHarness(t)
	submit := func(id, output string, exclusive bool) SubmitJob {
		return SubmitJob{ID: id, Source: "up/" + id, SourceInput: "up/" + id, Output: output, ExclusiveOutput: exclusive, Now: h.now()}
	}
	h.ok(submit("j1", "videos/a/hls", true))
	for _, output := range []string{"videos/a/hls", "videos/a/hls/720p", "videos/a", "videos"} {
		h.fails(submit("x"+output, output, true), ErrOutputTaken)
	}
	h.ok(submit("j2", "videos/a/hlsx", true)) // a sibling that shares a string prefix only
	// Entries written before exclusivity existed are applied as they were.
	h.ok(submit("old", "videos/a/hls", false))

	replica := restored(t, snapshotBytes(t, h.f))
	h.ok(CancelJob{Job: "j1", Now: h.now()})
	h.fails(submit("j3", "videos/a/hls", true), ErrOutputTaken) // "old" still holds it
	h.ok(CancelJob{Job: "old", Now: h.now()})
	h.ok(submit("j3", "videos/a/hls", true))

	// The restored replica rebuilt the index from its jobs.
	data, err := Encode(CmdSubmitJob, submit("j4", "videos/a/hls/x", true))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := replica.Apply(1000, data).(error); !errors.Is(res, ErrOutputTaken) {
		t.Errorf("a restored replica answered %v to an output inside a live job's", res)
	}
}
