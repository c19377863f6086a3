package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage/layout"
)

func TestListVideosPagination(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	var want []string
	for i := range 7 {
		want = append([]string{e.readyVideo(alice, store.Public, fmt.Sprint("public ", i))}, want...)
	}
	e.readyVideo(alice, store.Unlisted, "unlisted")
	e.readyVideo(alice, store.Private, "private")
	e.upload(alice.Token, "still uploading", []byte("bytes"))

	var got []string
	for _, page := range allPages(e, "/api/v1/videos?limit=3", "", 6, func(p oapi.VideoPage) *string { return p.NextCursor }) {
		for _, v := range page.Videos {
			got = append(got, v.Id)
			if v.Playback == nil || v.Playback.MasterUrl != "/media/"+v.Id+"/master.m3u8" {
				t.Errorf("public video playback = %+v, want a stable master URL", v.Playback)
			}
			if v.DurationSeconds == nil || *v.DurationSeconds != 6.5 {
				t.Errorf("duration = %v, want 6.5", v.DurationSeconds)
			}
			if v.Rungs == nil || strings.Join(*v.Rungs, ",") != "360p" {
				t.Errorf("rungs = %v, want [360p]", v.Rungs)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want the public videos newest first %v", got, want)
	}

	for _, bad := range []string{"?limit=0", "?limit=101", "?limit=x", "?cursor=not-a-cursor"} {
		r := e.must(http.StatusBadRequest, "GET", "/api/v1/videos"+bad, "", nil)
		r.errorBody(t)
	}
}

func TestVideoVisibility(t *testing.T) {
	e := newEnv(t)
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	public := e.readyVideo(owner, store.Public, "public")
	unlisted := e.readyVideo(owner, store.Unlisted, "unlisted")
	private := e.readyVideo(owner, store.Private, "private")
	cases := []struct {
		video string
		who   string
		token string
		want  int
	}{
		{public, "anonymous", "", 200}, {public, "other", other.Token, 200},
		{unlisted, "anonymous", "", 200}, {unlisted, "other", other.Token, 200},
		{private, "anonymous", "", 404}, {private, "other", other.Token, 404},
		{private, "owner", owner.Token, 200}, {private, "moderator", mod.Token, 200},
		{"AAAAAAAAAAA", "owner", owner.Token, 404},
	}
	for _, c := range cases {
		t.Run(c.who+" "+c.video, func(t *testing.T) {
			r := e.must(c.want, "GET", "/api/v1/videos/"+c.video, c.token, nil)
			if c.want != 200 {
				return
			}
			var v oapi.Video
			r.decode(t, &v)
			// Only public videos have cacheable, unsigned media URLs.
			signed := strings.Contains(v.Playback.MasterUrl, "token=")
			if signed != (c.video != public) || (v.Playback.ExpiresAt != nil) != signed {
				t.Errorf("playback %+v for %s video", v.Playback, v.Visibility)
			}
		})
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/bad%20id!", "", nil).errorBody(t)
}

func TestUpdateVideo(t *testing.T) {
	e := newEnv(t)
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	id := e.readyVideo(owner, store.Public, "before")

	var v oapi.Video
	e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+id, owner.Token, map[string]any{
		"title": "  after  ", "description": "line one\nline two", "tags": []string{"Cats", "cats", " dogs "}, "visibility": "unlisted",
	}).decode(t, &v)
	if v.Title != "after" || v.Description != "line one\nline two" || strings.Join(v.Tags, ",") != "cats,dogs" || v.Visibility != oapi.Unlisted {
		t.Fatalf("after PATCH: %+v", v)
	}
	e.must(http.StatusForbidden, "PATCH", "/api/v1/videos/"+id, other.Token, map[string]any{"title": "hijacked"})
	e.must(http.StatusForbidden, "PATCH", "/api/v1/videos/"+id, mod.Token, map[string]any{"title": "hijacked"})
	e.must(http.StatusUnauthorized, "PATCH", "/api/v1/videos/"+id, "", map[string]any{"title": "hijacked"})

	invalid := []struct {
		name  string
		body  any
		field string
	}{
		{"empty title", map[string]any{"title": "   "}, "title"},
		{"long title", map[string]any{"title": strings.Repeat("é", 101)}, "title"},
		{"multi-line title", map[string]any{"title": "a\nb"}, "title"},
		{"bad visibility", map[string]any{"visibility": "friends"}, "visibility"},
		{"too many tags", map[string]any{"tags": strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", ",")}, "tags"},
		{"tags not an array", map[string]any{"tags": "cats"}, "tags"},
		{"title a number", map[string]any{"title": 5}, "title"},
		{"unknown field", map[string]any{"status": "ready"}, "status"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			got := e.must(http.StatusBadRequest, "PATCH", "/api/v1/videos/"+id, owner.Token, c.body).errorBody(t)
			if got.Fields == nil || (*got.Fields)[c.field] == "" {
				t.Fatalf("error %+v does not name %q", got, c.field)
			}
		})
	}
	e.must(http.StatusBadRequest, "PATCH", "/api/v1/videos/"+id, owner.Token, map[string]any{})
	if got := e.video(id); got.Title != "after" || got.Visibility != store.Unlisted {
		t.Fatalf("invalid edits changed the video: %+v", got)
	}
}

func TestDeleteVideo(t *testing.T) {
	e := newEnv(t)
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	mine := e.readyVideo(owner, store.Public, "mine")
	moderated := e.readyVideo(owner, store.Private, "moderated")

	e.must(http.StatusUnauthorized, "DELETE", "/api/v1/videos/"+mine, "", nil)
	e.must(http.StatusForbidden, "DELETE", "/api/v1/videos/"+mine, other.Token, nil)
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+mine, owner.Token, nil)
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+moderated, mod.Token, nil)
	for _, id := range []string{mine, moderated} {
		e.must(http.StatusNotFound, "GET", "/api/v1/videos/"+id, owner.Token, nil)
		e.must(http.StatusNotFound, "DELETE", "/api/v1/videos/"+id, owner.Token, nil)
		if objs, err := e.blobs.List(t.Context(), layout.Video(id)); err != nil || len(objs) != 0 {
			t.Fatalf("objects left after delete: %v %v", objs, err)
		}
		e.must(http.StatusNotFound, "GET", "/media/"+id+"/master.m3u8", "", nil)
	}
}

func TestDeleteUserKeepsViews(t *testing.T) {
	e := newEnv(t)
	owner, viewer := e.user("owner"), e.user("viewer")
	id := e.readyVideo(owner, store.Public, "watched")
	viewerID, _ := strconv.ParseInt(viewer.User.Id, 10, 64)
	if _, err := e.db.Pool().Exec(t.Context(), `INSERT INTO views (video_id, user_id) VALUES ($1, $2), ($1, $2)`, id, viewerID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteUser(t.Context(), viewerID); err != nil {
		t.Fatalf("deleting a user with views: %v", err)
	}
	var n int
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM views WHERE video_id = $1 AND user_id IS NULL`, id).Scan(&n); err != nil || n != 2 {
		t.Fatalf("views kept = %d (%v), want 2", n, err)
	}
	// Deleting the owner deletes their videos (and so the views of them).
	ownerID, _ := strconv.ParseInt(owner.User.Id, 10, 64)
	if err := e.db.DeleteUser(t.Context(), ownerID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Video(t.Context(), id); err != store.ErrNotFound {
		t.Fatalf("video of a deleted owner: %v", err)
	}
}

func TestMyVideos(t *testing.T) {
	e := newEnv(t)
	owner, other := e.user("owner"), e.user("other")
	ready := e.readyVideo(owner, store.Private, "ready")
	up := e.upload(owner.Token, "uploading", []byte("x"))
	e.readyVideo(other, store.Public, "someone else's")
	var page oapi.VideoPage
	e.must(http.StatusOK, "GET", "/api/v1/me/videos", owner.Token, nil).decode(t, &page)
	var ids []string
	for _, v := range page.Videos {
		ids = append(ids, v.Id+":"+string(v.Status))
	}
	if want := up.VideoId + ":uploading," + ready + ":ready"; strings.Join(ids, ",") != want {
		t.Fatalf("my videos = %v, want %s", ids, want)
	}
	e.must(http.StatusUnauthorized, "GET", "/api/v1/me/videos", "", nil)
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	cases := []struct {
		name   string
		body   []byte
		status int
	}{
		{"malformed JSON", []byte(`{"title": "x",`), 400},
		{"not an object", []byte(`[1, 2]`), 400},
		{"two objects", []byte(`{"title":"a","filename":"a","size":1} {}`), 400},
		{"empty body", nil, 400},
		{"invalid UTF-8", []byte("{\"title\": \"\xff\xfe\", \"filename\": \"a\", \"size\": 1}"), 400},
		{"size a string", []byte(`{"title":"a","filename":"a","size":"12"}`), 400},
		{"negative size", []byte(`{"title":"a","filename":"a","size":-5}`), 400},
		{"ten megabyte title", []byte(`{"title":"` + strings.Repeat("a", 10<<20) + `","filename":"a","size":1}`), 413},
		{"null byte in title", []byte(`{"title":"a\u0000b","filename":"a","size":1}`), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.must(c.status, "POST", "/api/v1/uploads", owner.Token, c.body)
			r.errorBody(t)
		})
	}
	var n int
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM videos`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d videos written by bad requests (%v)", n, err)
	}

	// SQL metacharacters are data, stored and returned verbatim.
	title := `Robert'); DROP TABLE videos;-- "quoted" \ 100%`
	created := e.upload(owner.Token, title, []byte("x"))
	if got := e.video(created.VideoId).Title; got != title {
		t.Fatalf("title stored as %q", got)
	}

	// A wrong content type, unknown routes and methods get JSON errors too.
	req := e.request("POST", "/api/v1/auth/login", `{}`)
	req.Header.Set("Content-Type", "text/plain")
	if r := e.send(req, ""); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: status %d", r.status)
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/nope", "", nil).errorBody(t)
	e.must(http.StatusMethodNotAllowed, "PUT", "/api/v1/videos", "", nil).errorBody(t)
}

func TestAuthorizationMatrix(t *testing.T) {
	// The owner starts more uploads than the default quota of uploads in progress allows.
	e := newEnv(t, withConfig(func(c *Config) { c.Uploads.MaxConcurrent = 100 }))
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	who := []struct {
		name  string
		token string
	}{{"anonymous", ""}, {"other user", other.Token}, {"owner", owner.Token}, {"moderator", mod.Token}}

	// Each row runs on a fresh video: a ready one, or one waiting for its upload.
	type row struct {
		name   string
		upload bool // the video is still uploading
		method string
		path   string
		body   any
		want   [4]int // anonymous, other, owner, moderator
	}
	rows := []row{
		{"create upload", false, "POST", "/api/v1/uploads", map[string]any{"title": "t", "filename": "f", "size": 10}, [4]int{401, 201, 201, 201}},
		{"get upload", true, "GET", "/api/v1/uploads/{id}", nil, [4]int{401, 404, 200, 403}},
		{"presign parts", true, "POST", "/api/v1/uploads/{id}/parts", map[string]any{"parts": []int{1}}, [4]int{401, 404, 409, 403}},
		{"complete upload", true, "POST", "/api/v1/uploads/{id}/complete", nil, [4]int{401, 404, 200, 403}},
		{"edit video", false, "PATCH", "/api/v1/videos/{id}", map[string]any{"title": "new"}, [4]int{401, 403, 200, 403}},
		{"delete video", false, "DELETE", "/api/v1/videos/{id}", nil, [4]int{401, 403, 204, 204}},
	}
	for _, r := range rows {
		for i, w := range who {
			t.Run(r.name+"/"+w.name, func(t *testing.T) {
				var id string
				if r.upload {
					id = e.upload(owner.Token, "u", []byte("0123456789")).VideoId
				} else {
					id = e.readyVideo(owner, store.Public, "v")
				}
				e.must(r.want[i], r.method, strings.ReplaceAll(r.path, "{id}", id), w.token, r.body)
			})
		}
	}
}
