package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
)

// clipSeconds is the length of the clip the farm transcodes in these tests: short, so a
// one-agent farm is done in seconds, but long enough for several chunks.
const clipSeconds = 6

// jobTimeout bounds one transcoding job of the clip on a one-agent farm.
const jobTimeout = 2 * time.Minute

// testClip is a 640×360 H.264 + AAC MP4 of clipSeconds.
func testClip(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testmedia.Generate(t, testmedia.CFR(clipSeconds, 640, 360, 30, true)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// complete finishes an upload and checks the video is queued, or already processing: the
// reconciliation loop may learn from the farm that the job started before the answer is read.
func (e *env) complete(token, id string) oapi.Video {
	e.t.Helper()
	var v oapi.Video
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", token, nil).decode(e.t, &v)
	if v.Status != oapi.VideoStatusQueued && v.Status != oapi.VideoStatusProcessing {
		e.t.Fatalf("completed video is %s, want queued or processing", v.Status)
	}
	return v
}

// socket is a client of /api/v1/videos/{id}/events.
type socket struct {
	t    *testing.T
	conn *websocket.Conn
}

// dial opens the events socket of a video without authenticating.
func (e *env) dial(ctx context.Context, id string) *socket {
	e.t.Helper()
	u := "ws" + strings.TrimPrefix(e.URL, "http") + "/api/v1/videos/" + id + "/events"
	conn, resp, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		e.t.Fatalf("dial %s: status %d", u, resp.StatusCode)
	}
	e.t.Cleanup(func() { conn.CloseNow() })
	return &socket{t: e.t, conn: conn}
}

// follow dials, authenticates with token ("" for an anonymous viewer) and collects events.
func (e *env) follow(ctx context.Context, id, token string) *socket {
	e.t.Helper()
	s := e.dial(ctx, id)
	s.auth(ctx, token)
	return s
}

func (s *socket) auth(ctx context.Context, token string) {
	s.t.Helper()
	if err := wsjson.Write(ctx, s.conn, authMessage{Type: "auth", Token: token}); err != nil {
		s.t.Fatalf("send the auth message: %v", err)
	}
}

// firstInFlight reads a socket's first event, which must show a completed upload's video
// queued or transcoding.
func firstInFlight(ctx context.Context, t *testing.T, s *socket) oapi.ProgressEvent {
	t.Helper()
	var first oapi.ProgressEvent
	if err := wsjson.Read(ctx, s.conn, &first); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if first.Status != oapi.VideoStatusQueued && first.Status != oapi.VideoStatusProcessing {
		t.Fatalf("first event %+v, want queued or processing", first)
	}
	return first
}

// closed is how the server ended a socket.
type closed struct {
	code   websocket.StatusCode
	reason string
	err    error // set when the socket ended without a close frame
}

// collect reads events until the server closes the socket or ctx ends.
func (s *socket) collect(ctx context.Context) ([]oapi.ProgressEvent, closed) {
	return s.collectUntil(ctx, func(oapi.ProgressEvent) bool { return false })
}

// collectUntil reads events until one satisfies stop (the socket stays open: closed's code is
// 0), the server closes the socket, or ctx ends.
func (s *socket) collectUntil(ctx context.Context, stop func(oapi.ProgressEvent) bool) ([]oapi.ProgressEvent, closed) {
	var events []oapi.ProgressEvent
	for {
		var ev oapi.ProgressEvent
		err := wsjson.Read(ctx, s.conn, &ev)
		if err == nil {
			events = append(events, ev)
			if stop(ev) {
				return events, closed{}
			}
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return events, closed{code: ce.Code, reason: ce.Reason}
		}
		return events, closed{code: -1, err: err}
	}
}

// checkProgress checks a complete event stream of a video that was transcoded successfully.
func checkProgress(t *testing.T, id string, events []oapi.ProgressEvent, end closed) {
	t.Helper()
	defer func() {
		if t.Failed() {
			for i, ev := range events {
				t.Logf("event %d: %s overall=%.1f rungs=%v chunks=%d/%d playable=%t", i, ev.Status,
					ev.Progress.Overall, ev.Progress.Rungs, ev.ChunksDone, ev.ChunksTotal, ev.Playable)
			}
		}
	}()
	if end.code != 0 {
		t.Errorf("socket ended with %d %q (%v), want it open after ready (the live counts follow)", end.code, end.reason, end.err)
	}
	if len(events) == 0 {
		t.Fatal("no events")
	}
	var statuses []oapi.VideoStatus
	for i, ev := range events {
		if ev.VideoId != id {
			t.Errorf("event %d is about video %q, want %q", i, ev.VideoId, id)
		}
		if len(statuses) == 0 || statuses[len(statuses)-1] != ev.Status {
			statuses = append(statuses, ev.Status)
		}
		if ev.Progress.Overall < 0 || ev.Progress.Overall > 100 {
			t.Errorf("event %d: overall %v, want 0–100", i, ev.Progress.Overall)
		}
		if i > 0 && ev.Progress.Overall < events[i-1].Progress.Overall {
			t.Errorf("event %d: overall went back from %v to %v", i, events[i-1].Progress.Overall, ev.Progress.Overall)
		}
		if i > 0 && events[i-1].Playable && !ev.Playable {
			t.Errorf("event %d: playable went back to false", i)
		}
		if ev.ChunksDone > ev.ChunksTotal && ev.ChunksTotal > 0 {
			t.Errorf("event %d: %d of %d chunks done", i, ev.ChunksDone, ev.ChunksTotal)
		}
		if ev.EtaSeconds != nil && (*ev.EtaSeconds < 0 || math.IsNaN(*ev.EtaSeconds) || math.IsInf(*ev.EtaSeconds, 0)) {
			t.Errorf("event %d: eta %v", i, *ev.EtaSeconds)
		}
		if ev.Status != oapi.VideoStatusFailed && ev.Error != nil {
			t.Errorf("event %d: status %s with error %q", i, ev.Status, *ev.Error)
		}
	}
	// queued → processing → ready, possibly starting later (the job may have started before
	// the socket connected); never back.
	order := map[oapi.VideoStatus]int{oapi.VideoStatusQueued: 0, oapi.VideoStatusProcessing: 1, oapi.VideoStatusReady: 2}
	for i, st := range statuses {
		if _, ok := order[st]; !ok {
			t.Errorf("statuses %v: unexpected %s", statuses, st)
		} else if i > 0 && order[st] < order[statuses[i-1]] {
			t.Errorf("statuses %v go backwards", statuses)
		}
	}
	if statuses[0] == oapi.VideoStatusReady {
		t.Errorf("statuses %v: the socket connected while the video was in flight but saw no progress", statuses)
	}
	last := events[len(events)-1]
	if last.Status != oapi.VideoStatusReady || last.Progress.Overall != 100 || !last.Playable {
		t.Errorf("last event %+v, want ready, 100 %%, playable", last)
	}
	if last.ChunksTotal == 0 || last.ChunksDone != last.ChunksTotal {
		t.Errorf("last event: %d of %d chunks done, want all of at least one", last.ChunksDone, last.ChunksTotal)
	}
	if len(last.Progress.Rungs) == 0 {
		t.Errorf("last event has no rungs")
	}
	for name, pct := range last.Progress.Rungs {
		if pct != 100 {
			t.Errorf("last event: rung %s at %v %%, want 100", name, pct)
		}
	}
}

func isReady(ev oapi.ProgressEvent) bool { return ev.Status == oapi.VideoStatusReady }

func rungNames(ev oapi.ProgressEvent) []string {
	var names []string
	for name := range ev.Progress.Rungs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func TestVideoEvents(t *testing.T) {
	e := newEnv(t, withFarm(1))
	owner := e.user("owner")
	created := e.upload(owner.Token, "Events", testClip(t))
	id := created.VideoId

	ctx, cancel := context.WithTimeout(t.Context(), jobTimeout)
	defer cancel()
	e.complete(owner.Token, id)

	// Two sockets on the same video: the owner and an anonymous viewer of the public video.
	type result struct {
		events []oapi.ProgressEvent
		end    closed
	}
	followers := map[string]string{"owner": owner.Token, "anonymous": ""}
	results := map[string]result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, token := range followers {
		s := e.follow(ctx, id, token)
		wg.Go(func() {
			events, end := s.collectUntil(ctx, isReady)
			mu.Lock()
			defer mu.Unlock()
			results[name] = result{events, end}
		})
	}
	// What the watch page does: when an event says the video is playable, it fetches the
	// video and offers playback. The row says so by then, whether the video is still
	// processing or already ready.
	events, _ := e.follow(ctx, id, owner.Token).collectUntil(ctx, func(ev oapi.ProgressEvent) bool { return ev.Playable })
	if len(events) > 0 && events[len(events)-1].Playable {
		var v oapi.Video
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil).decode(t, &v)
		if v.Playback == nil {
			t.Errorf("the socket said the video is playable (%s), but GET gives no playback (%s)", events[len(events)-1].Status, v.Status)
		}
	} else {
		t.Errorf("no event said the video is playable: %+v", events)
	}
	wg.Wait()
	for name := range followers {
		t.Run(name, func(t *testing.T) {
			r := results[name]
			checkProgress(t, id, r.events, r.end)
			if name == "owner" && len(r.events) > 0 {
				// The owner learns both clocks: playable for the owner, then for everyone.
				if last := r.events[len(r.events)-1]; last.PlayableAt == nil || last.PublicPlayableAt == nil || last.PublicPlayableAt.Before(*last.PlayableAt) {
					t.Errorf("owner's last event has playableAt %v, publicPlayableAt %v; want both, public not earlier", last.PlayableAt, last.PublicPlayableAt)
				}
			}
			if name == "owner" {
				return
			}
			// Others may play the video only once it has passed screening, when its job ended.
			for i, ev := range r.events {
				if ev.Playable && ev.Status != oapi.VideoStatusReady {
					t.Errorf("event %d: %s and playable for an anonymous follower of a video not screened yet", i, ev.Status)
				}
				if ev.PlayableAt != nil || ev.PublicPlayableAt != nil {
					t.Errorf("event %d carries the owner's clocks to an anonymous follower", i)
				}
			}
		})
	}
	if len(results["owner"].events) == 0 {
		t.Fatal("the owner's socket got no events")
	}
	final := results["owner"].events[len(results["owner"].events)-1]

	t.Run("public clock observed", func(t *testing.T) {
		if n, _ := publicClock(t, e); n != 1 {
			t.Errorf("public time to playable observed %d times, want 1", n)
		}
	})

	t.Run("video is ready", func(t *testing.T) {
		var v oapi.Video
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil).decode(t, &v)
		if v.Status != oapi.VideoStatusReady {
			t.Fatalf("status %s, want ready", v.Status)
		}
		if v.DurationSeconds == nil || math.Abs(*v.DurationSeconds-clipSeconds) > 0.5 {
			t.Errorf("duration %v, want %d ± 0.5 s", v.DurationSeconds, clipSeconds)
		}
		if v.Rungs == nil || len(*v.Rungs) == 0 {
			t.Fatalf("no rungs")
		}
		got := slices.Sorted(slices.Values(*v.Rungs))
		if want := rungNames(final); !slices.Equal(got, want) {
			t.Errorf("rungs %v, want those of the progress events %v", got, want)
		}
		if v.Playback == nil {
			t.Fatal("a ready video without playback")
		}
		r := e.must(http.StatusOK, "GET", v.Playback.MasterUrl, "", nil)
		if ct := r.header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
			t.Errorf("master playlist Content-Type %q", ct)
		}
		if !strings.HasPrefix(string(r.body), "#EXTM3U") {
			t.Errorf("master playlist:\n%s", r.body)
		}
		for _, rung := range *v.Rungs {
			if !strings.Contains(string(r.body), rung+"/") {
				t.Errorf("master playlist has no variant of %s:\n%s", rung, r.body)
			}
		}
	})

	t.Run("ready video gets a snapshot and stays open", func(t *testing.T) {
		events, end := e.follow(ctx, id, "").collectUntil(ctx, isReady)
		if len(events) != 1 || events[0].Status != oapi.VideoStatusReady || events[0].Progress.Overall != 100 || !events[0].Playable {
			t.Fatalf("events %+v, want one ready snapshot", events)
		}
		if got, want := rungNames(events[0]), rungNames(final); !slices.Equal(got, want) {
			t.Errorf("snapshot rungs %v, want %v", got, want)
		}
		if end.code != 0 {
			t.Errorf("closed with %d %q, want it open for the live counts", end.code, end.reason)
		}
	})

	t.Run("relay let go of the job", func(t *testing.T) {
		eventually(t, 5*time.Second, "the relay to stop following", func() bool {
			e.srv.relay.mu.Lock()
			defer e.srv.relay.mu.Unlock()
			return len(e.srv.relay.watches) == 0
		})
	})

	// The same (ready) video, now unlisted or private, and sockets that must be refused.
	other := e.user("other")
	mod := e.moderator()
	setVisibility := func(vis oapi.Visibility) {
		e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+id, owner.Token, map[string]any{"visibility": vis})
	}
	// An accepted socket gets the ready snapshot and stays open for the live counts.
	const accepted websocket.StatusCode = 0
	cases := []struct {
		name       string
		visibility oapi.Visibility
		send       func(ctx context.Context, s *socket) // the first message, or none
		want       websocket.StatusCode
	}{
		{"unlisted, another user", oapi.Unlisted, tokenMessage(other.Token), closeForbidden},
		{"unlisted, anonymous", oapi.Unlisted, tokenMessage(""), closeForbidden},
		{"unlisted, owner", oapi.Unlisted, tokenMessage(owner.Token), accepted},
		{"unlisted, moderator", oapi.Unlisted, tokenMessage(mod.Token), accepted},
		{"private, another user", oapi.Private, tokenMessage(other.Token), closeNotFound},
		{"private, moderator", oapi.Private, tokenMessage(mod.Token), accepted},
		{"bad token", oapi.Public, tokenMessage("not-a-token"), closeUnauthorized},
		{"garbage first message", oapi.Public, rawMessage("hello"), closeUnauthorized},
		{"wrong message type", oapi.Public, rawMessage(`{"type":"subscribe","token":""}`), closeUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setVisibility(c.visibility)
			s := e.dial(ctx, id)
			c.send(ctx, s)
			events, end := s.collectUntil(ctx, isReady)
			if end.code != c.want {
				t.Fatalf("closed with %d %q (%v), want %d", end.code, end.reason, end.err, c.want)
			}
			if c.want != accepted && len(events) > 0 {
				t.Errorf("a refused socket got events %+v", events)
			}
			if c.want != accepted && end.reason == "" {
				t.Errorf("close %d without a reason", end.code)
			}
			if c.want == accepted && (len(events) != 1 || events[0].Status != oapi.VideoStatusReady) {
				t.Errorf("events %+v, want one ready snapshot", events)
			}
		})
	}

	t.Run("unknown video", func(t *testing.T) {
		s := e.dial(ctx, "AAAAAAAAAAA")
		s.auth(ctx, owner.Token)
		if _, end := s.collect(ctx); end.code != closeNotFound {
			t.Fatalf("closed with %d %q (%v), want %d", end.code, end.reason, end.err, closeNotFound)
		}
	})

	t.Run("no auth message", func(t *testing.T) {
		setVisibility(oapi.Public)
		start := time.Now()
		_, end := e.dial(ctx, id).collect(ctx)
		if end.code != closeUnauthorized {
			t.Fatalf("closed with %d %q (%v), want %d", end.code, end.reason, end.err, closeUnauthorized)
		}
		if took := time.Since(start); took < authTimeout-time.Second || took > authTimeout+5*time.Second {
			t.Errorf("closed after %s, want about %s", took, authTimeout)
		}
	})
}

func tokenMessage(token string) func(context.Context, *socket) {
	return func(ctx context.Context, s *socket) { s.auth(ctx, token) }
}

func rawMessage(msg string) func(context.Context, *socket) {
	return func(ctx context.Context, s *socket) {
		if err := s.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			s.t.Fatal(err)
		}
	}
}

func TestVideoEventsFailedJob(t *testing.T) {
	e := newEnv(t, withFarm(1))
	owner := e.user("owner")
	junk := make([]byte, 256<<10)
	_, _ = io.ReadFull(rand.Reader, junk)
	id := e.upload(owner.Token, "Not a video", junk).VideoId

	ctx, cancel := context.WithTimeout(t.Context(), jobTimeout)
	defer cancel()
	// One socket from before the upload is complete, which waits for it, and one from after.
	early := e.follow(ctx, id, owner.Token)
	var ev oapi.ProgressEvent
	if err := wsjson.Read(ctx, early.conn, &ev); err != nil || ev.Status != oapi.VideoStatusUploading {
		t.Fatalf("first event of a video being uploaded: %+v, %v; want uploading", ev, err)
	}
	e.complete(owner.Token, id)
	events, end := e.follow(ctx, id, owner.Token).collect(ctx)
	earlyEvents, earlyEnd := early.collect(ctx)
	if len(earlyEvents) == 0 || earlyEvents[len(earlyEvents)-1].Status != oapi.VideoStatusFailed || earlyEnd.code != websocket.StatusNormalClosure {
		t.Errorf("the socket opened during the upload got %+v and %d %q, want failed last and a normal closure", earlyEvents, earlyEnd.code, earlyEnd.reason)
	}
	if end.code != websocket.StatusNormalClosure {
		t.Errorf("closed with %d %q (%v), want normal", end.code, end.reason, end.err)
	}
	if len(events) == 0 {
		t.Fatal("no events")
	}
	last := events[len(events)-1]
	if last.Status != oapi.VideoStatusFailed || last.Error == nil || *last.Error == "" {
		t.Fatalf("last event %+v, want failed with an error", last)
	}
	if last.Playable {
		t.Errorf("a failed video is playable")
	}

	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil).decode(t, &v)
	if v.Status != oapi.VideoStatusFailed || v.FailureReason == nil || *v.FailureReason == "" {
		t.Fatalf("video %+v, want failed with a reason", v)
	}
	if *v.FailureReason != *last.Error {
		t.Errorf("failureReason %q, the socket said %q", *v.FailureReason, *last.Error)
	}
	if v.Playback != nil {
		t.Errorf("a failed video has playback %+v", v.Playback)
	}
	// Nobody else sees a failed video.
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/"+id, "", nil)

	// A socket opened afterwards gets the failure as a snapshot.
	events, _ = e.follow(ctx, id, owner.Token).collect(ctx)
	if len(events) != 1 || events[0].Status != oapi.VideoStatusFailed || events[0].Error == nil || *events[0].Error != *v.FailureReason {
		t.Errorf("late socket got %+v, want one failed snapshot", events)
	}
}

// TestVideoSyncWithoutSocket: nobody follows the video while its job ends, so only the sync
// loop can learn that it is ready.
func TestVideoSyncWithoutSocket(t *testing.T) {
	e := newEnv(t, withFarm(1))
	owner := e.user("owner")
	id := e.upload(owner.Token, "Nobody watches", testClip(t)).VideoId

	ctx, cancel := context.WithTimeout(t.Context(), jobTimeout)
	defer cancel()
	e.complete(owner.Token, id)

	// Follow for one event, then go away.
	s := e.follow(ctx, id, owner.Token)
	firstInFlight(ctx, t, s)
	s.conn.Close(websocket.StatusNormalClosure, "")
	eventually(t, 5*time.Second, "the relay to stop following after the socket closed", func() bool {
		e.srv.relay.mu.Lock()
		defer e.srv.relay.mu.Unlock()
		return len(e.srv.relay.watches) == 0
	})

	job := e.farm.WaitJob(e.video(id).JobID, jobTimeout)
	if job.State != scheduler.JobDone {
		t.Fatalf("job %s ended %s: %s", job.ID, job.State, job.Error)
	}
	eventually(t, 10*time.Second, "the sync loop to mark the video ready", func() bool {
		return e.video(id).Status == store.StatusReady
	})
	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil).decode(t, &v)
	if v.DurationSeconds == nil || math.Abs(*v.DurationSeconds-clipSeconds) > 0.5 || v.Rungs == nil || len(*v.Rungs) == 0 {
		t.Errorf("reconciled video %+v, want the duration and rungs", v)
	}
}

// TestVideoEventsInFlight holds the farm's only agent still (SIGSTOP), so that videos stay in
// flight for as long as the test needs: a socket that joins late, a deletion, and a shutdown
// happen while the job is certainly not over.
func TestVideoEventsInFlight(t *testing.T) {
	e := newEnv(t, withFarm(1))
	agent := e.farm.Agents[0]
	agent.Freeze()
	t.Cleanup(agent.Thaw)
	owner := e.user("owner")
	clip := testClip(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// start completes a new video and follows it as its owner until the first event.
	start := func(t *testing.T, title string) (string, *socket, oapi.ProgressEvent) {
		t.Helper()
		id := e.upload(owner.Token, title, clip).VideoId
		e.complete(owner.Token, id)
		s := e.follow(ctx, id, owner.Token)
		return id, s, firstInFlight(ctx, t, s)
	}

	t.Run("a late socket gets the latest event at once", func(t *testing.T) {
		id, first, ev := start(t, "Late joiner")
		late := e.follow(ctx, id, "")
		var got oapi.ProgressEvent
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		if err := wsjson.Read(rctx, late.conn, &got); err != nil {
			t.Fatalf("the late socket got nothing: %v", err)
		}
		// The job may have moved on (queued → processing) between the two sockets; either way
		// the late one starts from the relay's latest event, still in flight.
		inFlight := got.Status == oapi.VideoStatusQueued || got.Status == oapi.VideoStatusProcessing
		if got.VideoId != id || !inFlight || (ev.Status == oapi.VideoStatusProcessing && got.Status != ev.Status) {
			t.Errorf("late socket's first event %+v, want the latest in-flight event (first socket saw %s)", got, ev.Status)
		}
		// One upstream stream for both.
		e.srv.relay.mu.Lock()
		var subs int
		if w := e.srv.relay.watches[id]; w != nil {
			subs = len(w.subs)
		}
		e.srv.relay.mu.Unlock()
		if subs != 2 {
			t.Errorf("%d subscribers of the video's watch, want 2", subs)
		}

		// Deleting the video tells both sockets and ends them.
		e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+id, owner.Token, nil)
		for name, s := range map[string]*socket{"owner": first, "late": late} {
			events, end := s.collect(ctx)
			if len(events) == 0 || events[len(events)-1].Status != oapi.VideoStatusRemoved {
				t.Errorf("%s: events after the delete %+v, want removed last", name, events)
			}
			if end.code != websocket.StatusNormalClosure {
				t.Errorf("%s: closed with %d %q (%v), want normal", name, end.code, end.reason, end.err)
			}
		}
		eventually(t, 5*time.Second, "the relay to stop following the deleted video", func() bool {
			e.srv.relay.mu.Lock()
			defer e.srv.relay.mu.Unlock()
			return e.srv.relay.watches[id] == nil
		})
	})

	t.Run("job canceled at the farm", func(t *testing.T) {
		// An operator cancels the job with the farm's CLI: followers learn it failed, and why,
		// in the same words as the video's failureReason.
		id, s, _ := start(t, "Canceled")
		if err := e.farm.Client().CancelJob(ctx, e.video(id).JobID); err != nil {
			t.Fatal(err)
		}
		events, end := s.collect(ctx)
		if end.code != websocket.StatusNormalClosure {
			t.Errorf("closed with %d %q (%v), want normal", end.code, end.reason, end.err)
		}
		if len(events) == 0 {
			t.Fatal("no event after the cancellation")
		}
		var v oapi.Video
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil).decode(t, &v)
		if v.Status != oapi.VideoStatusFailed || v.FailureReason == nil {
			t.Fatalf("video %+v, want failed with a reason", v)
		}
		last := events[len(events)-1]
		if last.Status != oapi.VideoStatusFailed || last.Error == nil || *last.Error != *v.FailureReason {
			t.Errorf("last event %+v (error %v), want failed with the error %q", last, last.Error, *v.FailureReason)
		}
	})

	t.Run("shutdown says going away", func(t *testing.T) {
		// A client must be able to tell "the video is done" (1000) from "this server is
		// going away, reconnect" (1001): the job is still running.
		_, s, _ := start(t, "Shutdown")
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		if err := e.srv.Close(cctx); err != nil {
			t.Fatalf("close the server: %v", err)
		}
		events, end := s.collect(ctx)
		for _, ev := range events {
			if ev.Status != oapi.VideoStatusQueued && ev.Status != oapi.VideoStatusProcessing {
				t.Errorf("event %+v while the agent is stopped", ev)
			}
		}
		if end.code != websocket.StatusGoingAway {
			t.Fatalf("closed with %d %q (%v), want %d (going away)", end.code, end.reason, end.err, websocket.StatusGoingAway)
		}
	})
}

func TestLiveCounts(t *testing.T) {
	e := newEnv(t)
	owner, alice := e.user("owner"), e.user("alice")
	id := e.readyVideo(owner, store.Public, "Live")
	ctx := t.Context()

	// A second replica on the same database, with its own sockets.
	replica, err := New(e.replicaConfig())
	if err != nil {
		t.Fatal(err)
	}
	rs := httptest.NewServer(replica.Handler())
	if err := replica.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rs.CloseClientConnections()
		rs.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = replica.Close(cctx)
	})

	here := countsSocket(t, ctx, e.URL, id, "")
	there := countsSocket(t, ctx, rs.URL, id, alice.Token)
	for name, s := range map[string]*socket{"this replica": here, "the other replica": there} {
		ev := s.waitCounts(ctx, name+": the first snapshot", func(oapi.Stats) bool { return true })
		if ev.Status != oapi.VideoStatusReady || !ev.Playable || *ev.Counts != (oapi.Stats{}) {
			t.Fatalf("%s: first event %+v (counts %+v), want ready with zero counts", name, ev, *ev.Counts)
		}
	}

	// Every change made through this replica reaches both sockets.
	e.must(http.StatusOK, "PUT", "/api/v1/videos/"+id+"/rating", alice.Token, map[string]any{"rating": "like"})
	for name, s := range map[string]*socket{"this replica": here, "the other replica": there} {
		s.waitCounts(ctx, name+": the like", func(c oapi.Stats) bool { return c.Likes == 1 })
	}
	e.must(http.StatusCreated, "POST", "/api/v1/videos/"+id+"/comments", alice.Token, map[string]any{"body": "nice"})
	e.view(id, alice.Token, "", nil)
	e.must(http.StatusOK, "PUT", "/api/v1/videos/"+id+"/rating", owner.Token, map[string]any{"rating": "dislike"})
	want := oapi.Stats{Views: 1, Likes: 1, Dislikes: 1, Comments: 1}
	for name, s := range map[string]*socket{"this replica": here, "the other replica": there} {
		ev := s.waitCounts(ctx, name+": the comment, view and dislike", func(c oapi.Stats) bool { return c == want })
		if ev.Status != oapi.VideoStatusReady || ev.VideoId != id {
			t.Errorf("%s: counts event %+v", name, ev)
		}
	}

	t.Run("debounced", func(t *testing.T) {
		// A burst of 30 views (anonymous viewers at 30 addresses) arrives as a few events, the
		// last with every view counted.
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() { e.viewFrom(fmt.Sprintf("127.0.1.%d", i+1), id, "", "", nil) })
		}
		wg.Wait()
		events := 0
		for {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			var ev oapi.ProgressEvent
			err := wsjson.Read(rctx, there.conn, &ev)
			cancel()
			if err != nil {
				t.Fatalf("waiting for the burst: %v", err)
			}
			events++
			if ev.Counts.Views == 31 {
				break
			}
		}
		// At most one event per 250 ms, plus the one that may start the window.
		if limit := int(time.Since(start)/countsDebounce) + 2; events > limit {
			t.Errorf("%d events for a burst of 30 views in %s, want at most %d", events, time.Since(start), limit)
		}
	})

	t.Run("listeners reconnect", func(t *testing.T) {
		// Cut both replicas' LISTEN connections; a change made meanwhile still arrives, heard
		// after the reconnection or caught by the refresh that follows it.
		if n := e.sqlCount(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%'`); n != 2 {
			t.Fatalf("terminated %d listening connections, want 2", n)
		}
		e.must(http.StatusOK, "PUT", "/api/v1/videos/"+id+"/rating", owner.Token, map[string]any{"rating": "like"})
		for name, s := range map[string]*socket{"this replica": here, "the other replica": there} {
			s.waitCounts(ctx, name+": the like after the reconnection", func(c oapi.Stats) bool { return c.Likes == 2 && c.Dislikes == 0 })
		}
	})

	t.Run("hidden from a follower", func(t *testing.T) {
		e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+id, owner.Token, map[string]any{"visibility": "private"})
		for name, s := range map[string]*socket{"this replica": here, "the other replica": there} {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, end := s.collect(rctx)
			cancel()
			if end.code != closeNotFound {
				t.Errorf("%s: closed with %d %q (%v), want %d", name, end.code, end.reason, end.err, closeNotFound)
			}
		}
	})

	t.Run("deleted", func(t *testing.T) {
		ownerSocket := countsSocket(t, ctx, rs.URL, id, owner.Token)
		ownerSocket.waitCounts(ctx, "the snapshot", func(oapi.Stats) bool { return true })
		e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+id, owner.Token, nil)
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		events, end := ownerSocket.collect(rctx)
		if len(events) == 0 || events[len(events)-1].Status != oapi.VideoStatusRemoved {
			t.Errorf("events after the delete %+v, want removed last", events)
		}
		if end.code != websocket.StatusNormalClosure {
			t.Errorf("closed with %d %q (%v), want normal", end.code, end.reason, end.err)
		}
	})

	t.Run("nothing left behind", func(t *testing.T) {
		for name, srv := range map[string]*Server{"this replica": e.srv, "the other replica": replica} {
			eventually(t, 5*time.Second, name+" to forget the sockets", func() bool {
				srv.counts.mu.Lock()
				defer srv.counts.mu.Unlock()
				return len(srv.counts.topics) == 0
			})
		}
	})
}
