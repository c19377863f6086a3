package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/farmbench"
	"github.com/sunomi/sunomi/internal/farmtest"
)

// Time to playable for the public (issue 16): others may watch a video once
// its first chunk passed screening, which the API does (the farm alone has
// no screening), so this benchmark runs the API on real PostgreSQL in front
// of a real farm, as the through-the-farm tests do, and uploads as a client
// does: POST /uploads, PUT the file, POST /uploads/{id}/complete. It
// measures upload complete (the complete request sent) → the owner's
// playableAt and → publicPlayableAt, p50 and max over farmbench.Runs runs;
// each run's job is canceled once the public can watch (total job time is
// BenchmarkFarmTimeToPlayable's, in package cluster). The default length is
// the 30 s source: the farm's part of the clock is measured for every
// length by BenchmarkFarmTimeToPlayable, and screening one chunk does not
// depend on the length. No classifier is configured: screening is the
// perceptual-hash check against removed videos, as in a default deployment.
//
//	make bench-farm
//	SUNOMI_BENCH_PLAYABLE_RUNS=2 go test -run '^$' -bench BenchmarkFarmPublicPlayable -benchtime 1x -timeout 30m ./api/

// benchPublicLengths are the source lengths this benchmark encodes by default,
// in seconds (farmbench.LengthsEnv overrides them).
var benchPublicLengths = []int{30}

// benchFarmEnv is the API as cmd/api runs it (production defaults: the
// SyncInterval, the caches) on a fresh database, in front of a real
// one-coordinator, two-agent farm sharing its blob directory.
type benchFarmEnv struct {
	db   *store.Store
	farm *farmtest.Farm
	url  string
}

func newBenchFarmEnv(b *testing.B) *benchFarmEnv {
	b.Helper()
	e := &benchFarmEnv{}
	e.db, e.url = benchServer(b, func(c *Config, blobDir string) {
		e.farm = farmtest.Start(b, farmtest.Options{Coordinators: 1, Agents: 2, Storage: "file://" + blobDir})
		c.Farm = e.farm.Client()
		// One PUT of the whole source, however long, and no daily quota in the way.
		c.Uploads.MaxSize, c.Uploads.SinglePutLimit, c.Uploads.DailyBytes = 1<<40, 1<<40, 1<<40
	})
	return e
}

// call sends a JSON request as token ("" for none), checks the status and
// decodes the answer into out (unless nil).
func (e *benchFarmEnv) call(b *testing.B, want int, method, path, token string, in, out any) {
	b.Helper()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			b.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, data := roundTrip(b, http.DefaultClient, req, token)
	if resp.StatusCode != want {
		b.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			b.Fatalf("decode %s: %v", data, err)
		}
	}
}

// benchPublicRun is what one run measured, from the complete request.
type benchPublicRun struct {
	owner, public time.Duration
	submitted     time.Duration // → the farm's job created
	timeline      []farmbench.Event
}

// run uploads src as a new video of token's user, completes it, waits until
// the public can watch it, and cancels its job.
func (e *benchFarmEnv) run(b *testing.B, token, src string) benchPublicRun {
	b.Helper()
	file, size := farmbench.Open(b, src)
	defer file.Close()
	var created oapi.UploadCreated
	e.call(b, http.StatusCreated, "POST", "/api/v1/uploads", token,
		map[string]any{"title": "Time to playable", "filename": "clip.mp4", "size": size}, &created)
	if created.Upload.Method != oapi.Put || created.Upload.Url == nil {
		b.Fatalf("upload of %d bytes: method %s, want put", size, created.Upload.Method)
	}
	req, err := http.NewRequest(http.MethodPut, *created.Upload.Url, file)
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = size
	if resp, msg := roundTrip(b, http.DefaultClient, req, ""); resp.StatusCode/100 != 2 {
		b.Fatalf("PUT the source: status %d: %s", resp.StatusCode, msg)
	}
	id := created.VideoId
	completed := time.Now()
	e.call(b, http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", token, nil, nil)
	var v oapi.Video
	e.farm.Eventually(30*time.Minute, "video "+id+" public", func(ctx context.Context) (bool, error) {
		e.call(b, http.StatusOK, "GET", "/api/v1/videos/"+id, token, nil, &v)
		if v.Status == oapi.VideoStatusFailed {
			b.Fatalf("video %s failed before the public could watch it", id)
		}
		return v.PublicPlayableAt != nil, fmt.Errorf("status %s, playableAt %v", v.Status, v.PlayableAt)
	})
	if v.PlayableAt == nil {
		b.Fatalf("video %s is public without the owner's playableAt", id)
	}
	row, err := e.db.Video(context.Background(), id)
	if err != nil {
		b.Fatal(err)
	}
	job := farmbench.CancelAndSettle(b, e.farm, row.JobID)
	r := benchPublicRun{owner: v.PlayableAt.Sub(completed), public: v.PublicPlayableAt.Sub(completed), submitted: job.Created.Sub(completed)}
	r.timeline = append(farmbench.Timeline(job),
		farmbench.Event{At: completed.Sub(job.Created), What: "upload complete (POST /uploads/{id}/complete sent)"},
		farmbench.Event{At: v.PublicPlayableAt.Sub(job.Created), What: "PLAYABLE for the public (publicPlayableAt)"})
	slices.SortStableFunc(r.timeline, func(a, b farmbench.Event) int { return int(a.At - b.At) })
	return r
}

// BenchmarkFarmPublicPlayable: see the comment at the top of the file.
func BenchmarkFarmPublicPlayable(b *testing.B) {
	if testing.Short() {
		b.Skip("starts PostgreSQL and a farm and transcodes 1080p sources")
	}
	b.StopTimer()
	lengths := farmbench.Lengths(b, benchPublicLengths)
	runs := farmbench.Runs(b)
	sources := map[int]string{}
	for _, secs := range lengths {
		sources[secs] = farmbench.Generate(b, secs)
	}
	e := newBenchFarmEnv(b)
	var owner oapi.Session
	e.call(b, http.StatusCreated, "POST", "/api/v1/auth/register", "",
		map[string]string{"username": "benchowner", "password": "correct horse battery", "displayName": "Bench Owner"}, &owner)
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nTime to playable through the API: the sources of BenchmarkFarmTimeToPlayable, the ladder the API submits,\n"+
		"API + PostgreSQL + 1 coordinator + 2 agents × 1 slot, %d CPUs; %d runs per length, each job canceled once public.\n"+
		"Clock: upload complete (POST /uploads/{id}/complete sent) → the video's playableAt (owner) and publicPlayableAt.\n",
		runtime.NumCPU(), runs)
	fmt.Fprintf(&w, "  %-8s %13s %13s %13s %13s %15s\n", "source", "owner p50 (s)", "owner max (s)", "public p50 (s)", "public max (s)", "→ submitted (s)")
	medianOK, maxOK := true, true
	var timelines []string
	for _, secs := range lengths {
		var owners, publics, submits []time.Duration
		for i := range runs {
			r := e.run(b, owner.Token, sources[secs])
			b.Logf("%s run %d: owner %.2f s, public %.2f s", farmbench.LengthName(secs), i+1, r.owner.Seconds(), r.public.Seconds())
			owners, publics, submits = append(owners, r.owner), append(publics, r.public), append(submits, r.submitted)
			if i == 0 {
				timelines = append(timelines, fmt.Sprintf("\nTimeline of the first %s run (s after the farm's job was submitted):\n%s",
					farmbench.LengthName(secs), farmbench.FormatTimeline("  ", r.timeline)))
			}
		}
		for _, ds := range [][]time.Duration{owners, publics} {
			medianOK = medianOK && farmbench.Median(ds) <= farmbench.TargetMedian
			maxOK = maxOK && farmbench.Max(ds) <= farmbench.TargetMax
		}
		fmt.Fprintf(&w, "  %-8s %13.2f %13.2f %13.2f %13.2f %15.2f\n", farmbench.LengthName(secs),
			farmbench.Median(owners).Seconds(), farmbench.Max(owners).Seconds(),
			farmbench.Median(publics).Seconds(), farmbench.Max(publics).Seconds(), farmbench.Median(submits).Seconds())
		name := strings.ReplaceAll(farmbench.LengthName(secs), " ", "")
		b.ReportMetric(farmbench.Median(owners).Seconds(), "s-owner-p50-"+name)
		b.ReportMetric(farmbench.Median(publics).Seconds(), "s-public-p50-"+name)
		b.ReportMetric(farmbench.Max(publics).Seconds(), "s-public-max-"+name)
	}
	fmt.Fprintf(&w, "  p50 ≤ %.0f s for both audiences: %s; max ≤ %.0f s: %s\n", farmbench.TargetMedian.Seconds(),
		farmbench.Verdict(medianOK), farmbench.TargetMax.Seconds(), farmbench.Verdict(maxOK))
	w.WriteString(strings.Join(timelines, ""))
	fmt.Print(w.String())
}
