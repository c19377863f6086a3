package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func TestLiveCounts(t *testing.T) {
	e := newEnv(t)
	owner, alice := e.user("owner"), e.user("alice")
	id := e.readyVideo(owner, store.Public, "Live")
	ctx := t.Context()

	// A second replica on the same database, with its own sockets.
	replica, err := New(e.srv.cfg)
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
		// A burst of 30 views arrives as a few events, the last with every view counted.
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() { e.view(id, "", fmt.Sprintf("burst %d", i), nil) })
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
