package api

import (
	"net/http"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func TestParseTermPolicy(t *testing.T) {
	rules, err := ParseTermPolicy(" reject:casino , hold:free money,")
	if err != nil || len(rules) != 2 || rules[0] != (TermRule{"casino", TermReject}) || rules[1] != (TermRule{"free money", TermHold}) {
		t.Fatalf("ParseTermPolicy = %+v, %v", rules, err)
	}
	for _, bad := range []string{"casino", "ban:casino", "reject:", ":x"} {
		if _, err := ParseTermPolicy(bad); err == nil {
			t.Errorf("ParseTermPolicy(%q) succeeded", bad)
		}
	}
}

func TestScreenText(t *testing.T) {
	p := compileTermPolicy([]TermRule{{"casino", TermReject}, {"free money", TermHold}, {"ünïcode", TermReject}})
	cases := []struct {
		text   string
		reject bool
		hold   bool
	}{
		{"Best CASINO tips", true, false},
		{"casinos are different words", false, false}, // whole words only
		{"occasino", false, false},
		{"get Free  money now", false, false}, // the phrase as written
		{"get free money now", false, true},
		{"FREE MONEY!", false, true},
		{"say ÜNÏCODE.", true, false},
		{"nothing here", false, false},
	}
	for _, c := range cases {
		rejected, hold := p.screenText(map[string]string{"title": c.text})
		if (len(rejected) > 0) != c.reject || (hold != "") != c.hold {
			t.Errorf("screenText(%q) = %v, %q; want reject %v, hold %v", c.text, rejected, hold, c.reject, c.hold)
		}
	}
	if r, h := compileTermPolicy(nil).screenText(map[string]string{"title": "casino"}); r != nil || h != "" {
		t.Error("an empty policy matched")
	}
}

func TestTermPolicyOnVideos(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Moderation.TermPolicy = []TermRule{{"casino", TermReject}, {"giveaway", TermHold}}
	}))
	owner := e.user("owner")
	r := e.must(http.StatusBadRequest, "POST", "/api/v1/uploads", owner.Token, map[string]any{
		"title": "my casino video", "filename": "a.mp4", "size": 10,
	})
	if f := r.errorBody(t).Fields; f == nil || (*f)["title"] == "" {
		t.Fatalf("rejection does not name the title: %s", r.body)
	}
	var created oapi.UploadCreated
	e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{
		"title": "a video", "description": "join the giveaway", "filename": "a.mp4", "size": 10,
	}).decode(t, &created)
	if v := e.video(created.VideoId); v.Moderation != store.ModerationHeld || v.HeldReason == "" {
		t.Fatalf("held upload: moderation %q, reason %q", v.Moderation, v.HeldReason)
	}

	id := e.readyVideo(owner, store.Public, "fine")
	e.must(http.StatusBadRequest, "PATCH", "/api/v1/videos/"+id, owner.Token, map[string]any{"tags": []string{"casino"}})
	var v oapi.Video
	e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+id, owner.Token, map[string]any{"title": "giveaway time"}).decode(t, &v)
	if v.Moderation == nil || v.Moderation.State != oapi.ModerationStateHeld {
		t.Fatalf("edited into a held term: moderation %+v", v.Moderation)
	}
	// Held: gone from the public list and from others, still there for the owner.
	var page oapi.VideoPage
	e.must(http.StatusOK, "GET", "/api/v1/videos", "", nil).decode(t, &page)
	if len(page.Videos) != 0 {
		t.Fatalf("held video listed: %+v", page.Videos)
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/"+id, "", nil)
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil)
	if r := get(t, e.URL+"/media/"+id+"/master.m3u8", nil); r.status != http.StatusForbidden {
		t.Fatalf("held video's media without a token: status %d", r.status)
	}
}
