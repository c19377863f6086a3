package api

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// replica is a second publisher on the same database and storage, as another API replica
// has; published counts the videos it published.
func (e *env) replica(published *atomic.Int64) *publisher {
	return newPublisher(e.db, e.blobs, e.srv.reuploads, e.srv.classifier.classify,
		func(string) { published.Add(1) }, time.Minute, slog.New(slog.DiscardHandler))
}

// wantPublishedOnce checks that the video is ready after one classifier call and one
// publication.
func (e *env) wantPublishedOnce(id string, stub *classifierStub, published *atomic.Int64) {
	e.t.Helper()
	if v := e.video(id); v.Status != store.StatusReady || len(stub.requests()) != 1 || published.Load() != 1 {
		e.t.Errorf("video %s after %d classifier calls and %d publications; want ready after one of each",
			v.Status, len(stub.requests()), published.Load())
	}
}

// TestPublishOnce: replicas (and, within each, the relay and the sync loop) hand the same
// finished job to their publishers at once; one claims the video, so the classifier is asked
// once and the video is published once.
func TestPublishOnce(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	// Slow enough that every caller arrives while the first is screening, within the
	// classifier timeout of newClassifierEnv.
	stub.set([]moderationLabel{{Name: "Violence", Confidence: 75}}, 0, 150*time.Millisecond)
	id := e.jobEndedVideo(e.user("owner"), "Raced", storyboardSprite)

	var published atomic.Int64
	replicas := []*publisher{e.replica(&published), e.replica(&published)}
	const callers = 8
	start := make(chan struct{})
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			errs[i] = replicas[i%len(replicas)].jobChanged(t.Context(), id, doneJob(id))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, errPublishing) {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := len(stub.requests()); n != 1 {
		t.Errorf("classifier called %d times, want once", n)
	}
	if n := published.Load(); n != 1 {
		t.Errorf("published %d times, want once", n)
	}
	v := e.video(id)
	if v.Status != store.StatusReady || v.Moderation != store.ModerationRestricted {
		t.Errorf("video %s (%s), want ready and restricted by the classifier's warning", v.Status, v.Moderation)
	}
	// Late callers, such as the relay retrying after it found the claim held, find the
	// video published and leave it alone.
	if err := replicas[0].jobChanged(t.Context(), id, doneJob(id)); err != nil {
		t.Errorf("job end applied again: %v", err)
	}
	if n := len(stub.requests()); n != 1 || published.Load() != 1 {
		t.Errorf("after the job end was applied again: %d classifier calls, %d publications", n, published.Load())
	}
	var claim string
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT publish_claim FROM videos WHERE id = $1`, id).Scan(&claim); err != nil || claim != "" {
		t.Errorf("claim %q (%v) left after publishing, want it released", claim, err)
	}
}

// TestPublishClaimExpires: a claim held by a replica that died while publishing keeps other
// replicas off the video until it expires, then one of them publishes it.
func TestPublishClaimExpires(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	id := e.jobEndedVideo(e.user("owner"), "Orphaned", storyboardSprite)
	claim := func(expires string) {
		t.Helper()
		if _, err := e.db.Pool().Exec(t.Context(), `UPDATE videos SET publish_claim = 'dead-replica',
			publish_claim_expires = now() + $2::interval WHERE id = $1`, id, expires); err != nil {
			t.Fatal(err)
		}
	}
	var published atomic.Int64
	p := e.replica(&published)

	claim("1 hour")
	if err := p.jobChanged(t.Context(), id, doneJob(id)); !errors.Is(err, errPublishing) {
		t.Fatalf("job end under another replica's live claim: %v, want errPublishing", err)
	}
	if v := e.video(id); v.Status != store.StatusQueued || len(stub.requests()) != 0 || published.Load() != 0 {
		t.Fatalf("under another's claim: video %s, %d classifier calls, %d publications; want it untouched",
			v.Status, len(stub.requests()), published.Load())
	}

	claim("-1 second")
	if err := p.jobChanged(t.Context(), id, doneJob(id)); err != nil {
		t.Fatalf("job end after the claim expired: %v", err)
	}
	e.wantPublishedOnce(id, stub, &published)
}

// TestPublishFailureReleasesClaim: when the checks cannot run, the video stays in flight and
// the next attempt publishes it at once, without waiting for the claim to expire.
func TestPublishFailureReleasesClaim(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	owner := e.user("owner")
	id := e.jobEndedVideo(owner, "Unreadable ladder", storyboardSprite)
	master := fakeLadder["hls/master.m3u8"]
	if err := e.blobs.Delete(t.Context(), layout.Ladder(id, layout.MasterPlaylist)); err != nil {
		t.Fatal(err)
	}
	var published atomic.Int64
	p := e.replica(&published)
	if err := p.jobChanged(t.Context(), id, doneJob(id)); err == nil || errors.Is(err, errPublishing) {
		t.Fatalf("publishing without a master playlist: %v, want the read's error", err)
	}
	if v := e.video(id); v.Status != store.StatusQueued {
		t.Fatalf("video %s after a failed publication, want still queued", v.Status)
	}
	e.putBlob(layout.Ladder(id, layout.MasterPlaylist), master)
	if err := p.jobChanged(t.Context(), id, doneJob(id)); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	e.wantPublishedOnce(id, stub, &published)
}

// TestPlayableFromTheRow: whether a video still processing offers playback is what the farm
// reported (its playableAt, recorded once on the row), not whether files exist in storage.
func TestPlayableFromTheRow(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.jobEndedVideo(owner, "Growing", nil) // its master playlist is in storage already
	playback := func() *oapi.Playback {
		t.Helper()
		var v oapi.Video
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil).decode(t, &v)
		if v.Status != oapi.VideoStatusProcessing {
			t.Fatalf("status %s, want processing", v.Status)
		}
		return v.Playback
	}
	encoding := func(playableAt *time.Time) {
		t.Helper()
		job := wire.Job{ID: "job-" + id, State: scheduler.JobEncoding, PlayableAt: playableAt}
		if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
			t.Fatal(err)
		}
	}

	encoding(nil)
	if p := playback(); p != nil {
		t.Errorf("playback %+v before the farm said the video is playable", p)
	}
	first := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	encoding(&first)
	if p := playback(); p == nil || !strings.HasPrefix(p.MasterUrl, "/media/"+id+"/master.m3u8") {
		t.Errorf("playback %+v once the farm said the video is playable, want its master playlist", p)
	}
	later := first.Add(time.Minute)
	encoding(&later)
	if at := e.video(id).PlayableAt; at == nil || !at.Equal(first) {
		t.Errorf("playable at %v after a second report, want the first, %v", at, first)
	}
}

// TestPublishRecordsTranscodeWarnings: what a finished job found wrong in the source (frames
// that could not be decoded) reaches the video's owner.
func TestPublishRecordsTranscodeWarnings(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.jobEndedVideo(owner, "damaged upload", nil)
	job := doneJob(id)
	job.Warnings = []string{"chunk 0: 1 frame could not be decoded (at 0.000 s); repeated pictures fill their place"}
	if err := e.srv.publisher.jobChanged(t.Context(), id, job); err != nil {
		t.Fatal(err)
	}
	if got := e.apiVideo(id, owner.Token).TranscodeWarnings; got == nil || !slices.Equal(*got, job.Warnings) {
		t.Errorf("owner sees transcodeWarnings %v, want %q", got, job.Warnings)
	}
}
