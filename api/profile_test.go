package api

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/storage"
)

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
