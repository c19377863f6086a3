package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// keyLog is the farm's client as the API uses it, noting the idempotency key of every
// submission the API tries, in order, per source.
type keyLog struct {
	Farm
	mu   sync.Mutex
	keys map[string][]string // by the job's source
}

func (k *keyLog) SubmitJob(ctx context.Context, key string, req wire.SubmitJob) (wire.Job, error) {
	k.mu.Lock()
	k.keys[req.Source] = append(k.keys[req.Source], key)
	k.mu.Unlock()
	return k.Farm.SubmitJob(ctx, key, req)
}

// of returns the keys of the video's submissions.
func (k *keyLog) of(videoID string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys[layout.Source(videoID)]...)
}

// TestCompleteWhileFarmDown is attack 5 of issue #12 on the API: uploads completed while the
// farm is down are queued with their submission due, never lost and never stuck; once the
// farm is back, each gets exactly one job, submitted every time under the video id, or fails
// with the farm's reason when the farm refuses it. So does an upload whose complete recorded
// the submission and then died before calling the farm.
func TestCompleteWhileFarmDown(t *testing.T) {
	tries := &keyLog{keys: map[string][]string{}}
	e := newEnv(t, withFarm(0), withFarmWrapped(func(f Farm) Farm { tries.Farm = f; return tries }))
	ctx := t.Context()
	owner := e.user("owner")
	kept := e.upload(owner.Token, "kept", []byte("source bytes")).VideoId
	vanished := e.upload(owner.Token, "vanished", []byte("other source bytes")).VideoId
	orphaned := e.upload(owner.Token, "orphaned", []byte("third source bytes")).VideoId
	deleted := e.upload(owner.Token, "deleted", []byte("fourth source bytes")).VideoId
	coordinator := e.farm.Coordinators[0]
	coordinator.Stop(10 * time.Second)

	for _, id := range []string{kept, vanished, deleted} {
		var v oapi.Video
		e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", owner.Token, nil).decode(t, &v)
		if v.Status != oapi.VideoStatusQueued {
			t.Fatalf("complete while the farm is down: status %s, want queued", v.Status)
		}
	}
	// A replica completes the third one, records its submission due, and dies.
	e.moveSource(orphaned)
	if ok, err := e.db.MarkUploaded(ctx, orphaned, submitRetryMin); err != nil || !ok {
		t.Fatalf("MarkUploaded: %v, %v", ok, err)
	}
	// Reconciliation tries again while the farm is down; the videos wait, queued, their files
	// kept.
	eventually(t, 20*time.Second, "three submission tries of each video", func() bool {
		return len(tries.of(kept)) >= 3 && len(tries.of(vanished)) >= 3 && len(tries.of(orphaned)) >= 2
	})
	for _, id := range []string{kept, vanished, orphaned} {
		if v := e.video(id); v.Status != store.StatusQueued || v.JobID != "" || v.SubmitDueAt == nil {
			t.Fatalf("video %s while the farm is down: status %s, job %q, submission due %v; want queued, no job, due",
				id, v.Status, v.JobID, v.SubmitDueAt)
		}
		if got := e.apiVideo(id, owner.Token).Status; got != oapi.VideoStatusQueued {
			t.Fatalf("the owner sees %s while the farm is down, want queued", got)
		}
	}
	if _, err := e.blobs.Stat(ctx, layout.Source(kept)); err != nil {
		t.Fatalf("source after a complete while the farm is down: %v", err)
	}
	// The owner deletes one while its job is due: it never gets one.
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+deleted, owner.Token, nil)
	// One source disappears before the farm comes back: the farm refuses that job for good.
	if err := e.blobs.Delete(ctx, layout.Source(vanished)); err != nil {
		t.Fatal(err)
	}

	coordinator.Restart(t)
	e.farm.WaitLeader(30 * time.Second)
	eventually(t, 30*time.Second, "the farm's answers recorded", func() bool {
		return e.video(kept).JobID != "" && e.video(orphaned).JobID != "" && e.video(vanished).Status == store.StatusFailed
	})

	jobs, err := e.farm.Client().Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jobOf := map[string]string{} // source → job id
	for _, j := range jobs {
		jobOf[j.Source] = j.ID
	}
	if len(jobs) != 2 {
		t.Errorf("the farm has %d jobs, want 2: one per video it accepted", len(jobs))
	}
	for _, id := range []string{kept, orphaned} {
		v := e.video(id)
		if v.SubmitDueAt != nil {
			t.Errorf("video %s: submission still due at %v after its job was recorded", id, v.SubmitDueAt)
		}
		if jobOf[layout.Source(id)] != v.JobID {
			t.Errorf("video %s records job %s; the farm's job of its source is %q", id, v.JobID, jobOf[layout.Source(id)])
		}
		if got := e.apiVideo(id, owner.Token).Status; got != oapi.VideoStatusQueued && got != oapi.VideoStatusProcessing {
			t.Errorf("video %s with its job: status %s, want queued or processing", id, got)
		}
	}
	for _, id := range []string{kept, vanished, orphaned, deleted} {
		for i, key := range tries.of(id) {
			if key != id {
				t.Errorf("submission %d of video %s had idempotency key %q, want the video id", i+1, id, key)
			}
		}
	}

	failed := e.apiVideo(vanished, owner.Token)
	if failed.Status != oapi.VideoStatusFailed || failed.FailureReason == nil ||
		!strings.Contains(*failed.FailureReason, "refused") || !strings.Contains(*failed.FailureReason, "not found") {
		t.Errorf("refused video: status %s, reason %v; want failed, saying the farm refused it and why", failed.Status, failed.FailureReason)
	}
	if v := e.video(vanished); v.SubmitDueAt != nil || v.JobID != "" {
		t.Errorf("refused video: submission due %v, job %q; want neither", v.SubmitDueAt, v.JobID)
	}
}

func TestRefusal(t *testing.T) {
	signed := "https://s3.example/videos/v/source/original?X-Amz-Signature=abc&X-Amz-Credential=k"
	for _, tt := range []struct {
		name        string
		err         error
		wantRefused bool
		wantReason  string
	}{
		{"bad request", &client.APIError{Status: 400, Message: "cannot read " + signed + " today"}, true,
			"the transcoding farm refused this video: cannot read https://s3.example/videos/v/source/original today"},
		{"gone", &client.APIError{Status: 410, Message: "gone"}, true, "the transcoding farm refused this video: gone"},
		{"conflict", &client.APIError{Status: 409, Message: "output in use"}, false, ""},
		{"rate limited", &client.APIError{Status: 429, Message: "slow down"}, false, ""},
		{"credentials", &client.APIError{Status: 403, Message: "client certificate required"}, false, ""},
		{"unavailable", &client.APIError{Status: 503, Message: "no leader"}, false, ""},
		{"unreachable", client.ErrNoCoordinator, false, ""},
		{"wrapped", errors.Join(errors.New("submit"), &client.APIError{Status: 422, Message: "bad"}), true,
			"the transcoding farm refused this video: bad"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reason, refused := refusal(tt.err)
			if refused != tt.wantRefused || reason != tt.wantReason {
				t.Errorf("refusal = %q, %v; want %q, %v", reason, refused, tt.wantReason, tt.wantRefused)
			}
		})
	}
}

// TestSubmissionOfAVideoDeletedMeanwhile deletes a video while the farm makes its job: the
// job is canceled rather than left to spend the farm on a video nobody can see.
func TestSubmissionOfAVideoDeletedMeanwhile(t *testing.T) {
	e := newEnv(t, withFarm(0))
	ctx := t.Context()
	owner := e.user("owner")
	id := e.upload(owner.Token, "t", []byte("source bytes")).VideoId
	e.moveSource(id)
	if ok, err := e.db.MarkUploaded(ctx, id, time.Hour); err != nil || !ok {
		t.Fatalf("MarkUploaded: %v, %v", ok, err)
	}
	if err := e.db.DeleteVideo(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.submitJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	jobs, err := e.farm.Client().Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Source != layout.Source(id) || jobs[0].State != scheduler.JobCanceled {
		t.Fatalf("farm jobs %+v, want the deleted video's job, canceled", jobs)
	}
}
