package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

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
		for _, p := range allPages(e, path+sep+"limit=2", token, 10, func(p oapi.VideoPage) *string { return p.NextCursor }) {
			all = append(all, videoIDs(p)...)
		}
		return all
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
