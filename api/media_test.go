package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func get(t *testing.T, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, body := roundTrip(t, http.DefaultClient, req, "")
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func TestPublicMedia(t *testing.T) {
	e := newEnv(t)
	id := e.readyVideo(e.user("owner"), store.Public, "public")
	cases := []struct {
		file, contentType, cache string
	}{
		{"master.m3u8", "application/vnd.apple.mpegurl", "public, max-age=60"},
		{"360p/playlist.m3u8", "application/vnd.apple.mpegurl", "public, max-age=60"},
		{"360p/c0_a1_0.ts", "video/mp2t", "public, max-age=31536000, immutable"},
		{"poster.jpg", "image/jpeg", "public, max-age=31536000, immutable"},
		{"storyboard.vtt", "text/vtt; charset=utf-8", "public, max-age=60"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r := get(t, e.URL+"/media/"+id+"/"+c.file, nil)
			if r.status != 200 || r.header.Get("Content-Type") != c.contentType || r.header.Get("Cache-Control") != c.cache {
				t.Fatalf("status %d, type %q, cache %q", r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
			}
			if string(r.body) != fakeLadder["hls/"+c.file] {
				t.Fatalf("body differs from the stored file")
			}
		})
	}
	// Range requests, as players seek in segments.
	r := get(t, e.URL+"/media/"+id+"/360p/c0_a1_0.ts", map[string]string{"Range": "bytes=188-375"})
	if r.status != http.StatusPartialContent || len(r.body) != 188 || r.header.Get("Content-Range") != "bytes 188-375/1880" {
		t.Fatalf("range: status %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Range"))
	}
	for _, bad := range []string{"../../etc/passwd", "360p/../../x", "source/original", "a/b/c.ts", "missing.ts"} {
		if r := get(t, e.URL+"/media/"+id+"/"+bad, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", bad, r.status)
		}
	}
	// The original upload is never served through /media.
	if r := get(t, e.URL+"/media/"+id+"/../source/original", nil); r.status == 200 {
		t.Error("the source was served")
	}
}

func TestSignedMedia(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Private, "private")

	if r := get(t, e.URL+"/media/"+id+"/master.m3u8", nil); r.status != http.StatusForbidden {
		t.Fatalf("private master without token: status %d", r.status)
	}
	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil).decode(t, &v)
	master := get(t, e.URL+v.Playback.MasterUrl, nil)
	if master.status != 200 || master.header.Get("Cache-Control") != "private, max-age=300" {
		t.Fatalf("signed master: status %d, cache %q", master.status, master.header.Get("Cache-Control"))
	}
	token := v.Playback.MasterUrl[strings.Index(v.Playback.MasterUrl, "token="):]
	// Every URI inside carries the token, so any player can follow them.
	for _, want := range []string{"360p/playlist.m3u8?" + token, `URI="audio/playlist.m3u8?` + token + `"`} {
		if !strings.Contains(string(master.body), want) {
			t.Fatalf("master does not contain %q:\n%s", want, master.body)
		}
	}
	rung := get(t, e.URL+"/media/"+id+"/360p/playlist.m3u8?"+token, nil)
	if !strings.Contains(string(rung.body), "c0_a1_0.ts?"+token+"\n") {
		t.Fatalf("rung playlist not rewritten:\n%s", rung.body)
	}
	if r := get(t, e.URL+"/media/"+id+"/360p/c0_a1_0.ts?"+token, nil); r.status != 200 || len(r.body) != 1880 {
		t.Fatalf("signed segment: status %d", r.status)
	}
	vtt := get(t, e.URL+*v.Playback.StoryboardUrl, nil)
	if !strings.Contains(string(vtt.body), "storyboard.jpg?"+token+"#xywh=0,0,160,90") {
		t.Fatalf("storyboard not rewritten:\n%s", vtt.body)
	}

	// A token is for one video only, and only until it expires.
	other := e.readyVideo(owner, store.Private, "other")
	if r := get(t, e.URL+"/media/"+other+"/master.m3u8?"+token, nil); r.status != http.StatusForbidden {
		t.Errorf("token of another video: status %d", r.status)
	}
	if r := get(t, e.URL+"/media/"+id+"/master.m3u8?"+token+"x", nil); r.status != http.StatusForbidden {
		t.Errorf("tampered token: status %d", r.status)
	}
	e.srv.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
	if r := get(t, e.URL+v.Playback.MasterUrl, nil); r.status != http.StatusForbidden {
		t.Errorf("expired token: status %d", r.status)
	}
}

func TestDocsAndContract(t *testing.T) {
	e := newEnv(t)
	r := get(t, e.URL+"/api/v1/openapi.json", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || !strings.Contains(string(r.body), `"openapi":"3.1.0"`) {
		t.Fatalf("openapi.json: status %d, %.100s", r.status, r.body)
	}
	// The docs page: docs_test.go.
	// Security headers on every response.
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
		if r.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent without TLS")
	}
}

func TestInternalErrorsRevealNothing(t *testing.T) {
	e := newEnv(t)
	e.db.Close() // every query now fails inside pgx
	r := e.must(http.StatusInternalServerError, "GET", "/api/v1/videos", "", nil)
	got := r.errorBody(t)
	if got.Code != codeInternal || strings.Contains(strings.ToLower(got.Message), "pool") || strings.Contains(got.Message, "closed") {
		t.Fatalf("500 body reveals internals: %+v", got)
	}
	e.must(http.StatusServiceUnavailable, "GET", "/readyz", "", nil)
}

func TestHSTSWithTLS(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.TLS = true }))
	r := get(t, e.URL+"/healthz", nil)
	if got := r.header.Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
		t.Fatalf("HSTS = %q", got)
	}
}

func TestHomeCache(t *testing.T) {
	now := time.Now()
	e := newEnv(t, withConfig(func(c *Config) {
		c.HomeCacheTTL = time.Second
		c.Now = func() time.Time { return now }
	}))
	owner := e.user("owner")
	first := e.readyVideo(owner, store.Public, "first")
	count := func(token string) int {
		var page oapi.VideoPage
		e.must(http.StatusOK, "GET", "/api/v1/videos", token, nil).decode(t, &page)
		return len(page.Videos)
	}
	if n := count(""); n != 1 {
		t.Fatalf("first page has %d videos", n)
	}
	e.readyVideo(owner, store.Public, "second")
	// Within the second, anonymous readers get the same answer; signed-in ones a fresh one.
	if n := count(""); n != 1 {
		t.Fatalf("cached page has %d videos, want the cached 1", n)
	}
	if n := count(owner.Token); n != 2 {
		t.Fatalf("signed-in page has %d videos, want 2", n)
	}
	now = now.Add(1100 * time.Millisecond)
	if n := count(""); n != 2 {
		t.Fatalf("page after the second has %d videos, want 2", n)
	}
	// Other query strings are cached apart, and errors are not cached.
	e.must(http.StatusBadRequest, "GET", "/api/v1/videos?limit=0", "", nil)
	var page oapi.VideoPage
	e.must(http.StatusOK, "GET", "/api/v1/videos?limit=1", "", nil).decode(t, &page)
	if len(page.Videos) != 1 || page.Videos[0].Id == first {
		t.Fatalf("limit=1 page = %+v, want the newest video", page.Videos)
	}
}
