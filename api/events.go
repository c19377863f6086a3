package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/retry"
	"github.com/sunomi/sunomi/scheduler"
)

// WebSocket close codes beyond RFC 6455's, in the 4000–4999 range applications own.
const (
	closeUnauthorized websocket.StatusCode = 4401
	closeForbidden    websocket.StatusCode = 4403
	closeNotFound     websocket.StatusCode = 4404
)

// authTimeout is how long a new socket has to send its auth message.
const authTimeout = 10 * time.Second

type authMessage struct {
	Type  string `json:"type"`
	Token string `json:"token,omitempty"`
}

// VideoEvents streams a video's transcoding progress over a WebSocket. The token comes in the
// first message, never in the URL, so it stays out of access logs.
func (s *Server) VideoEvents(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the client already.
	}
	defer conn.CloseNow()
	ctx := r.Context()

	user, signedIn, code, reason := s.authenticateSocket(ctx, conn)
	if code != 0 {
		conn.Close(code, reason)
		return
	}
	v, err := s.db.Video(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !canView(v, user, signedIn)):
		conn.Close(closeNotFound, "no such video")
		return
	case err != nil:
		s.log.Error("load video for events", "video_id", id, "error", err)
		conn.Close(websocket.StatusInternalError, "something went wrong on our side")
		return
	case !canFollow(v, user, signedIn):
		conn.Close(closeForbidden, "only the owner of this video may follow its progress")
		return
	}
	// Nothing is read after the auth message; CloseRead notices when the client goes away,
	// and answers the pongs of keepAlive's pings.
	ctx = conn.CloseRead(ctx)
	stopPings := s.keepAlive(ctx, conn)
	defer stopPings()
	err = s.streamProgress(ctx, conn, v, user, signedIn)
	switch {
	case errors.Is(err, errNoLongerVisible):
		conn.Close(closeNotFound, "no such video")
	case err != nil:
		conn.Close(websocket.StatusGoingAway, "the server is shutting down")
	default:
		conn.Close(websocket.StatusNormalClosure, "")
	}
}

// keepAlive pings conn every WebSocketPing and drops it when a pong does not come back within
// as long: a client gone without closing (a laptop lid shut, a dropped route) or one that
// stops reading would otherwise hold the socket and its goroutines until the video is done.
// The returned function stops it.
func (s *Server) keepAlive(ctx context.Context, conn *websocket.Conn) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	every := s.cfg.Timeouts.WebSocketPing
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pingCtx, cancelPing := context.WithTimeout(ctx, every)
			err := conn.Ping(pingCtx)
			cancelPing()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Debug("websocket answered no ping; dropping it", "error", err)
				}
				conn.CloseNow()
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// canFollow reports whether user may follow a video they can see: anyone a public one, its
// owner and moderators the others.
func canFollow(v store.Video, user store.User, signedIn bool) bool {
	return canView(v, user, signedIn) && (v.Visibility == store.Public || (signedIn && (user.ID == v.OwnerID || user.CanModerate())))
}

// errNoLongerVisible ends a socket whose video was hidden from its follower (made private,
// held or removed) while they followed it.
var errNoLongerVisible = errors.New("the video is no longer visible to this follower")

func (s *Server) authenticateSocket(ctx context.Context, conn *websocket.Conn) (store.User, bool, websocket.StatusCode, string) {
	const refuse = `send {"type": "auth", "token": "…"} first`
	// Not a deadline on the read: a read whose context ends drops the connection without a
	// close frame, and the client would never learn why. Close unblocks the read instead.
	timer := time.AfterFunc(authTimeout, func() { conn.Close(closeUnauthorized, refuse) })
	defer timer.Stop()
	// Not wsjson.Read either: it closes with 1007 itself when the message is not JSON.
	_, data, err := conn.Read(ctx)
	var msg authMessage
	if err != nil || json.Unmarshal(data, &msg) != nil || msg.Type != "auth" {
		return store.User{}, false, closeUnauthorized, refuse
	}
	if msg.Token == "" {
		return store.User{}, false, 0, ""
	}
	user, err := s.userFromToken(ctx, msg.Token)
	if err != nil {
		return store.User{}, false, closeUnauthorized, "the access token is invalid or expired; sign in again"
	}
	return user, true, 0, ""
}

// streamProgress sends the video's progress until it is ready, then its live counts (views,
// likes, dislikes, comments) whenever they change, until it fails, is deleted or is hidden
// from the follower.
func (s *Server) streamProgress(ctx context.Context, conn *websocket.Conn, v store.Video, user store.User, signedIn bool) error {
	// Subscribed before the snapshot is read, so no change falls between the two.
	counts, stopCounts := s.counts.subscribe(v.ID)
	defer stopCounts()
	// A video still uploading, or queued while its job is yet to be submitted, has no job to
	// follow: wait until it has one.
	for v.Status == store.StatusUploading || v.AwaitsJob() {
		if err := wsjson.Write(ctx, conn, snapshotEvent(v)); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.life.Done(): // the server is closing; a hijacked socket outlives Shutdown
			return errRelayClosed
		case <-time.After(time.Second):
		}
		var err error
		if v, err = s.db.Video(ctx, v.ID); err != nil {
			return err
		}
	}
	var last oapi.ProgressEvent
	fromJob := v.InFlight()
	if fromJob {
		var ended bool
		var err error
		if last, ended, err = s.followJob(ctx, conn, v, counts, user, signedIn); ended || err != nil {
			return err
		}
	}
	// Ready (or failed, or removed): go on from the row as it is now.
	id := v.ID
	v, err := s.db.Video(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return wsjson.Write(ctx, conn, removedEvent(id))
	case err != nil:
		return err
	case !canFollow(v, user, signedIn):
		return errNoLongerVisible
	}
	if !fromJob {
		last = snapshotEvent(v)
		withClocks(&last, v, ownerOrModerator(v, user, signedIn))
		if err := wsjson.Write(ctx, conn, last); err != nil {
			return err
		}
	}
	if v.Status != store.StatusReady {
		return nil
	}
	return s.streamCounts(ctx, conn, last, counts, user, signedIn)
}

// playableFor is ev.Playable as the follower may take it. The relay's event says whether the
// farm can play the video; others than its owner and moderators may play it only once it has
// passed screening, which its row says when the job's end is delivered (the relay records
// the end, screening included, before it delivers it).
func (s *Server) playableFor(ctx context.Context, ev oapi.ProgressEvent, v store.Video, user store.User, signedIn bool) (bool, error) {
	if !ev.Playable || ownerOrModerator(v, user, signedIn) {
		return ev.Playable, nil
	}
	if ev.Status != oapi.VideoStatusReady {
		return false, nil
	}
	now, err := s.db.Video(ctx, v.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && now.Screened(), err
}

// followJob relays the job's progress, each event with the latest counts. It returns the last
// event sent when the video is ready (ended false: the counts go on), or when it has failed or
// gone (ended true).
func (s *Server) followJob(ctx context.Context, conn *websocket.Conn, v store.Video, counts <-chan countsUpdate, user store.User, signedIn bool) (last oapi.ProgressEvent, ended bool, err error) {
	events, unsubscribe := s.relay.subscribe(v.ID, v.JobID)
	defer unsubscribe()
	stats := statsOf(v)
	sent := false
	owner, row := ownerOrModerator(v, user, signedIn), v
	for {
		select {
		case <-ctx.Done():
			return last, true, ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return last, true, errRelayClosed
			}
			ev.Counts = &stats
			if ev.Playable, err = s.playableFor(ctx, ev, v, user, signedIn); err != nil {
				return last, true, err
			}
			// The public moment comes from the row, read again until it is known.
			if owner && ev.Playable && row.PublicPlayableAt() == nil {
				if row, err = s.db.Video(ctx, v.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return last, true, err
				}
			}
			withClocks(&ev, row, owner)
			if err := wsjson.Write(ctx, conn, ev); err != nil {
				return last, true, err
			}
			last, sent = ev, true
			switch ev.Status {
			case oapi.VideoStatusProcessing, oapi.VideoStatusQueued:
			case oapi.VideoStatusReady:
				return last, false, nil
			default:
				return last, true, nil
			}
		case u := <-counts:
			switch {
			case u.gone:
				return last, true, wsjson.Write(ctx, conn, removedEvent(v.ID))
			case !canFollow(u.video, user, signedIn):
				return last, true, errNoLongerVisible
			}
			if statsOf(u.video) == stats {
				continue
			}
			stats = statsOf(u.video)
			if !sent {
				continue // the first progress event will carry them
			}
			last.Counts = &stats
			if err := wsjson.Write(ctx, conn, last); err != nil {
				return last, true, err
			}
		}
	}
}

// streamCounts sends the counts of a ready video, as last with new counts, whenever they
// change, until the video is deleted or removed (a "removed" event, then a normal closure) or
// hidden from the follower.
func (s *Server) streamCounts(ctx context.Context, conn *websocket.Conn, last oapi.ProgressEvent, counts <-chan countsUpdate, user store.User, signedIn bool) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.life.Done():
			return errRelayClosed
		case u := <-counts:
			switch {
			case u.gone || u.video.Status == store.StatusRemoved:
				return wsjson.Write(ctx, conn, removedEvent(last.VideoId))
			case !canFollow(u.video, user, signedIn):
				return errNoLongerVisible
			case last.Counts != nil && statsOf(u.video) == *last.Counts:
				continue
			}
			stats := statsOf(u.video)
			last.Counts = &stats
			if err := wsjson.Write(ctx, conn, last); err != nil {
				return err
			}
		}
	}
}

// snapshotEvent describes a video that is not being transcoded right now.
func snapshotEvent(v store.Video) oapi.ProgressEvent {
	ev := oapi.ProgressEvent{VideoId: v.ID, Status: oapi.VideoStatus(v.Status), Progress: oapi.Progress{Rungs: map[string]float64{}},
		Playable: v.Playable()}
	if v.Status == store.StatusReady {
		ev.Progress.Overall = 100
		for _, r := range v.Rungs {
			ev.Progress.Rungs[r] = 100
		}
	}
	if v.FailureReason != "" {
		ev.Error = &v.FailureReason
	}
	counts := statsOf(v)
	ev.Counts = &counts
	return ev
}

// withClocks gives an event for the video's owner or a moderator the video's two clocks as its
// row v has them (owner: the follower is one of them), and strips them from anyone else's.
func withClocks(ev *oapi.ProgressEvent, v store.Video, owner bool) {
	if !owner {
		ev.PlayableAt, ev.PublicPlayableAt = nil, nil
		return
	}
	if at := v.OwnerPlayableAt(); at != nil {
		ev.PlayableAt = at
	}
	ev.PublicPlayableAt = v.PublicPlayableAt()
}

// removedEvent tells a follower the video was deleted or removed.
func removedEvent(videoID string) oapi.ProgressEvent {
	return oapi.ProgressEvent{VideoId: videoID, Status: oapi.VideoStatusRemoved, Progress: oapi.Progress{Rungs: map[string]float64{}}}
}

// relay fans the farm's event stream of each job out to the WebSockets of this replica that
// follow it: one upstream stream per job however many viewers, started by the first and
// stopped after the last. Before an event goes out, what it says about the video is recorded
// (record, the publisher's jobChanged), so a client that reacts to it by fetching the video
// sees the same.
type relay struct {
	farm   Farm
	record func(ctx context.Context, videoID string, job wire.Job) error
	now    func() time.Time
	log    *slog.Logger
	wg     sync.WaitGroup // the follow goroutines

	mu      sync.Mutex
	watches map[string]*watch // by video id
	closed  bool
}

type watch struct {
	cancel context.CancelFunc
	subs   map[chan oapi.ProgressEvent]struct{}
	last   *oapi.ProgressEvent
	// The first progress seen, for the ETA.
	startPct  float64
	startTime time.Time
	// The highest percentages sent: the farm's frame totals grow as encode tasks start
	// (each reports its own chunk's frames), so a raw percentage can fall.
	maxOverall float64
	maxRungs   map[string]float64
	// recorded is what was last recorded of the job: progress events repeat it many times a
	// second, and only a change needs the write. It, like the fields above, is touched only by
	// the watch's follow goroutine.
	recorded jobSeen
}

// jobSeen is what the database records of a job in flight: its state, and whether the farm
// has said it is playable.
type jobSeen struct {
	state    scheduler.JobState
	playable bool
}

func newRelay(farm Farm, record func(context.Context, string, wire.Job) error, now func() time.Time, log *slog.Logger) *relay {
	return &relay{farm: farm, record: record, now: now, log: log.With("component", "relay"), watches: map[string]*watch{}}
}

// subscribe returns a channel of the video's events, starting with the latest known one. The
// channel holds one event: a slow client skips intermediate progress, never the final state.
func (rl *relay) subscribe(videoID, jobID string) (<-chan oapi.ProgressEvent, func()) {
	ch := make(chan oapi.ProgressEvent, 1)
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.closed {
		close(ch)
		return ch, func() {}
	}
	w := rl.watches[videoID]
	if w == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w = &watch{cancel: cancel, subs: map[chan oapi.ProgressEvent]struct{}{}}
		rl.watches[videoID] = w
		rl.wg.Go(func() { rl.follow(ctx, videoID, jobID, w) })
	}
	w.subs[ch] = struct{}{}
	if w.last != nil {
		ch <- *w.last
	}
	return ch, func() { rl.unsubscribe(videoID, w, ch) }
}

func (rl *relay) unsubscribe(videoID string, w *watch, ch chan oapi.ProgressEvent) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if _, ok := w.subs[ch]; !ok {
		return
	}
	delete(w.subs, ch)
	if len(w.subs) == 0 && rl.watches[videoID] == w {
		w.cancel()
		delete(rl.watches, videoID)
	}
}

// follow streams the job's events from the farm, reconnecting with backoff, until the job
// ends or nobody listens.
func (rl *relay) follow(ctx context.Context, videoID, jobID string, w *watch) {
	backoff := retry.NewBackoff(200*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := rl.farm.WatchJob(ctx, jobID, func(e wire.Event) error {
			return rl.deliver(ctx, videoID, w, e.Job)
		})
		switch {
		case err == nil || errors.Is(err, errJobEnded) || ctx.Err() != nil:
			return
		case isJobGone(err):
			_ = rl.deliver(ctx, videoID, w, lostJob(jobID))
			return
		case errors.Is(err, errPublishing):
			// Another replica is publishing the video: its end goes out once the row shows it.
			rl.log.Debug("wait for the video to be published", "video_id", videoID, "job_id", jobID)
		default:
			rl.log.Warn("follow job events", "video_id", videoID, "job_id", jobID, "error", err)
		}
		if !retry.Sleep(ctx, backoff.Next()) {
			return
		}
	}
}

var (
	errJobEnded    = errors.New("job ended")
	errRelayClosed = errors.New("the server is shutting down")
)

// deliver turns a job update into an event for every subscriber, after recording what changed
// in the database. An end that could not be recorded is not delivered: follow's reconnect
// tries again (and the sync loop regardless).
func (rl *relay) deliver(ctx context.Context, videoID string, w *watch, job wire.Job) error {
	ended := job.State.Finished()
	if seen := (jobSeen{job.State, job.PlayableAt != nil}); seen != w.recorded {
		if err := rl.record(ctx, videoID, job); err != nil {
			if ended {
				return err
			}
			rl.log.Warn("record job progress", "video_id", videoID, "job_id", job.ID, "error", err)
		} else {
			w.recorded = seen
		}
	}
	ev := rl.event(videoID, w, job)
	rl.mu.Lock()
	w.last = &ev
	for ch := range w.subs {
		select {
		case <-ch: // drop the stale event the client has not taken yet
		default:
		}
		ch <- ev
	}
	rl.mu.Unlock()
	if ended {
		return errJobEnded
	}
	return nil
}

func (rl *relay) event(videoID string, w *watch, job wire.Job) oapi.ProgressEvent {
	ev := oapi.ProgressEvent{
		VideoId:     videoID,
		Status:      videoStatus(job.State),
		Progress:    oapi.Progress{Rungs: map[string]float64{}},
		ChunksDone:  job.ChunksDone,
		ChunksTotal: job.ChunksTotal,
		Playable:    job.PlayableAt != nil || job.State == scheduler.JobDone,
		PlayableAt:  job.PlayableAt,
	}
	if w.maxRungs == nil {
		w.maxRungs = map[string]float64{}
	}
	var done, total int64
	for _, r := range job.Rungs {
		pct := max(percent(r.FramesDone, r.FramesTotal), w.maxRungs[r.Name])
		ev.Progress.Rungs[r.Name], w.maxRungs[r.Name] = pct, pct
		done += r.FramesDone
		total += r.FramesTotal
	}
	ev.Progress.Overall = max(percent(done, total), w.maxOverall)
	w.maxOverall = ev.Progress.Overall
	if job.State == scheduler.JobDone {
		ev.Progress.Overall = 100
		for name := range ev.Progress.Rungs {
			ev.Progress.Rungs[name] = 100
		}
	}
	if ev.Status == oapi.VideoStatusFailed {
		reason := failureReason(job)
		ev.Error = &reason
	}
	// ETA from the rate since this replica first saw progress.
	now := rl.now()
	if w.startTime.IsZero() && ev.Progress.Overall > 0 {
		w.startTime, w.startPct = now, ev.Progress.Overall
	} else if elapsed := now.Sub(w.startTime).Seconds(); !w.startTime.IsZero() && elapsed >= 1 && ev.Progress.Overall > w.startPct && ev.Status == oapi.VideoStatusProcessing {
		rate := (ev.Progress.Overall - w.startPct) / elapsed
		eta := (100 - ev.Progress.Overall) / rate
		ev.EtaSeconds = &eta
	}
	return ev
}

func percent(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return min(100, float64(done)*100/float64(total))
}

// videoStatus maps a job state to the video status users see.
func videoStatus(jobState scheduler.JobState) oapi.VideoStatus {
	switch jobState {
	case scheduler.JobQueued:
		return oapi.VideoStatusQueued
	case scheduler.JobDone:
		return oapi.VideoStatusReady
	case scheduler.JobFailed, scheduler.JobCanceled:
		return oapi.VideoStatusFailed
	default:
		return oapi.VideoStatusProcessing
	}
}

// videoGone tells the video's followers it was deleted and stops following its job.
func (rl *relay) videoGone(videoID string) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	w := rl.watches[videoID]
	if w == nil {
		return
	}
	ev := removedEvent(videoID)
	for ch := range w.subs {
		select {
		case <-ch:
		default:
		}
		ch <- ev
	}
	// Detach the subscribers: an event of the job's cancellation that is being published
	// right now must not replace "removed".
	w.subs = nil
	w.cancel()
	delete(rl.watches, videoID)
}

// Close stops every upstream stream, ends every subscription and waits, until ctx ends, for
// the streams' goroutines to return.
func (rl *relay) Close(ctx context.Context) error {
	rl.mu.Lock()
	rl.closed = true
	for id, w := range rl.watches {
		w.cancel()
		for ch := range w.subs {
			close(ch)
		}
		w.subs = nil
		delete(rl.watches, id)
	}
	rl.mu.Unlock()
	return waitFor(ctx, &rl.wg)
}

// waitFor waits for wg's goroutines to return, or for ctx to end.
func waitFor(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
