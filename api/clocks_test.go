package api

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// publicClock reads the API's public series of the time to playable: how many videos it
// observed, and their seconds summed.
func publicClock(t *testing.T, e *env) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	if err := e.srv.metrics.timeToPlayable.WithLabelValues(wire.AudiencePublic).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestPublicClockObservedOnce: the public clock of a video is observed once, when the last of
// its two conditions comes true — the farm made it playable, its first chunk was screened —
// whichever comes last, and not again when it is published.
func TestPublicClockObservedOnce(t *testing.T) {
	e, _ := newClassifierEnv(t, false)
	owner := e.user("owner")
	for _, tc := range []struct {
		name           string
		screenedFirst  bool
		wantFromSubmit time.Duration
	}{
		{"playable, then screened", false, 3 * time.Second},
		{"screened, then playable", true, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := e.jobEndedVideo(owner, tc.name, growingLadder)
			before, sumBefore := publicClock(t, e)
			job := encodingJob(id, 1)
			job.Created = time.Now().Add(-tc.wantFromSubmit)
			playable := job.PlayableAt
			if tc.screenedFirst {
				job.PlayableAt = nil
				e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 1, frameHashes[:2]))
			}
			if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
				t.Fatal(err)
			}
			if n, _ := publicClock(t, e); n != before {
				t.Fatalf("public clock observed %d times after one condition, want none", n-before)
			}
			if tc.screenedFirst {
				job.PlayableAt = playable
			} else {
				e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 1, frameHashes[:2]))
			}
			for range 2 { // the same report again changes nothing
				if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
					t.Fatal(err)
				}
			}
			n, sum := publicClock(t, e)
			if n != before+1 {
				t.Fatalf("public clock observed %d times once public, want 1", n-before)
			}
			v := e.video(id)
			if v.PublicPlayableAt() == nil {
				t.Fatal("the video has no public moment")
			}
			// Within a millisecond: the histogram's sum is a float64 running total.
			if got, want := sum-sumBefore, v.PublicPlayableAt().Sub(job.Created).Seconds(); math.Abs(got-want) > 1e-3 || got < tc.wantFromSubmit.Seconds() {
				t.Errorf("observed %g s, want %g (public moment less submission)", got, want)
			}
			job.State = scheduler.JobDone
			if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
				t.Fatal(err)
			}
			if n, _ := publicClock(t, e); n != before+1 {
				t.Errorf("public clock observed again at publication: %d times, want 1", n-before)
			}
		})
	}
}

// TestPublicClockAtPublication: a video nobody could watch before its job ended (not
// screened while it transcoded) becomes public when it is published, and is observed then.
func TestPublicClockAtPublication(t *testing.T) {
	e, _ := newClassifierEnv(t, false)
	owner := e.user("owner")
	id := e.jobEndedVideo(owner, "Published at the end", nil)
	before, _ := publicClock(t, e)
	job := wire.Job{ID: "job-" + id, State: scheduler.JobDone, Created: time.Now().Add(-5 * time.Second)}
	if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
		t.Fatal(err)
	}
	if n, sum := publicClock(t, e); n != before+1 || sum < 5 {
		t.Errorf("public clock: %d observations, %g s; want one of at least 5 s", n-before, sum)
	}
}

// TestOpsJobsShowBothClocks: the operations view gives a job of a video both moments, the
// owner's from the farm and the public one from the video's row.
func TestOpsJobsShowBothClocks(t *testing.T) {
	e, _ := newClassifierEnv(t, false)
	owner := e.user("owner")
	id := e.jobEndedVideo(owner, "Ops clocks", growingLadder)
	e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 1, frameHashes[:2]))
	job := encodingJob(id, 1)
	job.Output = layout.HLS(id)
	if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
		t.Fatal(err)
	}
	other := wire.Job{ID: "job-elsewhere", State: scheduler.JobEncoding, Output: "exports/x/hls"}
	st := farmStatus(wire.Cluster{}, nil, []wire.Job{job, other}, time.Now())
	if err := e.srv.withPublicClocks(t.Context(), st.Jobs.Recent); err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, j := range st.Jobs.Recent {
		byID[j.Id] = i
	}
	got, want := st.Jobs.Recent[byID[job.ID]], e.video(id).PublicPlayableAt()
	if got.PlayableAt == nil || !got.PlayableAt.Equal(*job.PlayableAt) || got.PublicPlayableAt == nil || !got.PublicPlayableAt.Equal(*want) {
		t.Errorf("job of the video: playableAt %v, publicPlayableAt %v; want %v and %v", got.PlayableAt, got.PublicPlayableAt, job.PlayableAt, want)
	}
	if o := st.Jobs.Recent[byID[other.ID]]; o.PlayableAt != nil || o.PublicPlayableAt != nil {
		t.Errorf("job of no video has clocks %v, %v", o.PlayableAt, o.PublicPlayableAt)
	}
}
