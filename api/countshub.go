package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/retry"
)

// countsChannel is the PostgreSQL notification channel on which a trigger (migration 00003)
// announces, with the video id as payload, every change of a video's counts, status,
// visibility or moderation, and its deletion.
const countsChannel = "sunomi_counts"

// countsDebounce is the shortest time between two reloads of one video's counts on a replica:
// a popular video gets many views a second, and its followers need not see each one.
const countsDebounce = 250 * time.Millisecond

// countsUpdate is the state of a video after a change; gone when it was deleted.
type countsUpdate struct {
	video store.Video
	gone  bool
}

// countsHub fans the changes announced on countsChannel out to this replica's WebSockets.
// It reloads a changed video once per countsDebounce however many sockets follow it, and
// ignores videos nobody here follows. It lives from Start to Close: sockets that follow a
// video end on their own context, the hub only stops feeding them.
type countsHub struct {
	db  *store.Store
	log *slog.Logger

	// life ends at Close; wg counts the listener and every reload scheduled or running.
	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	topics map[string]*countsTopic // by video id; only videos with subscribers
	closed bool
}

type countsTopic struct {
	subs map[chan countsUpdate]struct{}
	// pending is the scheduled reload, nil when none; last is when the latest one started.
	pending *time.Timer
	last    time.Time
}

// newCountsHub reads changed videos from db; Start begins listening.
func newCountsHub(db *store.Store, log *slog.Logger) *countsHub {
	h := &countsHub{db: db, log: log, topics: map[string]*countsTopic{}}
	h.life, h.cancel = context.WithCancel(context.Background())
	return h
}

// subscribe returns a channel of the video's changes. It holds the latest one: a slow socket
// skips intermediate counts, never the last.
func (h *countsHub) subscribe(videoID string) (<-chan countsUpdate, func()) {
	ch := make(chan countsUpdate, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[videoID]
	if t == nil {
		t = &countsTopic{subs: map[chan countsUpdate]struct{}{}}
		h.topics[videoID] = t
	}
	t.subs[ch] = struct{}{}
	return ch, func() { h.unsubscribe(videoID, t, ch) }
}

func (h *countsHub) unsubscribe(videoID string, t *countsTopic, ch chan countsUpdate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(t.subs, ch)
	if len(t.subs) == 0 && h.topics[videoID] == t {
		h.stopLocked(t)
		delete(h.topics, videoID)
	}
}

// stopLocked cancels the topic's pending reload.
func (h *countsHub) stopLocked(t *countsTopic) {
	if t.pending != nil && t.pending.Stop() {
		h.wg.Done() // the reload that will not run
	}
	t.pending = nil
}

// changed schedules a reload of the video, unless one is pending already.
func (h *countsHub) changed(videoID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[videoID]
	if h.closed || t == nil || t.pending != nil {
		return
	}
	delay := max(0, countsDebounce-time.Since(t.last))
	// Counted in the WaitGroup so that Close waits for a reload in progress.
	h.wg.Add(1)
	t.pending = time.AfterFunc(delay, func() {
		defer h.wg.Done()
		h.reload(videoID, t)
	})
}

// reload reads the video and hands the result to its subscribers.
func (h *countsHub) reload(videoID string, t *countsTopic) {
	h.mu.Lock()
	t.pending, t.last = nil, time.Now()
	h.mu.Unlock()
	ctx := h.life
	v, err := h.db.Video(ctx, videoID)
	gone := errors.Is(err, store.ErrNotFound)
	if err != nil && !gone {
		if ctx.Err() == nil {
			h.log.Warn("reload the counts of a video", "video_id", videoID, "error", err)
		}
		return
	}
	u := countsUpdate{video: v, gone: gone}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics[videoID] != t {
		return
	}
	for ch := range t.subs {
		select {
		case <-ch: // drop the update the socket has not taken yet
		default:
		}
		ch <- u
	}
}

// Start LISTENs for count changes: the first connection is made here, so that a replica that
// has started hears every change from then on, and a goroutine keeps listening (reconnecting
// with backoff) until Close. A database that does not answer yet is retried in the
// background, so Start never fails.
func (h *countsHub) Start(ctx context.Context) {
	l, err := h.db.Listen(ctx, countsChannel)
	if err != nil {
		h.log.Warn("listen for count changes; retrying in the background", "error", err)
		l = nil
	}
	h.wg.Go(func() { h.listen(h.life, l) })
}

// Close stops listening and cancels every pending reload, and waits for a reload in progress
// until ctx ends.
func (h *countsHub) Close(ctx context.Context) error {
	h.cancel()
	h.mu.Lock()
	h.closed = true
	for _, t := range h.topics {
		h.stopLocked(t)
	}
	h.mu.Unlock()
	return waitFor(ctx, &h.wg)
}

func (h *countsHub) listen(ctx context.Context, l *store.Listener) {
	backoff := retry.NewBackoff(200*time.Millisecond, 10*time.Second)
	defer func() {
		if l != nil {
			l.Close()
		}
	}()
	for ctx.Err() == nil {
		if l == nil {
			var err error
			if l, err = h.db.Listen(ctx, countsChannel); err != nil {
				if ctx.Err() == nil {
					h.log.Warn("listen for count changes", "error", err)
				}
				if !retry.Sleep(ctx, backoff.Next()) {
					return
				}
				continue
			}
			backoff.Reset()
			// Changes made while nobody listened were not heard: refresh every video
			// followed here.
			h.refreshAll()
		}
		id, err := l.Wait(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("count change notifications stopped; reconnecting", "error", err)
			}
			l.Close()
			l = nil
			continue
		}
		h.changed(id)
	}
}

func (h *countsHub) refreshAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.topics))
	for id := range h.topics {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.changed(id)
	}
}

func statsOf(v store.Video) oapi.Stats {
	return oapi.Stats{Views: v.Views, Likes: v.Likes, Dislikes: v.Dislikes, Comments: v.Comments}
}
