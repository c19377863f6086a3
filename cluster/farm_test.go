package cluster_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/miniotest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// Farm tests run real coordinator and agent processes; -short skips them.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a farm of processes")
	}
}

// smallJob is what farm tests encode: short chunks so that a few seconds of
// media make several encode tasks.
var smallJob = wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{240}}

// TestMain builds MinIO before any test runs (once, then cached).
func TestMain(m *testing.M) { miniotest.Main(m) }

// openStorage opens the farm's storage the way its coordinators do.
func openStorage(t *testing.T, f *farmtest.Farm) storage.Store {
	t.Helper()
	s, err := storage.Open(f.Storage, storage.Options{PublicURL: "http://127.0.0.1:1", Secret: []byte("farm-test-secret-key")})
	if err != nil {
		t.Fatalf("open %s: %v", f.Storage, err)
	}
	return s
}

// fetchOutput copies a job's published objects into a local directory, so
// that ffmpeg reads the ladder whichever backend the farm uses.
func fetchOutput(t *testing.T, s storage.Store, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	objs, err := s.List(ctx, prefix+"/")
	if err != nil {
		t.Fatalf("list %s: %v", prefix, err)
	}
	for _, o := range objs {
		rc, err := s.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, strings.TrimPrefix(o.Key, prefix+"/"))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// finishedOutput checks that j is done with every task committed once,
// waits until its temporary objects are gone and fetches its output.
func finishedOutput(t *testing.T, f *farmtest.Farm, j wire.Job) string {
	t.Helper()
	if j.State != scheduler.JobDone {
		t.Fatalf("job %s is %s (%s), want done", j.ID, j.State, j.Error)
	}
	wantCommittedOnce(t, j)
	s := openStorage(t, f)
	waitTemporariesGone(t, f, s, j)
	return fetchOutput(t, s, j.Output)
}

// wantPublished checks a finished job's ladder with ffmpeg as an independent
// reader: the master playlist decodes without an error line, with the
// source's frame count, and nothing but the published objects remain.
func wantPublished(t *testing.T, f *farmtest.Farm, j wire.Job, frames int) {
	t.Helper()
	dir := finishedOutput(t, f, j)
	master := filepath.Join(dir, "master.m3u8")
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", master, "-map", "0:v:0", "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("decoding %s: %v\n%s", master, err, out)
	}
	if got := countFrames(t, filepath.Join(dir, "240p", "playlist.m3u8")); got != frames {
		t.Errorf("240p has %d frames, want the source's %d", got, frames)
	}
	for _, name := range []string{"poster.jpg", "storyboard.jpg", "storyboard.vtt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s missing: %v", name, err)
		}
	}
	if thumbs, _ := filepath.Glob(filepath.Join(dir, "thumbs", "*")); len(thumbs) > 0 {
		t.Errorf("%d thumbnails left after stitching, want them collected", len(thumbs))
	}
}

// waitTemporariesGone waits until a finished job's temporary objects are gone.
// Garbage collection removes chunk sources, then thumbnails, losing
// attempts and the screening prefix: reading the output before then could
// list an object and find it gone.
func waitTemporariesGone(t *testing.T, f *farmtest.Farm, s storage.Store, j wire.Job) {
	t.Helper()
	f.Eventually(20*time.Second, "temporary objects collected", func(ctx context.Context) (bool, error) {
		var left int
		for _, prefix := range []string{"jobs/" + j.ID + "/", j.Output + "/thumbs/", j.Output + "/" + layout.ScreeningFile} {
			objs, err := s.List(ctx, prefix)
			if err != nil {
				return false, err
			}
			left += len(objs)
		}
		return left == 0, nil
	})
}

func countFrames(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &n); err != nil {
		t.Fatalf("ffprobe %s frame count %q: %v", path, out, err)
	}
	return n
}

// wantCommittedOnce checks that every task of a job committed exactly one attempt.
func wantCommittedOnce(t *testing.T, j wire.Job) {
	t.Helper()
	if len(j.Tasks) == 0 {
		t.Fatalf("job %s lists no tasks", j.ID)
	}
	for _, task := range j.Tasks {
		done := 0
		for _, a := range task.Attempts {
			if a.State == scheduler.StateDone {
				done++
			}
		}
		if task.State == scheduler.StateDone && (done != 1 || task.Winner == 0) {
			t.Errorf("task %s: %d attempts committed (winner %d), want exactly 1", task.ID, done, task.Winner)
		}
	}
}

// TestFarmEncodesAcrossAgents encodes a job of each segment format on two agents.
func TestFarmEncodesAcrossAgents(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(8, 320, 240, 25, true))
	for _, format := range []media.SegmentFormat{media.SegmentsTS, media.SegmentsFMP4} {
		t.Run(string(format), func(t *testing.T) {
			opts := smallJob
			opts.Segments = string(format)
			j := f.Submit(src, opts)
			j = f.WaitJob(j.ID, 2*time.Minute)
			wantPublished(t, f, j, 200)
			agents := map[string]bool{}
			for _, task := range j.Tasks {
				for _, a := range task.Attempts {
					if a.State == scheduler.StateDone {
						agents[a.Agent] = true
					}
				}
			}
			if len(agents) < 2 {
				t.Errorf("tasks ran on %v, want both agents to take part", agents)
			}
		})
	}
}

func TestFarmSurvivesAgentKill(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(16, 640, 360, 25, true))
	j := f.Submit(src, wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{360, 240}})
	// Kill an agent while it holds work.
	victim := f.Agents[0]
	f.Eventually(time.Minute, "a1 running a task", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		if err != nil {
			return false, err
		}
		for _, task := range job.Tasks {
			for _, a := range task.Attempts {
				if a.Agent == victim.Name && (a.State == scheduler.StateRunning || a.State == scheduler.StateLeased) && task.Kind == scheduler.KindEncode {
					return true, nil
				}
			}
		}
		return false, nil
	})
	victim.Kill()
	j = f.WaitJob(j.ID, 3*time.Minute)
	wantPublished(t, f, j, 400)
	failed := 0
	for _, task := range j.Tasks {
		for _, a := range task.Attempts {
			if a.Agent == victim.Name && a.State == scheduler.StateFailed {
				failed++
			}
		}
	}
	if failed == 0 {
		t.Errorf("no attempt of the killed agent failed; the kill did not hit a running task")
	}
}

func TestFarmSurvivesLeaderKill(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(12, 640, 360, 25, true))
	j := f.Submit(src, wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{360, 240}})
	f.Eventually(time.Minute, "encoding under way", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		return err == nil && job.State == scheduler.JobEncoding, err
	})
	old := f.Leader()
	old.Kill()
	j = f.WaitJob(j.ID, 3*time.Minute)
	if now := f.Leader(); now == old {
		t.Fatalf("leader is still %s after it was killed", old.Name)
	}
	wantPublished(t, f, j, 300)
}

func TestFarmFailsInvalidMediaWithReason(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 1})
	src := filepath.Join(t.TempDir(), "notes.mp4")
	if err := os.WriteFile(src, []byte("these are meeting notes, not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j := f.Submit(src, smallJob)
	j = f.WaitJob(j.ID, time.Minute)
	if j.State != scheduler.JobFailed || !strings.Contains(j.Error, "not a media file") {
		t.Fatalf("job state %s error %q, want failed with the pipeline's reason", j.State, j.Error)
	}
	for _, task := range j.Tasks {
		if len(task.Attempts) > 1 {
			t.Errorf("task %s ran %d attempts; a permanent error must fail the job at once", task.ID, len(task.Attempts))
		}
	}
}

func TestFarmRestartResumesJobs(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 1})
	src := testmedia.Generate(t, testmedia.CFR(8, 320, 240, 25, true))
	j := f.Submit(src, smallJob)
	for _, c := range f.Coordinators {
		c.Kill()
	}
	for _, c := range f.Coordinators {
		c.Restart(t)
	}
	f.WaitLeader(30 * time.Second)
	j = f.WaitJob(j.ID, 2*time.Minute)
	wantPublished(t, f, j, 200)
}

func TestFarmBadRequests(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 0})
	base := f.Coordinators[0].URL()
	operator := &http.Client{Transport: client.Transport(f.ClientTLS())}
	agent := &http.Client{Transport: client.Transport(f.CA.Material(pki.RoleAgent, "a9"))}
	tests := []struct {
		name, method, path, body string
		as                       *http.Client
		want                     int
		wantInError              string
	}{
		{"unknown job", "GET", "/v1/jobs/nope", "", operator, 404, "not found"},
		{"cancel unknown job", "DELETE", "/v1/jobs/nope", "", operator, 404, "not found"},
		{"malformed JSON", "POST", "/v1/jobs", "{source:", operator, 400, "malformed JSON"},
		{"unknown field", "POST", "/v1/jobs", `{"src":"x"}`, operator, 400, "malformed JSON"},
		{"missing source", "POST", "/v1/jobs", `{"source":"uploads/none.mp4"}`, operator, 400, "not found in storage"},
		{"empty source", "POST", "/v1/jobs", `{}`, operator, 400, "source is required"},
		{"bad options", "POST", "/v1/jobs", `{"source":"x","options":{"crf":99}}`, operator, 400, ""},
		{"upload outside uploads/", "PUT", "/v1/uploads/videos/x", "data", operator, 400, "uploads/"},
		// Roles: an agent certificate is for the agent protocol only, a
		// client certificate never for it, and neither may join Raft.
		{"agent submits a job", "POST", "/v1/jobs", `{"source":"uploads/x"}`, agent, 403, "agent certificate"},
		{"agent cancels a job", "DELETE", "/v1/jobs/nope", "", agent, 403, "agent certificate"},
		{"agent lists jobs", "GET", "/v1/jobs", "", agent, 403, "agent certificate"},
		{"client leases", "POST", "/v1/agent/lease", `{}`, operator, 403, "client certificate"},
		{"client completes", "POST", "/v1/agent/complete", `{}`, operator, 403, "client certificate"},
		{"client heartbeats", "POST", "/v1/agent/heartbeat", `{}`, operator, 403, "client certificate"},
		{"agent joins raft", "POST", "/v1/cluster/join", `{"id":"a9","raft":"127.0.0.1:1"}`, agent, 403, "server certificate"},
		{"client joins raft", "POST", "/v1/cluster/join", `{"id":"operator","raft":"127.0.0.1:1"}`, operator, 403, "server certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			resp, err := tt.as.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e wire.Error
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d (%q), want %d", resp.StatusCode, e.Error, tt.want)
			}
			if e.Error == "" || !strings.Contains(e.Error, tt.wantInError) {
				t.Errorf("error = %q, want a message mentioning %q", e.Error, tt.wantInError)
			}
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		if resp, err := anonymous.Get(base + "/v1/jobs"); err == nil {
			resp.Body.Close()
			t.Fatalf("a caller without certificate got HTTP %d, want the handshake refused", resp.StatusCode)
		}
	})
	t.Run("health checks need no certificate", func(t *testing.T) {
		resp, err := http.Get("http://" + f.Coordinators[0].Health + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz on --health-addr: HTTP %d, want 200", resp.StatusCode)
		}
		jobs, err := http.Get("http://" + f.Coordinators[0].Health + "/v1/jobs")
		if err != nil {
			t.Fatal(err)
		}
		jobs.Body.Close()
		if jobs.StatusCode == http.StatusOK {
			t.Error("--health-addr serves /v1/jobs")
		}
	})
	t.Run("plain HTTP", func(t *testing.T) {
		if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/v1/jobs"); err == nil {
			defer resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Fatalf("plain HTTP got HTTP %d, want it refused", resp.StatusCode)
			}
		}
	})
}

// TestFarmChaos runs six jobs on three coordinators and three agents while
// the leader is SIGKILLed once and agents twice, each restarted afterwards.
// Every job must finish, every ladder must pass the validators, and no task
// may commit two attempts.
func TestFarmChaos(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 3})
	type submitted struct {
		job    wire.Job
		frames int
	}
	var jobs []submitted
	for i := range 6 {
		seconds := 6 + i
		src := testmedia.Generate(t, testmedia.CFR(seconds, 320, 240, 25, i%2 == 0))
		jobs = append(jobs, submitted{f.Submit(src, smallJob), seconds * 25})
	}
	encoding := func(ctx context.Context) (bool, error) {
		for _, s := range jobs {
			j, err := f.Client().Job(ctx, s.job.ID)
			if err != nil {
				return false, err
			}
			if j.State == scheduler.JobEncoding {
				return true, nil
			}
		}
		return false, nil
	}
	f.Eventually(time.Minute, "a job encoding", encoding)
	f.Agents[0].Kill()
	leader := f.Leader()
	leader.Kill()
	f.WaitLeader(30 * time.Second)
	f.Agents[0].Restart(t)
	leader.Restart(t)
	f.Agents[1].Kill()
	f.Agents[1].Restart(t)
	for _, s := range jobs {
		j := f.WaitJob(s.job.ID, 3*time.Minute)
		wantPublished(t, f, j, s.frames)
	}
	all, err := f.Client().Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(jobs) {
		t.Errorf("the cluster knows %d jobs, want the %d submitted", len(all), len(jobs))
	}
}

// TestFarmFrozenLeaderStepsDown freezes the leader (SIGSTOP: it hears and
// says nothing, as if cut off), waits for the others to elect a new one, then
// thaws it: the old leader must step down — there is never more than one
// leader of the newest term, and the cluster keeps working.
func TestFarmFrozenLeaderStepsDown(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 1})
	old := f.Leader()
	oldTerm := clusterOf(t, f, old).Term
	old.Freeze()
	var fresh *farmtest.Coordinator
	f.Eventually(30*time.Second, "a new leader among the others", func(ctx context.Context) (bool, error) {
		for _, c := range f.Coordinators {
			if c == old {
				continue
			}
			cl, err := client.New([]string{c.URL()}, f.ClientTLS(), nil).Cluster(ctx)
			if err == nil && cl.State == raft.Leader.String() {
				fresh = c
				return true, nil
			}
		}
		return false, nil
	})
	old.Thaw()
	f.Eventually(30*time.Second, "the old leader to follow", func(ctx context.Context) (bool, error) {
		cl, err := client.New([]string{old.URL()}, f.ClientTLS(), nil).Cluster(ctx)
		return err == nil && cl.State == "Follower" && cl.Leader == fresh.Name, err
	})
	leaders := 0
	for _, c := range f.Coordinators {
		cl := clusterOf(t, f, c)
		if cl.State == raft.Leader.String() {
			leaders++
			if cl.Term <= oldTerm {
				t.Errorf("leader %s has term %d, want a term after %d", c.Name, cl.Term, oldTerm)
			}
		}
	}
	if leaders != 1 {
		t.Fatalf("%d coordinators say they lead, want exactly 1", leaders)
	}
	src := testmedia.Generate(t, testmedia.CFR(4, 320, 240, 25, false))
	j := f.WaitJob(f.Submit(src, smallJob).ID, 2*time.Minute)
	wantPublished(t, f, j, 100)
}

func clusterOf(t *testing.T, f *farmtest.Farm, c *farmtest.Coordinator) wire.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := client.New([]string{c.URL()}, f.ClientTLS(), nil).Cluster(ctx)
	if err != nil {
		t.Fatalf("cluster status of %s: %v", c.Name, err)
	}
	return cl
}

// TestFarmOnS3 runs a 3-coordinator farm on a real MinIO server: agents
// hold no credentials and move every byte through presigned S3 URLs.
func TestFarmOnS3(t *testing.T) {
	skipShort(t)
	srv := miniotest.Start(t)
	srv.Setenv(t) // the coordinators inherit the credentials
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 2, Storage: srv.URL("sunomi")})
	src := testmedia.Generate(t, testmedia.CFR(6, 320, 240, 25, true))
	j := f.WaitJob(f.Submit(src, smallJob).ID, 2*time.Minute)
	wantPublished(t, f, j, 150)
}

// TestFarmPartitionedLeaderStepsDown cuts the leader's network link (it runs
// in a network namespace of its own) while it keeps running: the majority
// elects a new leader and keeps working, the cut-off node steps down instead
// of leading alone, and after the link is back it follows the new leader.
func TestFarmPartitionedLeaderStepsDown(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 1, Namespaces: true})
	old := f.Leader()
	oldTerm := clusterOf(t, f, old).Term
	f.Partition(old)
	var fresh *farmtest.Coordinator
	f.Eventually(30*time.Second, "a new leader among the majority", func(ctx context.Context) (bool, error) {
		for _, c := range f.Coordinators {
			if c == old {
				continue
			}
			cl, err := client.New([]string{c.URL()}, f.ClientTLS(), nil).Cluster(ctx)
			if err == nil && cl.State == raft.Leader.String() && cl.Term > oldTerm {
				fresh = c
				return true, nil
			}
		}
		return false, nil
	})
	f.Eventually(30*time.Second, "the cut-off node to step down", func(context.Context) (bool, error) {
		out, err := f.Inside(old, "cluster")
		return err == nil && !strings.Contains(out, "(Leader)"), fmt.Errorf("%v: %s", err, out)
	})
	src := testmedia.Generate(t, testmedia.CFR(4, 320, 240, 25, false))
	j := f.WaitJob(f.Submit(src, smallJob).ID, 2*time.Minute)
	wantPublished(t, f, j, 100)

	f.Heal(old)
	f.Eventually(30*time.Second, "the healed node to follow the new leader", func(ctx context.Context) (bool, error) {
		cl, err := client.New([]string{old.URL()}, f.ClientTLS(), nil).Cluster(ctx)
		return err == nil && cl.State == "Follower" && cl.Leader == fresh.Name, err
	})
	leaders := 0
	for _, c := range f.Coordinators {
		if clusterOf(t, f, c).State == raft.Leader.String() {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d coordinators say they lead, want exactly 1", leaders)
	}
}

// TestFarmPublishesProgressively checks that a job is playable before it
// ends: while chunks are still encoding, the master playlist exists and the
// rung playlists are growing EVENT playlists; at the end they are VOD.
func TestFarmPublishesProgressively(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 1})
	src := testmedia.Generate(t, testmedia.CFR(24, 640, 360, 25, true))
	j := f.Submit(src, wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{360, 240}})
	s := openStorage(t, f)
	read := func(ctx context.Context, key string) ([]byte, error) { return readObject(ctx, s, key) }
	f.Eventually(2*time.Minute, "a playable job still encoding", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		if err != nil {
			return false, err
		}
		if job.State.Finished() {
			t.Fatalf("job finished (%s) before it was published progressively", job.State)
		}
		if job.PlayableAt == nil || job.State != scheduler.JobEncoding {
			return false, nil
		}
		if _, err := read(ctx, job.Output+"/master.m3u8"); err != nil {
			return false, err
		}
		b, err := read(ctx, job.Output+"/240p/playlist.m3u8")
		if err != nil {
			return false, err
		}
		p, err := hls.ParseMediaPlaylist(b)
		if err != nil {
			return false, err
		}
		if p.Type != hls.PlaylistEvent || p.Ended {
			t.Fatalf("playlist during encoding is %s (ended %v), want a growing EVENT playlist", p.Type, p.Ended)
		}
		return true, nil
	})
	j = f.WaitJob(j.ID, 3*time.Minute)
	wantPublished(t, f, j, 600)
	b, err := read(context.Background(), j.Output+"/240p/playlist.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMediaPlaylist(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != hls.PlaylistVOD || !p.Ended {
		t.Errorf("final playlist is %s (ended %v), want VOD", p.Type, p.Ended)
	}
	if j.PlayableAt == nil || !j.PlayableAt.Before(j.Updated) {
		t.Errorf("playableAt %v, want before the job ended at %v", j.PlayableAt, j.Updated)
	}
}
