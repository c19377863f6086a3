package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

func TestOpsFarmAuthorisation(t *testing.T) {
	e := newEnv(t, withFarm(1))
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"user", e.user("viewer").Token, http.StatusForbidden},
		{"moderator", e.moderator().Token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/ops/farm", tt.token, nil)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.body)
			}
			if tt.want != http.StatusOK {
				r.errorBody(t)
			}
		})
	}
}

func TestOpsFarmShowsAgentsAndJobs(t *testing.T) {
	e := newEnv(t, withFarm(1))
	mod := e.moderator()

	var st oapi.FarmStatus
	e.must(http.StatusOK, "GET", "/api/v1/ops/farm", mod.Token, nil).decode(t, &st)
	if st.Cluster.Leader == "" || st.Cluster.Term == 0 || len(st.Cluster.Nodes) != 1 || !st.Cluster.Nodes[0].Leader {
		t.Errorf("cluster = %+v, want one node that leads", st.Cluster)
	}
	if len(st.Agents) != 1 {
		t.Fatalf("agents = %+v, want one", st.Agents)
	}
	if a := st.Agents[0]; a.State != string(scheduler.AgentAlive) || a.Slots < 1 || a.Cores < 1 || len(a.Encoders) == 0 || a.LastSeen.IsZero() {
		t.Errorf("agent = %+v, want alive with slots, cores, encoders and a last-seen time", a)
	}
	if st.Throughput.SlotsTotal != st.Agents[0].Slots {
		t.Errorf("slotsTotal = %d, want the agent's %d", st.Throughput.SlotsTotal, st.Agents[0].Slots)
	}
	if len(st.Jobs.Recent) != 0 {
		t.Errorf("recent jobs before any upload: %+v", st.Jobs.Recent)
	}

	owner := e.user("owner")
	created := e.upload(owner.Token, "ops", []byte("not really a video"))
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil)
	jobID := e.video(created.VideoId).JobID

	e.must(http.StatusOK, "GET", "/api/v1/ops/farm", mod.Token, nil).decode(t, &st)
	if len(st.Jobs.Recent) != 1 {
		t.Fatalf("recent jobs = %+v, want the upload's", st.Jobs.Recent)
	}
	j := st.Jobs.Recent[0]
	if j.Id != jobID || j.VideoId == nil || *j.VideoId != created.VideoId {
		t.Errorf("job = %+v, want %s of video %s", j, jobID, created.VideoId)
	}
	if got := st.Jobs.Queued + st.Jobs.Running + st.Jobs.Done + st.Jobs.Failed + st.Jobs.Canceled; got != 1 {
		t.Errorf("job counts = %+v, want one job in all", st.Jobs)
	}
}

func TestOpsFarmUnavailable(t *testing.T) {
	e := newEnv(t) // the farm address answers nothing
	r := e.must(http.StatusServiceUnavailable, "GET", "/api/v1/ops/farm", e.moderator().Token, nil)
	if msg := r.errorBody(t).Message; !strings.Contains(msg, "unreachable") {
		t.Errorf("message %q, want it to say the farm is unreachable", msg)
	}
}

func TestOpsFarmStatus(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	agents := []wire.Agent{
		{ID: "b", State: scheduler.AgentAlive, Slots: 4, Busy: 3, Encoders: []string{"libx264"}},
		{ID: "a", State: scheduler.AgentDraining, Slots: 2, Busy: 1},
		{ID: "c", State: "dead", Slots: 8, Busy: 8},
	}
	jobs := []wire.Job{
		{ID: "j1", State: scheduler.JobDone, Output: "videos/v1/hls", Updated: at(10 * time.Minute)},
		{ID: "j2", State: scheduler.JobDone, Output: "videos/v2/hls", Updated: at(2 * time.Hour)},
		{ID: "j3", State: scheduler.JobEncoding, Output: "elsewhere/hls", Updated: at(time.Minute), ChunksDone: 1, ChunksTotal: 4},
		{ID: "j4", State: scheduler.JobStitching, Updated: at(time.Second), ChunksDone: 4, ChunksTotal: 4,
			Rungs: []wire.RungProgress{{FramesDone: 90, FramesTotal: 100}, {FramesDone: 10, FramesTotal: 100}}},
		{ID: "j5", State: scheduler.JobFailed, Error: "bad input", Updated: at(3 * time.Minute)},
		{ID: "j6", State: scheduler.JobQueued, Updated: at(4 * time.Minute)},
		{ID: "j7", State: scheduler.JobCanceled, Updated: at(5 * time.Minute)},
	}
	for i := range 30 {
		jobs = append(jobs, wire.Job{ID: fmt.Sprintf("old%02d", i), State: scheduler.JobDone, Updated: at(time.Duration(3+i) * time.Hour)})
	}

	st := farmStatus(wire.Cluster{Leader: "c1", Term: 3, CommitIndex: 42,
		Peers: []wire.Peer{{ID: "c1", Address: "10.0.0.1:7001", Leader: true}}}, agents, jobs, now)

	t.Run("cluster", func(t *testing.T) {
		want := oapi.FarmCluster{Leader: "c1", Term: 3, CommitIndex: 42, Nodes: []oapi.FarmNode{{Id: "c1", Address: "10.0.0.1:7001", Leader: true}}}
		if fmt.Sprint(st.Cluster) != fmt.Sprint(want) {
			t.Errorf("got %+v, want %+v", st.Cluster, want)
		}
	})
	t.Run("agents sorted, with encoders never null", func(t *testing.T) {
		var ids []string
		for _, a := range st.Agents {
			ids = append(ids, a.Id)
			if a.Encoders == nil {
				t.Errorf("agent %s: encoders nil", a.Id)
			}
		}
		if want := []string{"a", "b", "c"}; !slices.Equal(ids, want) {
			t.Errorf("got %v, want %v", ids, want)
		}
	})
	t.Run("counts", func(t *testing.T) {
		got := st.Jobs
		got.Recent = nil
		want := oapi.FarmJobs{Queued: 1, Running: 2, Done: 32, Failed: 1, Canceled: 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("throughput counts live agents and the last hour", func(t *testing.T) {
		want := oapi.FarmThroughput{JobsDoneLastHour: 1, SlotsBusy: 4, SlotsTotal: 6}
		if st.Throughput != want {
			t.Errorf("got %+v, want %+v", st.Throughput, want)
		}
	})
	t.Run("recent: newest 20", func(t *testing.T) {
		if len(st.Jobs.Recent) != opsRecentJobs {
			t.Fatalf("got %d, want %d", len(st.Jobs.Recent), opsRecentJobs)
		}
		var ids []string
		for _, j := range st.Jobs.Recent[:7] {
			ids = append(ids, j.Id)
		}
		if want := []string{"j4", "j3", "j5", "j6", "j7", "j1", "j2"}; !slices.Equal(ids, want) {
			t.Errorf("got %v, want %v", ids, want)
		}
	})

	byID := map[string]oapi.FarmJob{}
	for _, j := range st.Jobs.Recent {
		byID[j.Id] = j
	}
	tests := []struct {
		id       string
		videoID  string
		progress float64
		err      string
	}{
		{id: "j1", videoID: "v1", progress: 1},
		{id: "j3", progress: 0.25},
		{id: "j4", progress: 0.5},
		{id: "j5", err: "bad input"},
		{id: "j6"},
	}
	for _, tt := range tests {
		t.Run("job "+tt.id, func(t *testing.T) {
			j := byID[tt.id]
			var videoID, errMsg string
			if j.VideoId != nil {
				videoID = *j.VideoId
			}
			if j.Error != nil {
				errMsg = *j.Error
			}
			if videoID != tt.videoID || j.Progress != tt.progress || errMsg != tt.err {
				t.Errorf("got video %q, progress %v, error %q; want %q, %v, %q", videoID, j.Progress, errMsg, tt.videoID, tt.progress, tt.err)
			}
		})
	}
}
