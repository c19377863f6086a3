package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
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
