package api

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

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
