package farmbench

import (
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

func TestLengths(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		want      []int
	}{
		{"default", "", []int{30, 120}},
		{"seconds", "30,1200", []int{30, 1200}},
		{"durations", "30s, 2m,20m", []int{30, 120, 1200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(LengthsEnv, tc.env)
			if got := Lengths(t, []int{30, 120}); !slices.Equal(got, tc.want) {
				t.Errorf("Lengths with %s=%q = %v, want %v", LengthsEnv, tc.env, got, tc.want)
			}
		})
	}
}

func TestFullRuns(t *testing.T) {
	for _, tc := range []struct {
		name, env     string
		seconds, want int
	}{
		{"short source: every run", "", 120, 5},
		{"long source: the first", "", 1200, 1},
		{"set", "2", 1200, 2},
		{"at most the runs", "9", 30, 5},
		{"none: time to playable only", "0", 1200, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(FullRunsEnv, tc.env)
			if got := FullRuns(t, tc.seconds, 5); got != tc.want {
				t.Errorf("FullRuns(%d s, 5 runs) with %s=%q = %d, want %d", tc.seconds, FullRunsEnv, tc.env, got, tc.want)
			}
		})
	}
}

// TestTimeline: a job's moments come in time order, relative to its
// submission, with chunk 0's encodes each on a line and the later chunks
// summed up.
func TestTimeline(t *testing.T) {
	created := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return created.Add(time.Duration(s * float64(time.Second))) }
	playable := at(9)
	j := wire.Job{ID: "j1", State: scheduler.JobDone, Created: created, Updated: at(40), PlayableAt: &playable, Tasks: []wire.Task{
		{ID: "j1-split", Kind: scheduler.KindSplit, Attempts: []wire.Attempt{{N: 1, Agent: "a1", State: scheduler.StateDone, Started: at(0.1), Running: at(1), Finished: at(2)}}},
		{ID: "j1-e00001", Kind: scheduler.KindEncode, Index: 1, Attempts: []wire.Attempt{{N: 1, Agent: "a2", State: scheduler.StateDone, Started: at(2.2), Finished: at(30)}}},
		{ID: "j1-e00000", Kind: scheduler.KindEncode, Attempts: []wire.Attempt{
			{N: 1, Agent: "a1", State: scheduler.StateFailed, Error: "boom", Started: at(2.1), Finished: at(3)},
			{N: 2, Agent: "a2", State: scheduler.StateDone, Started: at(3.1), Finished: at(8.9)}}},
	}}
	var got []string
	for _, e := range Timeline(j) {
		got = append(got, e.At.String()+" "+e.What)
	}
	want := []string{
		"0s job submitted (created)",
		"100ms split leased by a1 (attempt 1)",
		"1s split running: inputs downloaded, task process started",
		"2s split done",
		"2.1s encode chunk 0 [e00000] leased by a1 (attempt 1)",
		"2.2s first encode of chunks 1–1 leased by a2",
		"3s encode chunk 0 [e00000] failed: boom",
		"3.1s encode chunk 0 [e00000] leased by a2 (attempt 2)",
		"8.9s encode chunk 0 [e00000] done",
		"9s PLAYABLE for the owner (playableAt)",
		"30s last encode of chunks 1–1 done",
		"40s job done",
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline:\n%q\nwant\n%q", got, want)
	}
}

func TestPlayable(t *testing.T) {
	created := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	stamped := created.Add(3 * time.Second)
	for _, tc := range []struct {
		name   string
		job    wire.Job
		want   time.Time
		wantOK bool
	}{
		{"stamped", wire.Job{State: scheduler.JobEncoding, PlayableAt: &stamped}, stamped, true},
		{"encoding, not yet", wire.Job{State: scheduler.JobEncoding}, time.Time{}, false},
		{"done without a stamp: at its end", wire.Job{State: scheduler.JobDone, Updated: created.Add(time.Minute)}, created.Add(time.Minute), true},
		{"canceled before", wire.Job{State: scheduler.JobCanceled, Updated: created.Add(time.Minute)}, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := Playable(tc.job); !got.Equal(tc.want) || ok != tc.wantOK {
				t.Errorf("Playable = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
