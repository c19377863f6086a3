package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
)

func TestComments(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Moderation.TermPolicy = []TermRule{{Term: "spoiler", Action: TermHold}, {Term: "badword", Action: TermReject}}
	}))
	owner, alice, bob, mod := e.user("owner"), e.user("alice"), e.user("bob"), e.moderator()
	id := e.readyVideo(owner, store.Public, "Commented")
	path := "/api/v1/videos/" + id + "/comments"
	post := func(token string, body any) oapi.Comment {
		t.Helper()
		var c oapi.Comment
		e.must(http.StatusCreated, "POST", path, token, body).decode(t, &c)
		return c
	}
	count := func() int64 { t.Helper(); return e.apiVideo(id, "").Stats.Comments }

	c1 := post(alice.Token, map[string]any{"body": "  First!  "})
	if c1.Body != "First!" || c1.Author.Username != alice.User.Username || c1.VideoId != id || c1.Edited || c1.Held != nil || c1.ParentId != nil {
		t.Fatalf("created comment %+v", c1)
	}
	c2 := post(bob.Token, map[string]any{"body": "Second,\nover two lines"})
	r1 := post(bob.Token, map[string]any{"body": "a reply", "parentId": c1.Id})
	r2 := post(owner.Token, map[string]any{"body": "the owner replies", "parentId": c1.Id})
	if r1.ParentId == nil || *r1.ParentId != c1.Id {
		t.Fatalf("reply %+v, want parent %s", r1, c1.Id)
	}
	if got := count(); got != 4 {
		t.Errorf("comment count %d, want 4", got)
	}

	t.Run("listing", func(t *testing.T) {
		top := e.comments(path, "")
		if got, want := commentIDs(top), []string{c2.Id, c1.Id}; !equal(got, want) {
			t.Fatalf("top-level comments %v, want newest first %v", got, want)
		}
		if top.Comments[1].ReplyCount != 2 || top.Comments[0].ReplyCount != 0 {
			t.Errorf("reply counts %d, %d, want 0, 2", top.Comments[0].ReplyCount, top.Comments[1].ReplyCount)
		}
		replies := e.comments(path+"?parentId="+c1.Id, "")
		if got, want := commentIDs(replies), []string{r1.Id, r2.Id}; !equal(got, want) {
			t.Fatalf("replies %v, want oldest first %v", got, want)
		}
		// Pages of one.
		var seen []string
		cursor := ""
		for range 5 {
			p := e.comments(path+"?limit=1"+cursor, "")
			seen = append(seen, commentIDs(p)...)
			if p.NextCursor == nil {
				break
			}
			cursor = "&cursor=" + *p.NextCursor
		}
		if want := []string{c2.Id, c1.Id}; !equal(seen, want) {
			t.Errorf("paged %v, want %v", seen, want)
		}
		p := e.comments(path+"?parentId="+c1.Id+"&limit=1", "")
		if p.NextCursor == nil {
			t.Fatal("no cursor after the first reply")
		}
		p = e.comments(path+"?parentId="+c1.Id+"&limit=1&cursor="+*p.NextCursor, "")
		if got := commentIDs(p); !equal(got, []string{r2.Id}) {
			t.Errorf("second page of replies %v, want %v", got, []string{r2.Id})
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			name, token string
			body        any
			status      int
			field       string
		}{
			{"anonymous", "", map[string]any{"body": "hi"}, http.StatusUnauthorized, ""},
			{"empty", alice.Token, map[string]any{"body": ""}, http.StatusBadRequest, "body"},
			{"blank", alice.Token, map[string]any{"body": " \n\t "}, http.StatusBadRequest, "body"},
			{"too long", alice.Token, map[string]any{"body": strings.Repeat("é", maxComment+1)}, http.StatusBadRequest, "body"},
			{"control character", alice.Token, map[string]any{"body": "bell\a"}, http.StatusBadRequest, "body"},
			{"unknown field", alice.Token, map[string]any{"body": "x", "pinned": true}, http.StatusBadRequest, "pinned"},
			{"no body", alice.Token, map[string]any{}, http.StatusBadRequest, "body"},
			{"parent not an id", alice.Token, map[string]any{"body": "x", "parentId": "abc"}, http.StatusBadRequest, "parentId"},
			{"unknown parent", alice.Token, map[string]any{"body": "x", "parentId": "999999"}, http.StatusBadRequest, "parentId"},
			{"reply to a reply", alice.Token, map[string]any{"body": "x", "parentId": r1.Id}, http.StatusBadRequest, "parentId"},
			{"rejected term", alice.Token, map[string]any{"body": "what a BadWord"}, http.StatusBadRequest, "body"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.must(c.status, "POST", path, c.token, c.body)
				if c.field != "" {
					if eb := r.errorBody(t); eb.Fields == nil || (*eb.Fields)[c.field] == "" {
						t.Errorf("error %+v does not name %s", eb, c.field)
					}
				}
			})
		}
		e.must(http.StatusBadRequest, "GET", path+"?parentId="+r1.Id, "", nil)
		e.must(http.StatusBadRequest, "GET", path+"?parentId=x", "", nil)
		e.must(http.StatusBadRequest, "GET", path+"?cursor=garbage", "", nil)
		e.must(http.StatusNotFound, "GET", "/api/v1/videos/AAAAAAAAAAA/comments", "", nil)
		e.must(http.StatusNotFound, "POST", "/api/v1/videos/AAAAAAAAAAA/comments", alice.Token, map[string]any{"body": "x"})
		if got := count(); got != 4 {
			t.Errorf("comment count %d after refused comments, want 4", got)
		}
	})

	t.Run("a reply to a comment of another video", func(t *testing.T) {
		other := e.readyVideo(owner, store.Public, "Other")
		e.must(http.StatusBadRequest, "POST", "/api/v1/videos/"+other+"/comments", alice.Token, map[string]any{"body": "x", "parentId": c1.Id})
	})

	t.Run("private video", func(t *testing.T) {
		priv := e.readyVideo(owner, store.Private, "Private")
		p := "/api/v1/videos/" + priv + "/comments"
		e.must(http.StatusNotFound, "GET", p, "", nil)
		e.must(http.StatusNotFound, "GET", p, alice.Token, nil)
		e.must(http.StatusNotFound, "POST", p, alice.Token, map[string]any{"body": "let me in"})
		e.must(http.StatusCreated, "POST", p, owner.Token, map[string]any{"body": "note to self"})
		e.must(http.StatusCreated, "POST", p, mod.Token, map[string]any{"body": "moderator note"})
	})

	t.Run("edit", func(t *testing.T) {
		cp := "/api/v1/comments/" + c1.Id
		e.must(http.StatusUnauthorized, "PATCH", cp, "", map[string]any{"body": "x"})
		e.must(http.StatusForbidden, "PATCH", cp, bob.Token, map[string]any{"body": "x"})
		e.must(http.StatusForbidden, "PATCH", cp, owner.Token, map[string]any{"body": "x"})
		e.must(http.StatusForbidden, "PATCH", cp, mod.Token, map[string]any{"body": "x"})
		e.must(http.StatusNotFound, "PATCH", "/api/v1/comments/999999", alice.Token, map[string]any{"body": "x"})
		e.must(http.StatusNotFound, "PATCH", "/api/v1/comments/nope", alice.Token, map[string]any{"body": "x"})
		e.must(http.StatusBadRequest, "PATCH", cp, alice.Token, map[string]any{"body": ""})
		e.must(http.StatusBadRequest, "PATCH", cp, alice.Token, map[string]any{"body": "badword"})
		var c oapi.Comment
		e.must(http.StatusOK, "PATCH", cp, alice.Token, map[string]any{"body": "First, edited"}).decode(t, &c)
		if c.Body != "First, edited" || !c.Edited || c.ReplyCount != 2 || c.UpdatedAt.Before(c.CreatedAt) {
			t.Errorf("edited comment %+v", c)
		}
	})

	t.Run("held by the term policy", func(t *testing.T) {
		before := count()
		held := post(alice.Token, map[string]any{"body": "big SPOILER ahead"})
		if held.Held == nil || !*held.Held {
			t.Fatalf("comment %+v, want held", held)
		}
		heldReply := post(bob.Token, map[string]any{"body": "spoiler: it was him", "parentId": c2.Id})
		if got := count(); got != before {
			t.Errorf("comment count %d after held comments, want %d", got, before)
		}
		// held is alice's, heldReply bob's.
		for name, c := range map[string]struct {
			token           string
			sees, seesReply bool
		}{
			"anonymous": {"", false, false}, "bob": {bob.Token, false, true}, "alice": {alice.Token, true, false},
			"video owner": {owner.Token, true, true}, "moderator": {mod.Token, true, true},
		} {
			t.Run(name, func(t *testing.T) {
				ids := commentIDs(e.comments(path, c.token))
				if got := contains(ids, held.Id); got != c.sees {
					t.Errorf("sees the held comment: %t, want %t (%v)", got, c.sees, ids)
				}
				replySeen := contains(commentIDs(e.comments(path+"?parentId="+c2.Id, c.token)), heldReply.Id)
				if replySeen != c.seesReply {
					t.Errorf("sees the held reply: %t, want %t", replySeen, c.seesReply)
				}
			})
		}
		// Editing a visible comment into a held one takes it off the count.
		r1Edit := e.must(http.StatusOK, "PATCH", "/api/v1/comments/"+r1.Id, bob.Token, map[string]any{"body": "spoiler"})
		var c oapi.Comment
		r1Edit.decode(t, &c)
		if c.Held == nil || !*c.Held {
			t.Errorf("edited comment %+v, want held", c)
		}
		if got := count(); got != before-1 {
			t.Errorf("comment count %d after a comment was held by its edit, want %d", got, before-1)
		}
		// Others cannot touch what they cannot see.
		e.must(http.StatusNotFound, "DELETE", "/api/v1/comments/"+held.Id, bob.Token, nil)
	})

	t.Run("delete", func(t *testing.T) {
		before := count()
		e.must(http.StatusUnauthorized, "DELETE", "/api/v1/comments/"+c1.Id, "", nil)
		e.must(http.StatusForbidden, "DELETE", "/api/v1/comments/"+c1.Id, bob.Token, nil)
		e.must(http.StatusNotFound, "DELETE", "/api/v1/comments/999999", bob.Token, nil)
		// The video's owner deletes c1 and with it its replies (r1 is held, r2 is not).
		e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+c1.Id, owner.Token, nil)
		if got := count(); got != before-2 {
			t.Errorf("comment count %d after deleting a comment with a visible and a held reply, want %d", got, before-2)
		}
		if n := e.sqlCount(`SELECT count(*) FROM comments WHERE id = ANY($1::bigint[])`, []string{c1.Id, r1.Id, r2.Id}); n != 0 {
			t.Errorf("%d of the comment and its replies left", n)
		}
		e.must(http.StatusBadRequest, "GET", path+"?parentId="+c1.Id, "", nil)
		// A moderator deletes anyone's; authors delete their own.
		own := post(bob.Token, map[string]any{"body": "mine"})
		e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+c2.Id, mod.Token, nil)
		e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+own.Id, bob.Token, nil)
		e.must(http.StatusNotFound, "DELETE", "/api/v1/comments/"+own.Id, bob.Token, nil)
		var visible int64
		for _, c := range e.comments(path+"?limit=100", mod.Token).Comments {
			if c.Held == nil {
				visible += 1 + int64(c.ReplyCount) // the moderator sees held replies too, but there are none left
			}
		}
		if got := count(); got != visible {
			t.Errorf("comment count %d, want the %d visible comments", got, visible)
		}
	})
}

// TestRatingConcurrency: 100 users like and unlike one video in parallel; the counts on the
// video equal the likes table's rows at the end.
func TestRatingConcurrency(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Popular")
	const users = 100
	sessions := make([]oapi.Session, users)
	for i := range sessions {
		sessions[i] = e.fastUser(fmt.Sprintf("rater%03d", i))
	}
	final := []oapi.Rating{oapi.Like, oapi.Dislike, oapi.None}
	var wg sync.WaitGroup
	var failures atomic.Int64
	start := make(chan struct{})
	for i, s := range sessions {
		wg.Go(func() {
			<-start
			for _, rating := range []oapi.Rating{oapi.Like, oapi.Dislike, oapi.Like, oapi.None, oapi.Like, final[i%3]} {
				if r := e.do("PUT", "/api/v1/videos/"+id+"/rating", s.Token, map[string]any{"rating": rating}); r.status != http.StatusOK {
					failures.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d ratings failed", n)
	}
	v := e.video(id)
	likes := e.sqlCount(`SELECT count(*) FROM likes WHERE video_id = $1 AND value = 1`, id)
	dislikes := e.sqlCount(`SELECT count(*) FROM likes WHERE video_id = $1 AND value = -1`, id)
	if v.Likes != likes || v.Dislikes != dislikes {
		t.Errorf("video counts %d likes, %d dislikes; the likes table has %d and %d", v.Likes, v.Dislikes, likes, dislikes)
	}
	if likes != 34 || dislikes != 33 {
		t.Errorf("%d likes and %d dislikes, want 34 and 33", likes, dislikes)
	}

	t.Run("one user, many requests at once", func(t *testing.T) {
		s := sessions[1] // disliked
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				e.do("PUT", "/api/v1/videos/"+id+"/rating", s.Token, map[string]any{"rating": final[i%3]})
			})
		}
		wg.Wait()
		v := e.video(id)
		likes := e.sqlCount(`SELECT count(*) FROM likes WHERE video_id = $1 AND value = 1`, id)
		dislikes := e.sqlCount(`SELECT count(*) FROM likes WHERE video_id = $1 AND value = -1`, id)
		if v.Likes != likes || v.Dislikes != dislikes {
			t.Errorf("video counts %d likes, %d dislikes; the likes table has %d and %d", v.Likes, v.Dislikes, likes, dislikes)
		}
	})
}

func TestRating(t *testing.T) {
	e := newEnv(t)
	owner, alice, bob := e.user("owner"), e.user("alice"), e.user("bob")
	id := e.readyVideo(owner, store.Public, "Rated")
	rate := func(token string, rating any, want int) oapi.RatingState {
		t.Helper()
		var st oapi.RatingState
		r := e.must(want, "PUT", "/api/v1/videos/"+id+"/rating", token, map[string]any{"rating": rating})
		if want == http.StatusOK {
			r.decode(t, &st)
		}
		return st
	}
	if st := rate(alice.Token, "like", http.StatusOK); st.Likes != 1 || st.Dislikes != 0 || st.MyRating != oapi.Like {
		t.Errorf("after a like: %+v", st)
	}
	if st := rate(alice.Token, "like", http.StatusOK); st.Likes != 1 {
		t.Errorf("after a second like: %+v, want still one", st)
	}
	if st := rate(bob.Token, "dislike", http.StatusOK); st.Likes != 1 || st.Dislikes != 1 || st.MyRating != oapi.Dislike {
		t.Errorf("after a dislike: %+v", st)
	}
	if st := rate(alice.Token, "dislike", http.StatusOK); st.Likes != 0 || st.Dislikes != 2 {
		t.Errorf("after alice changed her mind: %+v", st)
	}
	if st := rate(bob.Token, "none", http.StatusOK); st.Likes != 0 || st.Dislikes != 1 || st.MyRating != oapi.None {
		t.Errorf("after bob took his back: %+v", st)
	}
	rate("", "like", http.StatusUnauthorized)
	rate(alice.Token, "love", http.StatusBadRequest)
	rate(alice.Token, 1, http.StatusBadRequest)
	e.must(http.StatusBadRequest, "PUT", "/api/v1/videos/"+id+"/rating", alice.Token, map[string]any{})
	e.must(http.StatusNotFound, "PUT", "/api/v1/videos/AAAAAAAAAAA/rating", alice.Token, map[string]any{"rating": "like"})
	priv := e.readyVideo(owner, store.Private, "Private")
	e.must(http.StatusNotFound, "PUT", "/api/v1/videos/"+priv+"/rating", alice.Token, map[string]any{"rating": "like"})
	e.must(http.StatusOK, "PUT", "/api/v1/videos/"+priv+"/rating", owner.Token, map[string]any{"rating": "like"})

	t.Run("my rating on the video", func(t *testing.T) {
		for name, c := range map[string]struct {
			token string
			want  *oapi.Rating
		}{
			"anonymous": {"", nil}, "alice": {alice.Token, ptr(oapi.Dislike)}, "bob": {bob.Token, ptr(oapi.None)},
		} {
			v := e.apiVideo(id, c.token)
			if (v.MyRating == nil) != (c.want == nil) || (v.MyRating != nil && *v.MyRating != *c.want) {
				t.Errorf("%s: myRating %v, want %v", name, v.MyRating, c.want)
			}
			if v.Stats.Likes != 0 || v.Stats.Dislikes != 1 {
				t.Errorf("%s: stats %+v", name, v.Stats)
			}
		}
	})
}

func TestViews(t *testing.T) {
	var offset atomic.Int64 // the test moves the server's clock forward
	e := newEnv(t, withConfig(func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}))
	owner, alice := e.user("owner"), e.user("alice")
	id := e.readyVideo(owner, store.Public, "Watched")
	steps := []struct {
		name, token, ua string
		counted         bool
		views           int64
	}{
		{"alice", alice.Token, "", true, 1},
		{"alice again", alice.Token, "", false, 1},
		{"alice in another browser", alice.Token, "Firefox", false, 1},
		{"anonymous A", "", "Browser A", true, 2},
		{"anonymous A again", "", "Browser A", false, 2},
		{"anonymous B", "", "Browser B", true, 3},
		{"the owner", owner.Token, "", true, 4},
	}
	for _, s := range steps {
		got, r := e.view(id, s.token, s.ua, nil)
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
		token, _, err := e.srv.issueToken(aliceID) // the first one has expired by then
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

func TestChannelsAndFeed(t *testing.T) {
	e := newEnv(t)
	chan1, chan2, alice, bob := e.user("chan"), e.user("chan"), e.user("alice"), e.user("bob")
	sub := func(token, username string, want int) oapi.Subscription {
		t.Helper()
		var s oapi.Subscription
		r := e.must(want, "PUT", "/api/v1/users/"+username+"/subscription", token, nil)
		if want == http.StatusOK {
			r.decode(t, &s)
		}
		return s
	}
	t.Run("subscriptions", func(t *testing.T) {
		if s := sub(alice.Token, chan1.User.Username, http.StatusOK); !s.Subscribed || s.SubscriberCount != 1 {
			t.Errorf("subscribe: %+v", s)
		}
		if s := sub(alice.Token, chan1.User.Username, http.StatusOK); !s.Subscribed || s.SubscriberCount != 1 {
			t.Errorf("subscribe again: %+v, want still one subscriber", s)
		}
		sub(bob.Token, chan1.User.Username, http.StatusOK)
		sub(alice.Token, chan2.User.Username, http.StatusOK)
		sub("", chan1.User.Username, http.StatusUnauthorized)
		sub(alice.Token, alice.User.Username, http.StatusBadRequest)
		sub(alice.Token, "nobody-here", http.StatusNotFound)
		var s oapi.Subscription
		e.must(http.StatusOK, "DELETE", "/api/v1/users/"+chan1.User.Username+"/subscription", bob.Token, nil).decode(t, &s)
		if s.Subscribed || s.SubscriberCount != 1 {
			t.Errorf("unsubscribe: %+v", s)
		}
		e.must(http.StatusOK, "DELETE", "/api/v1/users/"+chan1.User.Username+"/subscription", bob.Token, nil).decode(t, &s)
		if s.Subscribed || s.SubscriberCount != 1 {
			t.Errorf("unsubscribe again: %+v", s)
		}
		e.must(http.StatusUnauthorized, "DELETE", "/api/v1/users/"+chan1.User.Username+"/subscription", "", nil)
		e.must(http.StatusNotFound, "DELETE", "/api/v1/users/nobody-here/subscription", bob.Token, nil)
	})

	// chan1: three public videos, and others nobody else should see on the channel page.
	var public1 []string
	for i := range 3 {
		public1 = append(public1, e.readyVideo(chan1, store.Public, fmt.Sprintf("Public %d", i)))
		time.Sleep(5 * time.Millisecond)
	}
	e.readyVideo(chan1, store.Unlisted, "Unlisted")
	e.readyVideo(chan1, store.Private, "Private")
	held := e.readyVideo(chan1, store.Public, "Held")
	if _, err := e.db.Hold(t.Context(), held, "test"); err != nil {
		t.Fatal(err)
	}
	e.upload(chan1.Token, "Still uploading", []byte("x"))
	public2 := e.readyVideo(chan2, store.Public, "Chan2")
	newestFirst1 := []string{public1[2], public1[1], public1[0]}

	t.Run("channel page", func(t *testing.T) {
		for name, c := range map[string]struct {
			token      string
			subscribed *bool
		}{"anonymous": {"", nil}, "subscriber": {alice.Token, ptr(true)}, "not a subscriber": {bob.Token, ptr(false)}, "the owner": {chan1.Token, ptr(false)}} {
			var p oapi.ChannelPage
			e.must(http.StatusOK, "GET", "/api/v1/users/"+chan1.User.Username, c.token, nil).decode(t, &p)
			if p.Username != chan1.User.Username || p.DisplayName != chan1.User.DisplayName || p.SubscriberCount != 1 || p.VideoCount != 3 {
				t.Errorf("%s: channel %+v, want 1 subscriber and 3 videos", name, p)
			}
			if (p.Subscribed == nil) != (c.subscribed == nil) || (p.Subscribed != nil && *p.Subscribed != *c.subscribed) {
				t.Errorf("%s: subscribed %v, want %v", name, p.Subscribed, c.subscribed)
			}
		}
		e.must(http.StatusNotFound, "GET", "/api/v1/users/nobody-here", "", nil)
	})

	videoIDs := func(p oapi.VideoPage) []string {
		var ids []string
		for _, v := range p.Videos {
			ids = append(ids, v.Id)
		}
		return ids
	}
	pages := func(path, token string) []string {
		t.Helper()
		var all []string
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		cursor := ""
		for range 10 {
			var p oapi.VideoPage
			e.must(http.StatusOK, "GET", path+sep+"limit=2"+cursor, token, nil).decode(t, &p)
			all = append(all, videoIDs(p)...)
			if p.NextCursor == nil {
				return all
			}
			cursor = "&cursor=" + *p.NextCursor
		}
		t.Fatalf("%s: more than 10 pages", path)
		return nil
	}

	t.Run("channel videos", func(t *testing.T) {
		for _, token := range []string{"", alice.Token, chan1.Token} {
			if got := pages("/api/v1/users/"+chan1.User.Username+"/videos", token); !equal(got, newestFirst1) {
				t.Errorf("channel videos %v, want %v", got, newestFirst1)
			}
		}
		e.must(http.StatusNotFound, "GET", "/api/v1/users/nobody-here/videos", "", nil)
		e.must(http.StatusBadRequest, "GET", "/api/v1/users/"+chan1.User.Username+"/videos?limit=500", "", nil)
	})

	t.Run("feed", func(t *testing.T) {
		want := append([]string{public2}, newestFirst1...)
		if got := pages("/api/v1/feed", alice.Token); !equal(got, want) {
			t.Errorf("alice's feed %v, want %v", got, want)
		}
		if got := pages("/api/v1/feed", bob.Token); len(got) != 0 {
			t.Errorf("bob unsubscribed, feed %v", got)
		}
		e.must(http.StatusUnauthorized, "GET", "/api/v1/feed", "", nil)
		e.must(http.StatusBadRequest, "GET", "/api/v1/feed?cursor=nope", alice.Token, nil)
		e.must(http.StatusOK, "DELETE", "/api/v1/users/"+chan2.User.Username+"/subscription", alice.Token, nil)
		if got := pages("/api/v1/feed", alice.Token); !equal(got, newestFirst1) {
			t.Errorf("feed after unsubscribing from chan2: %v, want %v", got, newestFirst1)
		}
	})
}

func TestUpdateMe(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Moderation.TermPolicy = []TermRule{{Term: "badword", Action: TermReject}, {Term: "meh", Action: TermHold}}
	}))
	alice := e.user("alice")
	var u oapi.User
	e.must(http.StatusOK, "PATCH", "/api/v1/me", alice.Token, map[string]any{"displayName": "  Alice Liddell "}).decode(t, &u)
	if u.DisplayName != "Alice Liddell" || u.Username != alice.User.Username {
		t.Errorf("after the edit: %+v", u)
	}
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", alice.Token, nil).decode(t, &u)
	if u.DisplayName != "Alice Liddell" {
		t.Errorf("me: %+v", u)
	}
	// The term policy's hold does not apply to names; only reject does.
	e.must(http.StatusOK, "PATCH", "/api/v1/me", alice.Token, map[string]any{"displayName": "meh"})
	for name, c := range map[string]struct {
		token  string
		body   any
		status int
	}{
		"anonymous":     {"", map[string]any{"displayName": "x"}, http.StatusUnauthorized},
		"nothing":       {alice.Token, map[string]any{}, http.StatusBadRequest},
		"empty":         {alice.Token, map[string]any{"displayName": "   "}, http.StatusBadRequest},
		"too long":      {alice.Token, map[string]any{"displayName": strings.Repeat("a", 61)}, http.StatusBadRequest},
		"two lines":     {alice.Token, map[string]any{"displayName": "a\nb"}, http.StatusBadRequest},
		"rejected term": {alice.Token, map[string]any{"displayName": "Mr Badword"}, http.StatusBadRequest},
		"unknown field": {alice.Token, map[string]any{"username": "root"}, http.StatusBadRequest},
		"wrong type":    {alice.Token, map[string]any{"displayName": 7}, http.StatusBadRequest},
	} {
		if r := e.do("PATCH", "/api/v1/me", c.token, c.body); r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", name, r.status, c.status, r.body)
		}
	}
}

func TestAvatar(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	aliceID, _ := strconv.ParseInt(alice.User.Id, 10, 64)
	pic := pngImage(t, 64, 48)

	first, r := e.uploadAvatar(alice.Token, "image/png", pic, http.StatusOK)
	var u oapi.User
	r.decode(t, &u)
	if u.AvatarUrl == nil || !strings.HasPrefix(*u.AvatarUrl, "/avatars/"+alice.User.Id+"/") || !strings.HasSuffix(*u.AvatarUrl, ".png") {
		t.Fatalf("avatar URL %v", u.AvatarUrl)
	}
	firstURL := *u.AvatarUrl
	got := e.must(http.StatusOK, "GET", firstURL, "", nil)
	if !bytes.Equal(got.body, pic) {
		t.Errorf("served avatar differs from the upload")
	}
	if ct := got.header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := got.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q", cc)
	}
	var me oapi.User
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", alice.Token, nil).decode(t, &me)
	if me.AvatarUrl == nil || *me.AvatarUrl != firstURL {
		t.Errorf("me.avatarUrl %v, want %s", me.AvatarUrl, firstURL)
	}
	var ch oapi.ChannelPage
	e.must(http.StatusOK, "GET", "/api/v1/users/"+alice.User.Username, "", nil).decode(t, &ch)
	if ch.AvatarUrl == nil || *ch.AvatarUrl != firstURL {
		t.Errorf("channel avatarUrl %v", ch.AvatarUrl)
	}

	t.Run("a new avatar replaces the old", func(t *testing.T) {
		_, r := e.uploadAvatar(alice.Token, "image/jpeg", jpegImage(t, 32, 32), http.StatusOK)
		var u oapi.User
		r.decode(t, &u)
		if u.AvatarUrl == nil || *u.AvatarUrl == firstURL || !strings.HasSuffix(*u.AvatarUrl, ".jpg") {
			t.Fatalf("new avatar URL %v", u.AvatarUrl)
		}
		if ct := e.must(http.StatusOK, "GET", *u.AvatarUrl, "", nil).header.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("Content-Type %q", ct)
		}
		e.must(http.StatusNotFound, "GET", firstURL, "", nil)
		if _, err := e.blobs.Stat(t.Context(), avatarKey(aliceID, first.UploadId)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the previous avatar is still stored: %v", err)
		}
	})

	t.Run("refused files are deleted", func(t *testing.T) {
		for name, c := range map[string]struct {
			contentType string
			data        []byte
		}{
			"text pretending to be a PNG": {"image/png", []byte("this is not an image, honest")},
			"a PNG declared as JPEG":      {"image/jpeg", pic},
			"a truncated PNG":             {"image/png", pic[:len(pic)/2]},
			"too many pixels":             {"image/png", pngImage(t, 4097, 1)},
		} {
			t.Run(name, func(t *testing.T) {
				up, r := e.uploadAvatar(bob.Token, c.contentType, c.data, http.StatusBadRequest)
				if eb := r.errorBody(t); eb.Fields == nil || (*eb.Fields)["uploadId"] == "" {
					t.Errorf("error %+v does not name uploadId", eb)
				}
				bobID, _ := strconv.ParseInt(bob.User.Id, 10, 64)
				if _, err := e.blobs.Stat(t.Context(), avatarKey(bobID, up.UploadId)); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("the refused file is still stored: %v", err)
				}
			})
		}
		var me oapi.User
		e.must(http.StatusOK, "GET", "/api/v1/auth/me", bob.Token, nil).decode(t, &me)
		if me.AvatarUrl != nil {
			t.Errorf("bob has avatar %s after refused uploads", *me.AvatarUrl)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		e.must(http.StatusUnauthorized, "POST", "/api/v1/me/avatar", "", map[string]any{"contentType": "image/png", "size": 10})
		e.must(http.StatusRequestEntityTooLarge, "POST", "/api/v1/me/avatar", bob.Token, map[string]any{"contentType": "image/png", "size": 3 << 20})
		e.must(http.StatusBadRequest, "POST", "/api/v1/me/avatar", bob.Token, map[string]any{"contentType": "image/gif", "size": 10})
		e.must(http.StatusBadRequest, "POST", "/api/v1/me/avatar", bob.Token, map[string]any{"contentType": "image/png", "size": 0})
		e.must(http.StatusUnauthorized, "POST", "/api/v1/me/avatar/complete", "", map[string]any{"uploadId": first.UploadId})
		e.must(http.StatusBadRequest, "POST", "/api/v1/me/avatar/complete", bob.Token, map[string]any{"uploadId": "../../videos/x.png"})
		e.must(http.StatusConflict, "POST", "/api/v1/me/avatar/complete", bob.Token, map[string]any{"uploadId": "AAAAAAAAAAAAAAAAAAAAAA.png"})
		// Alice's upload is not Bob's: the id names a file under the caller's own prefix.
		var up oapi.AvatarUpload
		e.must(http.StatusOK, "POST", "/api/v1/me/avatar", alice.Token, map[string]any{"contentType": "image/png", "size": len(pic)}).decode(t, &up)
		if err := e.blobs.Put(t.Context(), avatarKey(aliceID, up.UploadId), bytes.NewReader(pic), int64(len(pic))); err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusConflict, "POST", "/api/v1/me/avatar/complete", bob.Token, map[string]any{"uploadId": up.UploadId})
		// An upload never completed is not served.
		e.must(http.StatusNotFound, "GET", "/avatars/"+alice.User.Id+"/"+up.UploadId, "", nil)
		e.must(http.StatusNotFound, "GET", "/avatars/"+alice.User.Id+"/..%2f..%2fetc.png", "", nil)
		e.must(http.StatusNotFound, "GET", "/avatars/nobody/x.png", "", nil)
	})
}

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
