package api

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func TestViews(t *testing.T) {
	var offset atomic.Int64 // the test moves the server's clock forward
	e := newEnv(t, withConfig(func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}))
	owner, alice := e.user("owner"), e.user("alice")
	id := e.readyVideo(owner, store.Public, "Watched")
	steps := []struct {
		name, token, ua, from string
		counted               bool
		views                 int64
	}{
		{"alice", alice.Token, "", "", true, 1},
		{"alice again", alice.Token, "", "", false, 1},
		{"alice in another browser", alice.Token, "Firefox", "", false, 1},
		{"anonymous A", "", "Browser A", "", true, 2},
		{"anonymous A again", "", "Browser A", "", false, 2},
		{"anonymous A in another browser", "", "Browser B", "", false, 2},
		{"anonymous B, from another address", "", "Browser B", "127.0.0.2", true, 3},
		{"the owner", owner.Token, "", "", true, 4},
	}
	for _, s := range steps {
		got, r := e.viewFrom(s.from, id, s.token, s.ua, nil)
		if r.status != http.StatusOK || got.Counted != s.counted || got.Views != s.views {
			t.Errorf("%s: %d %+v, want counted %t and %d views", s.name, r.status, got, s.counted, s.views)
		}
	}
	if v := e.apiVideo(id, ""); v.Stats.Views != 4 {
		t.Errorf("video views %d, want 4", v.Stats.Views)
	}

	t.Run("no raw address stored", func(t *testing.T) {
		rows, err := e.db.Pool().Query(t.Context(), `SELECT viewer FROM views WHERE viewer IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var n int
		for rows.Next() {
			var viewer []byte
			if err := rows.Scan(&viewer); err != nil {
				t.Fatal(err)
			}
			n++
			if len(viewer) != 32 || bytes.Contains(viewer, []byte("127.0.0.1")) || bytes.Contains(viewer, []byte{127, 0, 0, 1}) {
				t.Errorf("viewer %x is not a 32-byte hash", viewer)
			}
		}
		if n != 2 {
			t.Errorf("%d anonymous views, want 2", n)
		}
		if n := e.sqlCount(`SELECT count(*) FROM views v WHERE v::text LIKE '%127.0.0.1%'`); n != 0 {
			t.Errorf("%d view rows mention the client's address", n)
		}
	})

	t.Run("counted again after 24 h", func(t *testing.T) {
		offset.Store(int64(25 * time.Hour))
		defer offset.Store(0)
		aliceID, _ := strconv.ParseInt(alice.User.Id, 10, 64)
		token, _, err := e.srv.issueToken(aliceID, sessionOf(t, alice.Token)) // the first one has expired by then
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := e.view(id, token, "", nil); !got.Counted || got.Views != 5 {
			t.Errorf("a day later: %+v, want counted, 5 views", got)
		}
		if got, _ := e.view(id, "", "Browser A", nil); !got.Counted || got.Views != 6 {
			t.Errorf("a day later, anonymous: %+v, want counted, 6 views", got)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for name, body := range map[string]string{
			"negative":      `{"positionSeconds": -1}`,
			"absurd":        `{"positionSeconds": 1e300}`,
			"wrong type":    `{"positionSeconds": "10"}`,
			"unknown field": `{"position": 10}`,
			"not JSON":      `positionSeconds=10`,
		} {
			if _, r := e.view(id, alice.Token, "", body); r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", name, r.status)
			}
		}
		if _, r := e.view("AAAAAAAAAAA", alice.Token, "", nil); r.status != http.StatusNotFound {
			t.Errorf("unknown video: status %d", r.status)
		}
		priv := e.readyVideo(owner, store.Private, "Private")
		if _, r := e.view(priv, alice.Token, "", nil); r.status != http.StatusNotFound {
			t.Errorf("someone else's private video: status %d", r.status)
		}
		if got, r := e.view(priv, owner.Token, "", nil); r.status != http.StatusOK || !got.Counted {
			t.Errorf("own private video: %d %+v", r.status, got)
		}
	})
}

func TestHistory(t *testing.T) {
	e := newEnv(t)
	owner, alice, mod := e.user("owner"), e.user("alice"), e.moderator()
	v1 := e.readyVideo(owner, store.Public, "One")
	v2 := e.readyVideo(owner, store.Public, "Two")
	v3 := e.readyVideo(owner, store.Unlisted, "Three")
	history := func(token, query string) oapi.HistoryPage {
		t.Helper()
		var p oapi.HistoryPage
		e.must(http.StatusOK, "GET", "/api/v1/me/history"+query, token, nil).decode(t, &p)
		return p
	}
	order := func(p oapi.HistoryPage) []string {
		var ids []string
		for _, it := range p.Items {
			ids = append(ids, it.Video.Id+"@"+strconv.FormatFloat(it.PositionSeconds, 'f', -1, 64))
		}
		return ids
	}
	pos := func(s float64) map[string]any { return map[string]any{"positionSeconds": s} }
	for _, step := range []struct {
		id   string
		body any
	}{{v1, pos(10)}, {v2, pos(20)}, {v3, nil}, {v1, pos(42.5)}, {v2, nil}} {
		if _, r := e.view(step.id, alice.Token, "", step.body); r.status != http.StatusOK {
			t.Fatalf("view: %d %s", r.status, r.body)
		}
		time.Sleep(5 * time.Millisecond) // distinct watch times, so the order is certain
	}
	// v2 was watched last without a position: its resume position stays.
	if got, want := order(history(alice.Token, "")), []string{v2 + "@20", v1 + "@42.5", v3 + "@0"}; !equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	p := history(alice.Token, "?limit=2")
	if p.NextCursor == nil || len(p.Items) != 2 {
		t.Fatalf("first page %v, cursor %v", order(p), p.NextCursor)
	}
	if got := order(history(alice.Token, "?limit=2&cursor="+*p.NextCursor)); !equal(got, []string{v3 + "@0"}) {
		t.Errorf("second page %v", got)
	}
	if p := history(owner.Token, ""); len(p.Items) != 0 {
		t.Errorf("the owner's history %v, want empty", order(p))
	}
	e.must(http.StatusUnauthorized, "GET", "/api/v1/me/history", "", nil)
	e.must(http.StatusBadRequest, "GET", "/api/v1/me/history?limit=0", alice.Token, nil)
	e.must(http.StatusBadRequest, "GET", "/api/v1/me/history?cursor=zzz", alice.Token, nil)

	// Videos the viewer may no longer see leave the history.
	e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+v1, owner.Token, map[string]any{"visibility": "private"})
	if _, err := e.db.Hold(t.Context(), v3, "test"); err != nil {
		t.Fatal(err)
	}
	if got := order(history(alice.Token, "")); !equal(got, []string{v2 + "@20"}) {
		t.Errorf("history after v1 went private and v3 was held: %v", got)
	}
	// A moderator's history keeps them.
	e.view(v1, mod.Token, "", pos(3))
	if got := order(history(mod.Token, "")); !equal(got, []string{v1 + "@3"}) {
		t.Errorf("moderator's history %v", got)
	}
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+v2, owner.Token, nil)
	if got := order(history(alice.Token, "")); len(got) != 0 {
		t.Errorf("history after the last video was deleted: %v", got)
	}
}

// A loop that changes its User-Agent at every request is one anonymous viewer: views count
// per client network, whatever the client says it is.
func TestViewsIgnoreUserAgent(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Looped")
	for i := range 20 {
		got, r := e.view(id, "", "Bot/"+strconv.Itoa(i), nil)
		if r.status != http.StatusOK {
			t.Fatalf("view %d: status %d: %s", i, r.status, r.body)
		}
		if got.Views != 1 {
			t.Fatalf("view %d with a new User-Agent: %d views, want 1", i, got.Views)
		}
	}
	if n := e.sqlCount(`SELECT count(*) FROM views WHERE video_id = $1`, id); n != 1 {
		t.Errorf("%d view rows, want 1", n)
	}
}

// Rows past the dedup window are rolled up into daily counts and deleted; rate-limit rows are
// deleted once their window has ended. The counts users see do not change.
func TestPruneViewsAndHits(t *testing.T) {
	var offset atomic.Int64
	e := newEnv(t, withConfig(func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}))
	owner, alice := e.user("owner"), e.user("alice")
	id := e.readyVideo(owner, store.Public, "Pruned")
	e.view(id, alice.Token, "", nil)
	e.view(id, "", "", nil)
	e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody-here", "password": "wrong password"})
	if n := e.sqlCount(`SELECT count(*) FROM rate_limits`); n == 0 {
		t.Fatal("a failed login left no rate-limit row")
	}
	// Windows that ended long ago.
	if _, err := e.db.Pool().Exec(t.Context(), `UPDATE rate_limits SET window_start = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}

	offset.Store(int64(25 * time.Hour))
	if err := e.srv.prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.sqlCount(`SELECT count(*) FROM views`); n != 0 {
		t.Errorf("%d view rows left past the dedup window, want 0", n)
	}
	if n := e.sqlCount(`SELECT coalesce(sum(views), 0) FROM view_days WHERE video_id = $1`, id); n != 2 {
		t.Errorf("daily roll-up holds %d views, want 2", n)
	}
	if n := e.sqlCount(`SELECT count(*) FROM rate_limits`); n != 0 {
		t.Errorf("%d rate-limit rows left after their window, want 0", n)
	}
	if v := e.apiVideo(id, ""); v.Stats.Views != 2 {
		t.Errorf("video views %d after pruning, want 2", v.Stats.Views)
	}
	// A view within the window is kept, and still deduplicates.
	e.view(id, "", "", nil)
	if err := e.srv.prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.view(id, "", "", nil); got.Counted || got.Views != 3 {
		t.Errorf("a view again after pruning: %+v, want not counted, 3 views", got)
	}
}
