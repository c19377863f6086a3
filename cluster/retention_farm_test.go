package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// submitKeyed posts a job to one coordinator with an idempotency key and
// returns the status and the job.
func submitKeyed(ctx context.Context, hc *http.Client, base, key, source string) (int, wire.Job, error) {
	body, _ := json.Marshal(wire.SubmitJob{Source: source})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/jobs", bytes.NewReader(body))
	if err != nil {
		return 0, wire.Job{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wire.IdempotencyKeyHeader, key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, wire.Job{}, err
	}
	defer resp.Body.Close()
	var j wire.Job
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		err = json.NewDecoder(resp.Body).Decode(&j)
	}
	return resp.StatusCode, j, err
}

// submitKeyedUntilAnswered retries a keyed submission on one coordinator
// while it has no leader to forward to (503) or does not answer.
func submitKeyedUntilAnswered(hc *http.Client, base, key, source string) (int, wire.Job, error) {
	var status int
	var j wire.Job
	err := testkit.Poll(30*time.Second, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		status, j, err = submitKeyed(ctx, hc, base, key, source)
		return err == nil && status != http.StatusServiceUnavailable, err
	})
	return status, j, err
}

// TestFarmIdempotentSubmitSurvivesLeaderKill is attack 5 of issue 12: a
// client that retries a submission on another coordinator after the first
// one committed it (and died before or after answering) must get the same
// job, not a second one writing the same outputs.
func TestFarmIdempotentSubmitSurvivesLeaderKill(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 0})
	hc := &http.Client{Transport: client.Transport(f.ClientTLS())}
	ctx := context.Background()
	source := "uploads/video-1.mp4"
	if err := f.Client().Upload(ctx, source, strings.NewReader("bytes of a video"), 16); err != nil {
		t.Fatal(err)
	}

	leader := f.Leader()
	status, first, err := submitKeyed(ctx, hc, leader.URL(), "video-1", source)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("first submission: status %d, %v; want 201", status, err)
	}
	leader.Kill()
	var others []*farmtest.Coordinator
	for _, c := range f.Coordinators {
		if c != leader {
			others = append(others, c)
		}
	}
	status, again, err := submitKeyedUntilAnswered(hc, others[0].URL(), "video-1", source)
	if err != nil || status != http.StatusOK || again.ID != first.ID {
		t.Errorf("resubmission after the leader died: status %d job %s (%v), want 200 with job %s", status, again.ID, err, first.ID)
	}

	// Two submissions racing through both survivors: one creates.
	var wg sync.WaitGroup
	statuses := make([]int, len(others))
	ids := make([]string, len(others))
	errs := make([]error, len(others))
	for i, c := range others {
		wg.Go(func() {
			var j wire.Job
			statuses[i], j, errs[i] = submitKeyedUntilAnswered(hc, c.URL(), "video-2", source)
			ids[i] = j.ID
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusOK, http.StatusCreated}) || ids[0] != ids[1] || errors.Join(errs...) != nil {
		t.Errorf("racing submissions: statuses %v jobs %v (%v), want one 201 and one 200 for the same job", statuses, ids, errors.Join(errs...))
	}

	// A key reused for another source is refused, not answered with
	// someone else's job.
	other := "uploads/video-3.mp4"
	if err := f.Client().Upload(ctx, other, strings.NewReader("another video"), 13); err != nil {
		t.Fatal(err)
	}
	if status, _, err := submitKeyedUntilAnswered(hc, others[1].URL(), "video-1", other); status != http.StatusConflict {
		t.Errorf("key reused for another source: status %d (%v), want 409", status, err)
	}

	jobs, err := client.New([]string{others[0].URL(), others[1].URL()}, f.ClientTLS(), nil).Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		var ids []string
		for _, j := range jobs {
			ids = append(ids, j.ID+" of "+j.Source)
		}
		t.Errorf("%d jobs after 6 keyed submissions, want 2 (video-1 and video-2): %v", len(jobs), ids)
	}
}

// TestFarmCompactsAcrossLeaderChange is attack 6 of issue 12: a finished
// job's clean-up is recorded through Raft, so a new leader does not redo it
// (the objects it deleted, put back, stay), and the job leaves the state a
// retention later; an agent gone for longer than its retention is
// forgotten.
func TestFarmCompactsAcrossLeaderChange(t *testing.T) {
	skipShort(t)
	const retention = 15 * time.Second
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 1,
		CoordinatorArgs: []string{"--job-retention", retention.String(), "--agent-retention", "3s"}})
	src := testmedia.Generate(t, testmedia.CFR(8, 320, 240, 25, true))
	j := f.Submit(src, smallJob)
	s := openStorage(t, f)

	// The chunk sources exist while the job encodes; the clean-up deletes them.
	var chunks []storage.Info
	f.Eventually(time.Minute, "chunk sources of job "+j.ID, func(ctx context.Context) (bool, error) {
		var err error
		chunks, err = s.List(ctx, "jobs/"+j.ID+"/chunks/")
		return len(chunks) > 0, err
	})
	j = f.WaitJob(j.ID, 2*time.Minute)
	if j.State != scheduler.JobDone {
		t.Fatalf("job %s is %s (%s), want done", j.ID, j.State, j.Error)
	}
	f.Eventually(20*time.Second, "the clean-up recorded", func(ctx context.Context) (bool, error) {
		got, err := f.Client().Job(ctx, j.ID)
		j = got
		return err == nil && got.CollectedAt != nil, err
	})
	left, err := s.List(context.Background(), "jobs/"+j.ID+"/")
	if err != nil || len(left) != 0 {
		t.Fatalf("after the clean-up: %d temporary objects left, %v", len(left), err)
	}
	// Put the deleted chunk sources back: a leader that cleans up again
	// deletes them again.
	for _, o := range chunks {
		if err := s.Put(context.Background(), o.Key, strings.NewReader("kept"), 4); err != nil {
			t.Fatal(err)
		}
	}

	old := f.Leader()
	old.Kill()
	f.Agents[0].Kill()
	if now := f.Leader(); now == old {
		t.Fatalf("leader is still %s after it was killed", old.Name)
	}
	c := f.Client()
	f.Eventually(retention+30*time.Second, "job "+j.ID+" compacted", func(ctx context.Context) (bool, error) {
		_, err := c.Job(ctx, j.ID)
		var api *client.APIError
		if errors.As(err, &api) && api.Status == http.StatusNotFound {
			return true, nil
		}
		return false, err
	})
	if since := time.Since(*j.CollectedAt); since < retention {
		t.Errorf("job compacted %v after its clean-up, before its %v retention", since, retention)
	}
	page, err := c.ListJobs(context.Background(), client.JobQuery{})
	if err != nil || len(page.Jobs) != 0 {
		t.Errorf("listing after compaction: %+v, %v; want no job", page.Jobs, err)
	}
	for _, o := range chunks {
		if _, err := s.Stat(context.Background(), o.Key); err != nil {
			t.Errorf("%s was deleted again after the leader change: %v", o.Key, err)
		}
	}
	f.Eventually(20*time.Second, "the dead agent forgotten", func(ctx context.Context) (bool, error) {
		agents, err := c.Agents(ctx)
		return err == nil && len(agents) == 0, err
	})
	for _, co := range f.Coordinators {
		if n := strings.Count(co.Log(), "collect job failed"); n > 0 {
			t.Errorf("%s logged %d failed clean-ups", co.Name, n)
		}
	}
}
