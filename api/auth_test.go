package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunomi/sunomi/api/oapi"
)

func TestRegisterLoginMe(t *testing.T) {
	e := newEnv(t)
	var s oapi.Session
	e.must(http.StatusCreated, "POST", "/api/v1/auth/register", "", map[string]string{
		"username": "ada", "password": "analytical engine", "displayName": "Ada Lovelace",
	}).decode(t, &s)
	if s.User.Username != "ada" || s.User.DisplayName != "Ada Lovelace" || s.User.Role != oapi.UserRoleUser {
		t.Fatalf("registered user = %+v", s.User)
	}
	if s.ExpiresAt.Before(time.Now().Add(14*time.Minute)) || s.ExpiresAt.After(time.Now().Add(15*time.Minute)) {
		t.Errorf("token expires at %s, want about 15 min from now", s.ExpiresAt)
	}

	var me oapi.User
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", s.Token, nil).decode(t, &me)
	if me.Id != s.User.Id || me.Username != "ada" {
		t.Fatalf("me = %+v, want %+v", me, s.User)
	}

	var login oapi.Session
	e.must(http.StatusOK, "POST", "/api/v1/auth/login", "", map[string]string{"username": "ada", "password": "analytical engine"}).decode(t, &login)
	if login.User.Id != s.User.Id {
		t.Fatalf("login as %+v, want %+v", login.User, s.User)
	}

	// The stored hash is argon2id, never the password.
	var hash string
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT password_hash FROM users WHERE username = 'ada'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "analytical") {
		t.Fatalf("stored hash %q", hash)
	}

	r := e.must(http.StatusConflict, "POST", "/api/v1/auth/register", "", map[string]string{"username": "ada", "password": "another password"})
	if got := r.errorBody(t); got.Fields == nil || (*got.Fields)["username"] == "" {
		t.Errorf("conflict error does not name the username: %+v", got)
	}
}

func TestRegisterValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"short password", map[string]string{"username": "bob", "password": "short"}, "password"},
		{"upper-case username", map[string]string{"username": "Bob", "password": "long enough pw"}, "username"},
		{"short username", map[string]string{"username": "b", "password": "long enough pw"}, "username"},
		{"sql in username", map[string]string{"username": "x'; DROP TABLE users;--", "password": "long enough pw"}, "username"},
		{"control character in display name", map[string]string{"username": "bob", "password": "long enough pw", "displayName": "a\x07b"}, "displayName"},
		{"number as username", map[string]any{"username": 42, "password": "long enough pw"}, "username"},
		{"unknown field", map[string]any{"username": "bob", "password": "long enough pw", "admin": true}, "admin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.must(http.StatusBadRequest, "POST", "/api/v1/auth/register", "", c.body)
			got := r.errorBody(t)
			if got.Fields == nil || (*got.Fields)[c.field] == "" {
				t.Fatalf("error %+v does not name field %q", got, c.field)
			}
		})
	}
	var n int
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d users written by invalid registrations", n)
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Auth.LoginPerAccount = 3; c.Auth.LoginPerIP = 100 }))
	s := e.user("carol")
	name := s.User.Username

	r := e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "wrong password"})
	unknown := e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody-here", "password": "wrong password"})
	// The same answer for a wrong password and an unknown user: accounts cannot be enumerated.
	if r.errorBody(t).Message != unknown.errorBody(t).Message {
		t.Errorf("wrong password says %q, unknown user says %q", r.errorBody(t).Message, unknown.errorBody(t).Message)
	}

	// Three failures lock the account from this address for the window, even with the right
	// password (TestLoginGuessingDoesNotLockOutTheOwner: never from another address).
	e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "wrong password"})
	e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "wrong password"})
	r = e.must(http.StatusTooManyRequests, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "correct horse battery"})
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs <= 0 || secs > 15*60 {
		t.Errorf("Retry-After = %q, want seconds within the window", r.header.Get("Retry-After"))
	}
	if r.errorBody(t).Code != codeRateLimited {
		t.Errorf("code = %q", r.errorBody(t).Code)
	}
	// Another account from the same address is not affected.
	other := e.user("dave")
	e.must(http.StatusOK, "POST", "/api/v1/auth/login", "", map[string]string{"username": other.User.Username, "password": "correct horse battery"})
}

func TestLoginRateLimitPerIP(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Auth.LoginPerIP = 5; c.Auth.LoginPerAccount = 100 }))
	s := e.user("erin")
	for range 5 {
		e.must(http.StatusOK, "POST", "/api/v1/auth/login", "", map[string]string{"username": s.User.Username, "password": "correct horse battery"})
	}
	e.must(http.StatusTooManyRequests, "POST", "/api/v1/auth/login", "", map[string]string{"username": s.User.Username, "password": "correct horse battery"})
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	s := e.user("frank")
	id, _ := strconv.ParseInt(s.User.Id, 10, 64)

	sign := func(key []byte, kid string, claims accessClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tok.Header["kid"] = kid
		raw, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	valid := accessClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: tokenIssuer, Subject: s.User.Id, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
		SessionID: sessionOf(t, s.Token)}
	expired := valid
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	// A token of the pre-session kind (24 h, no sid) is no longer accepted.
	sessionless := valid
	sessionless.SessionID = 0
	otherSession := valid
	otherSession.SessionID = sessionOf(t, e.user("frank-other").Token)
	key := e.srv.cfg.Auth.SigningKeys[0]
	cases := []struct {
		name   string
		header string
	}{
		{"garbage", "Bearer not-a-jwt"},
		{"wrong scheme", "Basic " + s.Token},
		{"expired", "Bearer " + sign(key.Secret, key.ID, expired)},
		{"unknown key id", "Bearer " + sign(key.Secret, "other", valid)},
		{"wrong secret", "Bearer " + sign([]byte("not-the-secret-0123456789abcdefghijk"), key.ID, valid)},
		{"no session", "Bearer " + sign(key.Secret, key.ID, sessionless)},
		{"another user's session", "Bearer " + sign(key.Secret, key.ID, otherSession)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := e.request("GET", "/api/v1/auth/me", nil)
			req.Header.Set("Authorization", c.header)
			if r := e.send(req, ""); r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.status)
			}
		})
	}
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", sign(key.Secret, key.ID, valid), nil)
	e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", "", nil)

	// A deleted account's token stops working at once.
	if err := e.db.DeleteUser(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", s.Token, nil)
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	s := e.user("grace")
	old := e.srv.cfg.Auth.SigningKeys[0]
	// Rotate: a new key signs, the old one still verifies.
	e.srv.cfg.Auth.SigningKeys = []SigningKey{{ID: "new", Secret: []byte("the-new-signing-key-0123456789abcdef")}, old}
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", s.Token, nil)
	var fresh oapi.Session
	e.must(http.StatusOK, "POST", "/api/v1/auth/login", "", map[string]string{"username": s.User.Username, "password": "correct horse battery"}).decode(t, &fresh)
	tok, _, err := jwt.NewParser().ParseUnverified(fresh.Token, &jwt.RegisteredClaims{})
	if err != nil || tok.Header["kid"] != "new" {
		t.Fatalf("new token kid = %v (%v), want new", tok.Header["kid"], err)
	}
	// Drop the old key: its tokens stop working.
	e.srv.cfg.Auth.SigningKeys = e.srv.cfg.Auth.SigningKeys[:1]
	e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", s.Token, nil)
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", fresh.Token, nil)
}

func TestParseSigningKeys(t *testing.T) {
	long := strings.Repeat("s", 32)
	keys, err := ParseSigningKeys("a:" + long + ", b:" + long + "x")
	if err != nil || len(keys) != 2 || keys[0].ID != "a" || string(keys[1].Secret) != long+"x" {
		t.Fatalf("ParseSigningKeys = %+v, %v", keys, err)
	}
	for _, bad := range []string{"", "nokid", "a:short", "a:" + long + ",a:" + long, ":" + long} {
		if _, err := ParseSigningKeys(bad); err == nil {
			t.Errorf("ParseSigningKeys(%q) succeeded", bad)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("pässwörd with spaces")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"pässwörd with spaces", true}, {"passwörd with spaces", false}, {"", false}} {
		if got, err := checkPassword(h, c.pw); err != nil || got != c.want {
			t.Errorf("checkPassword(%q) = %v, %v; want %v", c.pw, got, err, c.want)
		}
	}
	if _, err := checkPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a non-argon2id hash was accepted")
	}
}

// TestReplicasShareState runs two API replicas on one database: a token from one works on the
// other, and login throttling counts attempts across both.
func TestReplicasShareState(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Auth.LoginPerAccount = 2; c.Auth.LoginPerIP = 100 }))
	other, err := New(e.replicaConfig())
	if err != nil {
		t.Fatal(err)
	}
	replica := httptest.NewServer(other.Handler())
	t.Cleanup(replica.Close)

	s := e.user("harry")
	e.must(http.StatusOK, "GET", replica.URL+"/api/v1/auth/me", s.Token, nil)
	bad := map[string]string{"username": s.User.Username, "password": "wrong password"}
	e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", "", bad)
	e.must(http.StatusUnauthorized, "POST", replica.URL+"/api/v1/auth/login", "", bad)
	e.must(http.StatusTooManyRequests, "POST", "/api/v1/auth/login", "", bad)
	e.must(http.StatusTooManyRequests, "POST", replica.URL+"/api/v1/auth/login", "", bad)
}
