package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func TestProfileBio(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Moderation.TermPolicy = []TermRule{{Term: "badword", Action: TermReject}}
	}))
	alice := e.user("alice")
	channel := func() oapi.ChannelPage {
		t.Helper()
		var c oapi.ChannelPage
		e.must(http.StatusOK, "GET", "/api/v1/users/"+alice.User.Username, "", nil).decode(t, &c)
		return c
	}
	if c := channel(); c.Bio == nil || *c.Bio != "" {
		t.Errorf("new channel's bio %v, want empty", c.Bio)
	}
	var u oapi.User
	e.must(http.StatusOK, "PATCH", "/api/v1/me", alice.Token, map[string]any{"bio": "  I film trees.\nAnd clouds.  "}).decode(t, &u)
	if u.DisplayName != alice.User.DisplayName {
		t.Errorf("a bio-only edit changed the display name to %q", u.DisplayName)
	}
	if c := channel(); c.Bio == nil || *c.Bio != "I film trees.\nAnd clouds." {
		t.Errorf("bio %q", *c.Bio)
	}
	e.must(http.StatusOK, "PATCH", "/api/v1/me", alice.Token, map[string]any{"displayName": "Alice", "bio": ""})
	if c := channel(); *c.Bio != "" || c.DisplayName != "Alice" {
		t.Errorf("after clearing: %+v", c)
	}
	for name, c := range map[string]struct {
		body  any
		field string
	}{
		"too long":          {map[string]any{"bio": strings.Repeat("b", 1001)}, "bio"},
		"control character": {map[string]any{"bio": "a\x00b"}, "bio"},
		"rejected term":     {map[string]any{"bio": "my badword channel"}, "bio"},
		"empty name beside": {map[string]any{"displayName": " ", "bio": "fine"}, "displayName"},
	} {
		r := e.do("PATCH", "/api/v1/me", alice.Token, c.body)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", name, r.status, r.body)
			continue
		}
		if got := r.errorBody(t); got.Fields == nil || (*got.Fields)[c.field] == "" {
			t.Errorf("%s: fields %v, want one on %s", name, got.Fields, c.field)
		}
	}
	// A refused edit changes nothing, not even the half that was valid.
	if c := channel(); *c.Bio != "" || c.DisplayName != "Alice" {
		t.Errorf("after refused edits: %+v", c)
	}
}

func TestHistoryPositionAndClear(t *testing.T) {
	e := newEnv(t)
	owner, alice, bob := e.user("owner"), e.user("alice"), e.user("bob")
	id := e.readyVideo(owner, store.Public, "Long")
	position := "/api/v1/me/history/" + id
	if r := e.do("GET", position, alice.Token, nil); r.status != http.StatusNoContent {
		t.Fatalf("before watching: status %d: %s", r.status, r.body)
	}
	e.view(id, alice.Token, "", map[string]any{"positionSeconds": 83.5})
	var p oapi.HistoryPosition
	e.must(http.StatusOK, "GET", position, alice.Token, nil).decode(t, &p)
	if p.PositionSeconds != 83.5 || p.WatchedAt.IsZero() {
		t.Errorf("position %+v, want 83.5", p)
	}
	if r := e.do("GET", position, bob.Token, nil); r.status != http.StatusNoContent {
		t.Errorf("another user's position: status %d: %s", r.status, r.body)
	}
	if r := e.do("GET", position, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous: status %d", r.status)
	}
	e.view(id, bob.Token, "", map[string]any{"positionSeconds": 5})
	if r := e.do("DELETE", "/api/v1/me/history", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous clear: status %d", r.status)
	}
	e.must(http.StatusNoContent, "DELETE", "/api/v1/me/history", alice.Token, nil)
	var h oapi.HistoryPage
	e.must(http.StatusOK, "GET", "/api/v1/me/history", alice.Token, nil).decode(t, &h)
	if len(h.Items) != 0 {
		t.Errorf("history after clearing: %d items", len(h.Items))
	}
	if r := e.do("GET", position, alice.Token, nil); r.status != http.StatusNoContent {
		t.Errorf("position after clearing: status %d", r.status)
	}
	// Only the caller's history goes, and the views stay counted.
	e.must(http.StatusOK, "GET", position, bob.Token, nil)
	if v := e.apiVideo(id, ""); v.Stats.Views != 2 {
		t.Errorf("views %d after clearing, want 2", v.Stats.Views)
	}
}

func TestListMyReports(t *testing.T) {
	e := newEnv(t)
	owner, alice, bob := e.user("owner"), e.established(), e.established()
	id := e.readyVideo(owner, store.Public, "Reported")
	other := e.readyVideo(owner, store.Public, "Elsewhere")
	var c oapi.Comment
	e.must(http.StatusCreated, "POST", "/api/v1/videos/"+id+"/comments", owner.Token, map[string]any{"body": "first"}).decode(t, &c)
	report := func(who oapi.Session, typ, target, reason string) {
		t.Helper()
		e.must(http.StatusCreated, "POST", "/api/v1/reports", who.Token, map[string]any{"targetType": typ, "targetId": target, "reason": reason})
	}
	mine := func(who oapi.Session, video string) []string {
		t.Helper()
		var l oapi.ReportList
		e.must(http.StatusOK, "GET", "/api/v1/me/reports?videoId="+video, who.Token, nil).decode(t, &l)
		return mapped(l.Reports, func(r oapi.Report) string { return r.TargetType + ":" + r.TargetId + ":" + r.Reason })
	}
	if got := mine(alice, id); len(got) != 0 {
		t.Errorf("before reporting: %v", got)
	}
	report(alice, "video", id, "spam")
	report(alice, "comment", c.Id, "harassment")
	report(alice, "video", other, "other")
	report(bob, "video", id, "hate")
	if got, want := mine(alice, id), []string{"video:" + id + ":spam", "comment:" + c.Id + ":harassment"}; !equal(got, want) {
		t.Errorf("alice's reports on the video: %v, want %v", got, want)
	}
	if got, want := mine(bob, id), []string{"video:" + id + ":hate"}; !equal(got, want) {
		t.Errorf("bob's: %v, want %v", got, want)
	}
	for name, c := range map[string]struct {
		token, query string
		status       int
	}{
		"anonymous":  {"", "?videoId=" + id, http.StatusUnauthorized},
		"no video":   {alice.Token, "", http.StatusBadRequest},
		"too long":   {alice.Token, "?videoId=" + strings.Repeat("v", 65), http.StatusBadRequest},
		"empty":      {alice.Token, "?videoId=", http.StatusBadRequest},
		"unknown id": {alice.Token, "?videoId=nosuchvideo", http.StatusOK},
	} {
		if r := e.do("GET", "/api/v1/me/reports"+c.query, c.token, nil); r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", name, r.status, c.status, r.body)
		}
	}
}

func TestCaptionListSaysWhetherAutoCaptions(t *testing.T) {
	for _, configured := range []bool{false, true} {
		var opts []envOption
		if configured {
			opts = append(opts, withWhisper(newFakeWhisper(t), false))
		}
		e := newEnv(t, opts...)
		id := e.readyVideo(e.user("owner"), store.Public, "Quiet")
		var l oapi.CaptionList
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id+"/captions", "", nil).decode(t, &l)
		if l.AutoCaptions != configured {
			t.Errorf("transcriber configured %t: autoCaptions %t", configured, l.AutoCaptions)
		}
	}
}
