package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sunomi/sunomi/api/oapi"
)

// sessionOf is the session id in an access token, read without verifying it.
func sessionOf(t *testing.T, token string) int64 {
	t.Helper()
	var c accessClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil || c.SessionID == 0 {
		t.Fatalf("token %.20s…: session %d, %v", token, c.SessionID, err)
	}
	return c.SessionID
}

// post sends a JSON body from the browser, with its cookies, as token unless it is "".
func (b *browser) post(rawURL, token string, body any) response {
	b.t.Helper()
	e := &env{t: b.t}
	resp, data := roundTrip(b.t, b.c, e.request(http.MethodPost, rawURL, body), token)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// signedIn is a browser that signed in as username (password "correct horse battery") and
// holds the session's refresh cookie, with the access token it got.
func (e *env) signedIn(username string) (*browser, oapi.Session) {
	e.t.Helper()
	b := newBrowser(e.t)
	r := b.post(e.URL+"/api/v1/auth/login", "", map[string]string{"username": username, "password": "correct horse battery"})
	if r.status != http.StatusOK {
		e.t.Fatalf("login as %s: status %d: %s", username, r.status, r.body)
	}
	var s oapi.Session
	r.decode(e.t, &s)
	return b, s
}

// refresh asks for a new access token with the browser's refresh cookie.
func (e *env) refresh(b *browser) response {
	e.t.Helper()
	return b.post(e.URL+"/api/v1/auth/refresh", "", nil)
}

// refreshWith asks for a new access token with the refresh cookie value, as a copy of it would.
func (e *env) refreshWith(value string) response {
	e.t.Helper()
	req := e.request(http.MethodPost, "/api/v1/auth/refresh", nil)
	req.AddCookie(&http.Cookie{Name: refreshCookie, Value: value})
	return e.send(req, "")
}

func (e *env) refreshCookieOf(b *browser) string {
	e.t.Helper()
	c := b.cookie(e.URL+refreshCookiePath+"/refresh", refreshCookie)
	if c == nil {
		e.t.Fatalf("the browser holds no %s cookie", refreshCookie)
	}
	return c.Value
}

// mustRefresh refreshes and returns the new access token.
func (e *env) mustRefresh(b *browser) string {
	e.t.Helper()
	r := e.refresh(b)
	if r.status != http.StatusOK {
		e.t.Fatalf("refresh: status %d: %s", r.status, r.body)
	}
	var s oapi.Session
	r.decode(e.t, &s)
	return s.Token
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path   string
		status int
	}{{"/api/v1/auth/register", http.StatusCreated}, {"/api/v1/auth/login", http.StatusOK}} {
		t.Run(c.path, func(t *testing.T) {
			r := e.must(c.status, "POST", c.path, "", map[string]string{"username": "cookie-user", "password": "correct horse battery"})
			var set *http.Cookie
			for _, c := range (&http.Response{Header: r.header}).Cookies() {
				if c.Name == refreshCookie {
					set = c
				}
			}
			if set == nil || len(set.Value) < 40 {
				t.Fatalf("no refresh cookie with a long secret; Set-Cookie: %q", r.header.Values("Set-Cookie"))
			}
			if !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != refreshCookiePath || set.MaxAge < 24*3600 {
				t.Errorf("refresh cookie %s: want HttpOnly, SameSite=Strict, Path=%s and a Max-Age of days", set, refreshCookiePath)
			}
			// Only a plain-http public URL (sunomi dev, these tests) may leave out Secure.
			if set.Secure {
				t.Errorf("refresh cookie %s is Secure on an http:// public URL, where browsers would drop it", set)
			}
			if strings.Contains(string(r.body), set.Value) {
				t.Errorf("the refresh token is in the body too: %s", r.body)
			}
			var s oapi.Session
			r.decode(t, &s)
			if d := time.Until(s.ExpiresAt); d > 15*time.Minute || d < 14*time.Minute {
				t.Errorf("access token lives %s, want 15 min", d)
			}
			// Stored hashed: the cookie's value is nowhere in the database.
			var n int
			if err := e.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM refresh_tokens WHERE hash = sha256($1::bytea)`, []byte(set.Value)).Scan(&n); err != nil || n != 1 {
				t.Errorf("%d refresh tokens stored as the SHA-256 of the cookie (%v), want 1", n, err)
			}
		})
	}
	t.Run("secure unless the public URL is http", func(t *testing.T) {
		for url, want := range map[string]bool{"https://sunomi.example": true, "": true, "http://localhost:8080": false} {
			s := &Server{cfg: Config{PublicURL: url}}
			if got := s.secureCookies(); got != want {
				t.Errorf("public URL %q: Secure = %t, want %t", url, got, want)
			}
		}
	})
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	name := e.user("rot").User.Username
	b, s := e.signedIn(name)

	first := e.refreshCookieOf(b)
	token := e.mustRefresh(b)
	second := e.refreshCookieOf(b)
	if second == first {
		t.Fatal("refreshing did not rotate the cookie")
	}
	if sessionOf(t, token) != sessionOf(t, s.Token) {
		t.Errorf("the refreshed token belongs to session %d, want the login's %d", sessionOf(t, token), sessionOf(t, s.Token))
	}
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", token, nil)
	token = e.mustRefresh(b)
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", token, nil)

	// A thief replays the first cookie: the whole family dies, the owner's cookie and access
	// token included.
	r := e.refreshWith(first)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("reused refresh token: status %d, want 401: %s", r.status, r.body)
	}
	if e.refresh(b).status != http.StatusUnauthorized {
		t.Error("the family's newest refresh token still works after a reuse")
	}
	e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", token, nil)
	var why string
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT revoked_why FROM sessions WHERE id = $1`, sessionOf(t, token)).Scan(&why); err != nil || why != "reuse" {
		t.Errorf("session revoked for %q (%v), want reuse", why, err)
	}

	// Other sessions of the user are not affected.
	other, os := e.signedIn(name)
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", os.Token, nil)
	e.mustRefresh(other)

	for _, c := range []struct{ name, value string }{{"no cookie", ""}, {"unknown", "bm90LWEtdG9rZW4"}} {
		if r := e.refreshWith(c.value); r.status != http.StatusUnauthorized || r.errorBody(t).Code != codeUnauthorized {
			t.Errorf("%s: status %d, want 401: %s", c.name, r.status, r.body)
		}
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	name := e.user("out").User.Username
	b, s := e.signedIn(name)
	other, os := e.signedIn(name)

	r := b.post(e.URL+"/api/v1/auth/logout", s.Token, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("logout: status %d: %s", r.status, r.body)
	}
	if b.cookie(e.URL+refreshCookiePath+"/refresh", refreshCookie) != nil {
		t.Error("logout left the refresh cookie in the browser")
	}
	// A copy of the cookie and the access token are dead too.
	if r := e.refreshWith(e.refreshCookieOf(other)); r.status != http.StatusOK {
		t.Fatalf("the other session's refresh: status %d: %s", r.status, r.body)
	}
	e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", s.Token, nil)
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", os.Token, nil)

	t.Run("by cookie alone", func(t *testing.T) {
		b, s := e.signedIn(name)
		cookie := e.refreshCookieOf(b)
		if r := b.post(e.URL+"/api/v1/auth/logout", "", nil); r.status != http.StatusNoContent {
			t.Fatalf("logout: status %d: %s", r.status, r.body)
		}
		if r := e.refreshWith(cookie); r.status != http.StatusUnauthorized {
			t.Errorf("refresh after logout: status %d, want 401", r.status)
		}
		e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", s.Token, nil)
	})
	t.Run("nothing to end", func(t *testing.T) {
		e.must(http.StatusNoContent, "POST", "/api/v1/auth/logout", "", nil)
	})
}

func TestLogoutAll(t *testing.T) {
	e := newEnv(t)
	name := e.user("all").User.Username
	laptop, ls := e.signedIn(name)
	phone, ps := e.signedIn(name)
	bystander := e.user("bystander")

	e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/logout-all", "", nil)
	if r := laptop.post(e.URL+"/api/v1/auth/logout-all", ls.Token, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout-all: status %d: %s", r.status, r.body)
	}
	for _, c := range []struct {
		name  string
		b     *browser
		token string
	}{{"laptop", laptop, ls.Token}, {"phone", phone, ps.Token}} {
		// The phone's access token has not expired, yet it is refused from the next request.
		e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", c.token, nil)
		if c.name == "phone" {
			if r := e.refresh(c.b); r.status != http.StatusUnauthorized {
				t.Errorf("%s refresh after logout-all: status %d, want 401", c.name, r.status)
			}
		}
	}
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", bystander.Token, nil)
	// Signing in again works.
	_, again := e.signedIn(name)
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", again.Token, nil)
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Auth.LoginPerAccount = 3 }))
	name := e.user("pw").User.Username
	here, hs := e.signedIn(name)
	there, ts := e.signedIn(name)

	bad := []struct {
		name  string
		body  any
		field string
	}{
		{"wrong current password", map[string]string{"current": "not the password", "new": "a brand new password"}, "current"},
		{"short new password", map[string]string{"current": "correct horse battery", "new": "short"}, "new"},
		{"unknown field", map[string]string{"current": "correct horse battery", "new": "a brand new password", "old": "x"}, "old"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := e.must(http.StatusBadRequest, "PUT", "/api/v1/me/password", hs.Token, c.body)
			if got := r.errorBody(t); got.Fields == nil || (*got.Fields)[c.field] == "" {
				t.Errorf("error %+v does not name %q", got, c.field)
			}
		})
	}
	e.must(http.StatusUnauthorized, "PUT", "/api/v1/me/password", "", map[string]string{"current": "correct horse battery", "new": "a brand new password"})

	e.must(http.StatusNoContent, "PUT", "/api/v1/me/password", hs.Token, map[string]string{"current": "correct horse battery", "new": "a brand new password"})
	// This session goes on; every other one has ended.
	e.must(http.StatusOK, "GET", "/api/v1/auth/me", hs.Token, nil)
	e.mustRefresh(here)
	e.must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", ts.Token, nil)
	if r := e.refresh(there); r.status != http.StatusUnauthorized {
		t.Errorf("the other session's refresh after a password change: status %d, want 401", r.status)
	}
	e.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "correct horse battery"})
	e.must(http.StatusOK, "POST", "/api/v1/auth/login", "", map[string]string{"username": name, "password": "a brand new password"})

	t.Run("guessing the current password is throttled", func(t *testing.T) {
		wrong := map[string]string{"current": "guess guess guess", "new": "a brand new password"}
		for range 2 {
			e.must(http.StatusBadRequest, "PUT", "/api/v1/me/password", hs.Token, wrong)
		}
		e.must(http.StatusTooManyRequests, "PUT", "/api/v1/me/password", hs.Token, map[string]string{"current": "a brand new password", "new": "another new password"})
	})
}

// TestSpentTokensAreForgotten: a session refreshed for months keeps a bounded number of spent
// refresh tokens.
func TestSpentTokensAreForgotten(t *testing.T) {
	e := newEnv(t)
	b, s := e.signedIn(e.user("old").User.Username)
	e.mustRefresh(b)
	if _, err := e.db.Pool().Exec(t.Context(), `UPDATE refresh_tokens SET rotated_at = now() - interval '8 days' WHERE rotated_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	e.mustRefresh(b)
	var spent int
	if err := e.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND rotated_at IS NOT NULL`, sessionOf(t, s.Token)).Scan(&spent); err != nil {
		t.Fatal(err)
	}
	if spent != 1 {
		t.Errorf("%d spent refresh tokens kept, want 1 (the one spent now)", spent)
	}
}

// TestEndedSessionsArePruned: the janitor deletes revoked and expired sessions with their
// refresh tokens, not only when their user signs in again; live sessions stay.
func TestEndedSessionsArePruned(t *testing.T) {
	e := newEnv(t)
	name := e.user("leaver").User.Username
	laptop, ls := e.signedIn(name)
	e.mustRefresh(laptop)
	if r := laptop.post(e.URL+"/api/v1/auth/logout", ls.Token, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: status %d: %s", r.status, r.body)
	}
	phone, _ := e.signedIn(e.user("stayer").User.Username)
	idle := sessionOf(t, e.user("idle").Token)
	if _, err := e.db.Pool().Exec(t.Context(), `UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, idle); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.sqlCount(`SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL OR expires_at < now()`); n != 0 {
		t.Errorf("%d ended sessions left after pruning, want 0", n)
	}
	if n := e.sqlCount(`SELECT count(*) FROM refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = r.session_id)`); n != 0 {
		t.Errorf("%d refresh tokens of pruned sessions left", n)
	}
	e.mustRefresh(phone) // the live session still works
}

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// signedInAs is signedIn from a browser that says it is userAgent.
func (e *env) signedInAs(username, userAgent string) (*browser, oapi.Session) {
	e.t.Helper()
	b := newBrowser(e.t)
	req := e.request(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": "correct horse battery"})
	req.Header.Set("User-Agent", userAgent)
	resp, data := roundTrip(e.t, b.c, req, "")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login as %s: status %d: %s", username, resp.StatusCode, data)
	}
	var s oapi.Session
	response{status: resp.StatusCode, body: data}.decode(e.t, &s)
	return b, s
}

func (e *env) mySessions(token string) []oapi.DeviceSession {
	e.t.Helper()
	var list oapi.DeviceSessionList
	e.must(http.StatusOK, "GET", "/api/v1/me/sessions", token, nil).decode(e.t, &list)
	return list.Items
}

// A user sees each of their signed-in devices, this one marked, and signs one out: its access
// and refresh tokens stop working at once, the others go on.
func TestSignedInDevices(t *testing.T) {
	e := newEnv(t)
	laptop := e.user("devices")
	phone, phoneSession := e.signedInAs(laptop.User.Username, firefoxUA)

	list := e.mySessions(laptop.Token)
	if len(list) != 2 {
		t.Fatalf("%d sessions listed, want 2 (registration and login): %+v", len(list), list)
	}
	byID := map[string]oapi.DeviceSession{}
	for _, s := range list {
		byID[s.Id] = s
	}
	laptopID, phoneID := strconv.FormatInt(sessionOf(t, laptop.Token), 10), strconv.FormatInt(sessionOf(t, phoneSession.Token), 10)
	if !byID[laptopID].Current || byID[phoneID].Current {
		t.Errorf("current flags: laptop %v, phone %v; want only the caller's session current", byID[laptopID].Current, byID[phoneID].Current)
	}
	got := byID[phoneID]
	if got.Device != "Firefox on Linux" || got.UserAgent == nil || *got.UserAgent != firefoxUA || got.Network == nil || *got.Network != "127.0.0.0/24" {
		t.Errorf("phone session %+v, want Firefox on Linux from 127.0.0.0/24 with its User-Agent", got)
	}
	if list[0].Id != phoneID {
		t.Errorf("first listed %s, want the most recently used (%s)", list[0].Id, phoneID)
	}

	e.must(http.StatusNoContent, "DELETE", "/api/v1/me/sessions/"+phoneID, laptop.Token, nil)
	if r := e.do("GET", "/api/v1/me/sessions", phoneSession.Token, nil); r.status != http.StatusUnauthorized {
		t.Errorf("the ended session's access token: status %d, want 401", r.status)
	}
	if r := e.refresh(phone); r.status != http.StatusUnauthorized {
		t.Errorf("the ended session's refresh: status %d, want 401", r.status)
	}
	if list := e.mySessions(laptop.Token); len(list) != 1 || list[0].Id != laptopID {
		t.Errorf("after signing the phone out: %+v, want the laptop alone", list)
	}
	for _, id := range []string{phoneID, "0", "x", "99999999999999999999"} {
		if r := e.do("DELETE", "/api/v1/me/sessions/"+id, laptop.Token, nil); r.status != http.StatusNotFound {
			t.Errorf("DELETE session %q: status %d, want 404", id, r.status)
		}
	}
}

// A refresh records the device it came from: the list shows where a session was last used.
func TestRefreshRecordsTheDevice(t *testing.T) {
	e := newEnv(t)
	u := e.user("roamer")
	b, s := e.signedInAs(u.User.Username, firefoxUA)
	req := e.request(http.MethodPost, "/api/v1/auth/refresh", nil)
	const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	req.Header.Set("User-Agent", chromeUA)
	if resp, data := roundTrip(t, b.c, req, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: status %d: %s", resp.StatusCode, data)
	}
	id := strconv.FormatInt(sessionOf(t, s.Token), 10)
	device := "not listed"
	for _, d := range e.mySessions(u.Token) {
		if d.Id == id {
			device = d.Device
		}
	}
	if device != "Chrome on Windows" {
		t.Errorf("after a refresh from Chrome the session shows %q, want Chrome on Windows", device)
	}
}

// Nobody ends another user's session: the id of someone else's session is answered as unknown,
// and that session goes on working.
func TestCannotEndAnotherUsersSession(t *testing.T) {
	e := newEnv(t)
	victim, attacker := e.user("victim"), e.user("attacker")
	id := strconv.FormatInt(sessionOf(t, victim.Token), 10)
	r := e.do("DELETE", "/api/v1/me/sessions/"+id, attacker.Token, nil)
	if r.status != http.StatusNotFound {
		t.Errorf("DELETE another user's session: status %d, want 404", r.status)
	}
	if r := e.do("GET", "/api/v1/me/sessions", victim.Token, nil); r.status != http.StatusOK {
		t.Errorf("the victim's session after the attempt: status %d, want 200", r.status)
	}
	if list := e.mySessions(attacker.Token); len(list) != 1 {
		t.Errorf("the attacker lists %d sessions, want their own one", len(list))
	}
	if r := e.do("DELETE", "/api/v1/me/sessions/"+id, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("DELETE anonymously: status %d, want 401", r.status)
	}
}

func TestDeviceLabel(t *testing.T) {
	for _, c := range []struct{ ua, want string }{
		{firefoxUA, "Firefox on Linux"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"},
		{"curl/8.5.0", "curl"},
		{"", "Unknown device"},
		{"(junk; junk)", "Unknown device"},
	} {
		if got := deviceLabel(c.ua); got != c.want {
			t.Errorf("deviceLabel(%q) = %q, want %q", c.ua, got, c.want)
		}
	}
}
