package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// submitLog is a farm that makes a job of every submission and notes its options, by the
// video's idempotency key; it cannot add AV1 rungs to a finished ladder.
type submitLog struct {
	Farm
	mu      sync.Mutex
	options map[string]wire.JobOptions
}

func newSubmitLog(f Farm) *submitLog {
	return &submitLog{Farm: f, options: map[string]wire.JobOptions{}}
}

func (l *submitLog) SubmitJob(_ context.Context, key string, req wire.SubmitJob) (wire.Job, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.options[key] = req.Options
	return wire.Job{ID: "job-" + key, State: scheduler.JobQueued, Source: req.Source, Output: req.Output}, nil
}

func (l *submitLog) of(videoID string) (wire.JobOptions, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.options[videoID]
	return o, ok
}

// av1Farm is a submitLog that adds AV1 rungs to finished jobs, and notes every request.
type av1Farm struct {
	*submitLog
	mu       sync.Mutex
	requests []string // job ids
}

func (f *av1Farm) AddAV1(_ context.Context, jobID string) (wire.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, jobID)
	return wire.Job{ID: jobID + "-av1", Parent: jobID, State: scheduler.JobQueued}, nil
}

func (f *av1Farm) requested() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// av1Row is what a video records of its job's segments and its AV1 request.
type av1Row struct {
	segments         string
	requested, sent  bool
	requestedAtEpoch float64
}

func (e *env) av1Row(id string) av1Row {
	e.t.Helper()
	var r av1Row
	err := e.db.Pool().QueryRow(context.Background(), `
		SELECT segments, av1_requested_at IS NOT NULL, av1_sent_at IS NOT NULL, coalesce(extract(epoch FROM av1_requested_at), 0)
		FROM videos WHERE id = $1`, id).Scan(&r.segments, &r.requested, &r.sent, &r.requestedAtEpoch)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// TestAV1AtSubmission: the policy "all" asks the farm for AV1 rungs in the job of every new
// fMP4 video; a TS video, "popular" and "off" never do at submission. The video records its
// job's segments, and "all" records its AV1 request as made and sent.
func TestAV1AtSubmission(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   media.AV1Policy
		segments media.SegmentFormat
		wantAV1  string
		want     av1Row
	}{
		{"all, fMP4", media.AV1All, media.SegmentsFMP4, "all", av1Row{segments: "fmp4", requested: true, sent: true}},
		{"all, the farm's default segments", media.AV1All, "", "all", av1Row{segments: "fmp4", requested: true, sent: true}},
		{"all, TS", media.AV1All, media.SegmentsTS, "", av1Row{segments: "ts"}},
		{"popular", AV1Popular, media.SegmentsFMP4, "", av1Row{segments: "fmp4"}},
		{"off", media.AV1Off, media.SegmentsFMP4, "", av1Row{segments: "fmp4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var farm *submitLog
			e := newEnv(t, withFarmWrapped(func(f Farm) Farm { farm = newSubmitLog(f); return farm }),
				withConfig(func(c *Config) { c.AV1.Policy, c.Segments = tc.policy, tc.segments }))
			owner := e.user("owner")
			id := e.upload(owner.Token, "clip", []byte("source bytes")).VideoId
			e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", owner.Token, nil)
			opts, ok := farm.of(id)
			if !ok {
				t.Fatal("completing the upload submitted no job")
			}
			if opts.AV1 != tc.wantAV1 || opts.Segments != string(tc.segments) {
				t.Errorf("job options %+v, want AV1 %q and segments %q", opts, tc.wantAV1, tc.segments)
			}
			got := e.av1Row(id)
			got.requestedAtEpoch = 0
			if got != tc.want {
				t.Errorf("the video records %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestAV1PopularRequestsOnce: under "popular" a ready fMP4 video's AV1 rungs are asked of the
// farm once, when its views reach the minimum, however many sweeps run on however many
// replicas, and never after a restart; TS videos and videos below the minimum never get them.
func TestAV1PopularRequestsOnce(t *testing.T) {
	var farm *av1Farm
	e := newEnv(t, withFarmWrapped(func(f Farm) Farm { farm = &av1Farm{submitLog: newSubmitLog(f)}; return farm }),
		// Only the sweeps the test runs, on two replicas at once, act.
		withConfig(func(c *Config) { c.AV1 = AV1Config{Policy: AV1Popular, MinViews: 3}; c.SyncInterval = time.Hour }))
	owner := e.user("owner")
	popular := e.publishVideo(owner, "popular", nil)
	ts := e.publishVideo(owner, "popular in TS", nil)
	quiet := e.publishVideo(owner, "quiet", nil)
	if _, err := e.db.Pool().Exec(t.Context(), `UPDATE videos SET segments = 'ts' WHERE id = $1`, ts); err != nil {
		t.Fatal(err)
	}
	replica, err := New(e.replicaConfig())
	if err != nil {
		t.Fatal(err)
	}
	sweepBoth := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*Server{e.srv, replica} {
			wg.Go(func() { errs[i] = s.requestPopularAV1(t.Context()) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	for i, addr := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		e.viewFrom(addr, popular, "", "", nil)
		e.viewFrom(addr, ts, "", "", nil)
		if i < 2 {
			e.viewFrom(addr, quiet, "", "", nil)
		}
		sweepBoth()
		if got, wantRequested := e.av1Row(popular).requested, i == 2; got != wantRequested {
			t.Fatalf("after %d views: AV1 requested %v, want %v", i+1, got, wantRequested)
		}
	}
	first := e.av1Row(popular)
	for range 3 {
		sweepBoth()
	}
	// A restarted API (a new server on the same database) asks nothing again.
	sweep(t, e.replicaConfig(), 1)
	e.wantRequestedOnce(farm, popular, first)
	for _, id := range []string{ts, quiet} {
		if got := e.av1Row(id); got.requested || got.sent {
			t.Errorf("video %s records an AV1 request: %+v", id, got)
		}
	}
}

// TestAV1PopularWhileFarmDown: a request the farm cannot take (it is down) stays recorded,
// not sent, and is sent once when the farm is back, not recorded anew.
func TestAV1PopularWhileFarmDown(t *testing.T) {
	var farm *submitLog
	e := newEnv(t, withFarmWrapped(func(f Farm) Farm { farm = newSubmitLog(f); return farm }),
		withConfig(func(c *Config) { c.AV1 = AV1Config{Policy: AV1Popular, MinViews: 1}; c.SyncInterval = time.Hour }))
	owner := e.user("owner")
	id := e.publishVideo(owner, "popular", nil)
	e.viewFrom("127.0.0.2", id, "", "", nil)

	down, err := New(e.replicaConfig()) // the env's farm client points at no farm
	if err != nil {
		t.Fatal(err)
	}
	if err := down.requestPopularAV1(t.Context()); !errors.Is(err, client.ErrNoCoordinator) {
		t.Fatalf("sweep with the farm down: %v, want %v", err, client.ErrNoCoordinator)
	}
	recorded := e.av1Row(id)
	if !recorded.requested || recorded.sent {
		t.Fatalf("video records %+v, want its AV1 request recorded and not sent", recorded)
	}
	back := &av1Farm{submitLog: farm}
	cfg := e.replicaConfig()
	cfg.Farm = back
	// The claim of the failed send is leased: a sweep within the lease leaves it alone.
	if _, err := e.db.Pool().Exec(t.Context(), `UPDATE videos SET av1_send_due_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	sweep(t, cfg, 2)
	e.wantRequestedOnce(back, id, recorded)
}

// refusingFarm refuses every AV1 request as the farm does a job that has its AV1 job (400), or
// one it forgot (404), and holds the jobs it answers for.
type refusingFarm struct {
	*jobsFarm
	status int
}

func (f *refusingFarm) AddAV1(context.Context, string) (wire.Job, error) {
	return wire.Job{}, &client.APIError{Status: f.status, Message: "refused"}
}

// TestAV1PopularRefused: a refusal answers the request for good, so it is not sent again every
// minute: a job that has its AV1 job already (an earlier send whose answer was lost) quietly,
// a job the farm cannot give one (forgotten after its retention) with a warning.
func TestAV1PopularRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		hasAV1  bool
		warning bool
	}{
		{"the job has its AV1 job", http.StatusBadRequest, true, false},
		{"the farm forgot the job", http.StatusNotFound, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			farm := &refusingFarm{jobsFarm: &jobsFarm{jobs: map[string]wire.Job{}}, status: tc.status}
			e := newEnv(t, withFarmWrapped(func(f Farm) Farm { farm.Farm = f; return farm }),
				withConfig(func(c *Config) { c.AV1 = AV1Config{Policy: AV1Popular, MinViews: 1}; c.SyncInterval = time.Hour }))
			owner := e.user("owner")
			id := e.publishVideo(owner, "popular", nil)
			if tc.hasAV1 {
				farm.jobs["job-"+id] = wire.Job{ID: "job-" + id, State: scheduler.JobDone, AV1Job: "job-" + id + "-av1"}
			}
			e.viewFrom("127.0.0.2", id, "", "", nil)
			var logs bytes.Buffer
			cfg := e.replicaConfig()
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			sweep(t, cfg, 1)
			if got := e.av1Row(id); !got.sent {
				t.Errorf("video records %+v, want its refused request answered", got)
			}
			if got := strings.Contains(logs.String(), "the farm refused to add AV1 rungs"); got != tc.warning {
				t.Errorf("warning logged %v, want %v; log:\n%s", got, tc.warning, logs.String())
			}
		})
	}
}

// sweep runs the popular sweep n times on a new server with cfg: a replica, or the API after
// a restart.
func sweep(t *testing.T, cfg Config, n int) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := s.requestPopularAV1(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// wantRequestedOnce checks that the farm was asked once for the AV1 rungs of video id, and
// that the video records as sent the one request it recorded first (recorded).
func (e *env) wantRequestedOnce(farm *av1Farm, id string, recorded av1Row) {
	e.t.Helper()
	if got, want := farm.requested(), []string{"job-" + id}; !slices.Equal(got, want) {
		e.t.Errorf("the farm was asked for the AV1 rungs of %v, want %v once", got, want)
	}
	if got := e.av1Row(id); !got.sent || got.requestedAtEpoch != recorded.requestedAtEpoch {
		e.t.Errorf("video %s records %+v, want its one request (at %v) sent", id, got, recorded.requestedAtEpoch)
	}
}

// TestAV1Config: the service refuses a policy it does not know.
func TestAV1Config(t *testing.T) {
	for _, tc := range []struct {
		policy media.AV1Policy
		ok     bool
	}{{"", true}, {media.AV1Off, true}, {media.AV1All, true}, {AV1Popular, true}, {"sometimes", false}} {
		c := AV1Config{Policy: tc.policy}
		if err := c.defaults(); (err == nil) != tc.ok {
			t.Errorf("policy %q: error %v, want ok %v", tc.policy, err, tc.ok)
		}
	}
}

// jobsFarm answers for the jobs it holds and notes the jobs it is asked to cancel.
type jobsFarm struct {
	Farm
	mu       sync.Mutex
	jobs     map[string]wire.Job
	canceled []string
}

func (f *jobsFarm) Job(_ context.Context, id string) (wire.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[id]; ok {
		return j, nil
	}
	return wire.Job{}, &client.APIError{Status: http.StatusNotFound, Message: "no such job"}
}

func (f *jobsFarm) CancelJob(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	return nil
}

// TestDeleteCancelsAV1Job: deleting or removing a published video whose AV1 rungs the farm
// is still encoding cancels that AV1 job, which would otherwise go on encoding for a video
// that is gone; videos without AV1, or whose AV1 job ended, cost the farm no call.
func TestDeleteCancelsAV1Job(t *testing.T) {
	farm := &jobsFarm{jobs: map[string]wire.Job{}}
	e := newEnv(t, withFarmWrapped(func(f Farm) Farm { farm.Farm = f; return farm }))
	owner, mod := e.user("owner"), e.moderator()
	withAV1 := func(title string, av1State scheduler.JobState) string {
		id := e.publishVideo(owner, title, nil)
		if _, err := e.db.Pool().Exec(t.Context(), `UPDATE videos SET av1_requested_at = now(), av1_sent_at = now() WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		farm.mu.Lock()
		farm.jobs["job-"+id] = wire.Job{ID: "job-" + id, State: scheduler.JobDone, AV1Job: "job-" + id + "-av1"}
		farm.jobs["job-"+id+"-av1"] = wire.Job{ID: "job-" + id + "-av1", State: av1State, Parent: "job-" + id}
		farm.mu.Unlock()
		return id
	}
	deleted := withAV1("deleted while its AV1 encodes", scheduler.JobEncoding)
	removed := withAV1("removed while its AV1 encodes", scheduler.JobEncoding)
	finished := withAV1("deleted after its AV1 ended", scheduler.JobDone)
	plain := e.publishVideo(owner, "no AV1", nil)

	for _, id := range []string{deleted, finished, plain} {
		e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+id, owner.Token, nil)
	}
	e.decide(mod, removed, map[string]any{"action": "remove"})
	farm.mu.Lock()
	defer farm.mu.Unlock()
	if want := []string{"job-" + deleted + "-av1", "job-" + removed + "-av1"}; !slices.Equal(farm.canceled, want) {
		t.Errorf("the farm was asked to cancel %v, want %v", farm.canceled, want)
	}
}

// TestAV1StartLog: the operator is told at start when the AV1 policy cannot do what it says:
// no AV1 for MPEG-TS videos.
func TestAV1StartLog(t *testing.T) {
	e := newEnv(t)
	const needsFMP4 = "AV1 rungs need fMP4 segments"
	for _, tc := range []struct {
		policy   media.AV1Policy
		segments media.SegmentFormat
		want     []string
	}{
		{media.AV1All, media.SegmentsFMP4, nil},
		{media.AV1Off, media.SegmentsTS, nil},
		{media.AV1All, media.SegmentsTS, []string{needsFMP4}},
		{AV1Popular, media.SegmentsFMP4, nil},
		{AV1Popular, media.SegmentsTS, []string{needsFMP4}},
	} {
		t.Run(fmt.Sprintf("%s %s", tc.policy, tc.segments), func(t *testing.T) {
			var logs bytes.Buffer
			cfg := e.replicaConfig()
			cfg.AV1.Policy, cfg.Segments = tc.policy, tc.segments
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			stopped, cancel := context.WithCancel(t.Context())
			cancel()
			s.av1Loop(stopped)
			if got, want := strings.Contains(logs.String(), needsFMP4), slices.Contains(tc.want, needsFMP4); got != want {
				t.Errorf("log says %q: %v, want %v; log:\n%s", needsFMP4, got, want, logs.String())
			}
		})
	}
}
