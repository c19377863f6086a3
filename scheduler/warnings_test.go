package scheduler

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestJobWarningsFromStitchResult checks that a job's view carries the warnings of its stitch
// result once the stitch is done, and none before or without them.
func TestJobWarningsFromStitchResult(t *testing.T) {
	tests := []struct {
		name   string
		result string
		want   []string
	}{
		{"warnings", `{"master":"master.m3u8","warnings":["chunk 0: 1 frame could not be decoded (at 0.000 s)"]}`,
			[]string{"chunk 0: 1 frame could not be decoded (at 0.000 s)"}},
		{"none", `{"master":"master.m3u8"}`, nil},
		{"not an object", `"done"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.agent("a1")
			h.submit("j1", 0)
			h.split("j1", "a1", 1)
			for _, task := range []string{"j1-encode-0", "j1-audio"} {
				h.complete(task, h.lease1("a1", task))
			}
			if got := h.job("j1").Warnings; got != nil {
				t.Fatalf("warnings before the stitch = %q, want none", got)
			}
			n := h.lease1("a1", "j1-stitch")
			h.ok(Complete{Task: "j1-stitch", Attempt: n, Result: json.RawMessage(tt.result), Now: h.now()})
			j := h.job("j1")
			if j.State != JobDone || !slices.Equal(j.Warnings, tt.want) {
				t.Errorf("job %s with warnings %q, want done with %q", j.State, j.Warnings, tt.want)
			}
			if got := h.f.Jobs(); len(got) != 1 || !slices.Equal(got[0].Warnings, tt.want) {
				t.Errorf("Jobs() = %+v, want the one job with warnings %q", got, tt.want)
			}
		})
	}
}
