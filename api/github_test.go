package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
)

// fakeGitHub is a local server that speaks GitHub's OAuth web flow and the one REST call the
// service makes (GET /user), as documented at docs.github.com/apps/oauth-apps/building-oauth-apps/
// authorizing-oauth-apps. It stands in for github.com, which tests cannot reach. The user
// "signed in at GitHub" is set with as; deny makes that user press Cancel.
type fakeGitHub struct {
	srv      *httptest.Server
	clientID string

	mu          sync.Mutex
	secret      string
	redirectURI string             // the registered callback
	current     githubProfile      // who is signed in at GitHub
	deny        bool               // the user cancels the next authorisation
	codes       map[string]ghGrant // authorisation codes not yet exchanged
	tokens      map[string]githubProfile
	exchanges   int // successful code exchanges
}

type ghGrant struct {
	user        githubProfile
	redirectURI string
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{clientID: "Iv1.sunomitest", secret: "fake-github-client-secret",
		codes: map[string]ghGrant{}, tokens: map[string]githubProfile{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", f.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", f.accessToken)
	mux.HandleFunc("GET /user", f.user)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// config is what an operator would put in the API's configuration for this fake.
func (f *fakeGitHub) config() *GitHubConfig {
	return &GitHubConfig{ClientID: f.clientID, ClientSecret: f.secret,
		AuthURL: f.srv.URL + "/login/oauth/authorize", TokenURL: f.srv.URL + "/login/oauth/access_token", APIURL: f.srv.URL}
}

// register records the OAuth app's callback URL, as the app's settings page at GitHub does.
func (f *fakeGitHub) register(callback string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redirectURI = callback
}

// as signs p in at GitHub: the next authorisation is granted by p.
func (f *fakeGitHub) as(p githubProfile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current, f.deny = p, false
}

func (f *fakeGitHub) set(fn func(f *fakeGitHub)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func randomString(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s%x", prefix, b)
}

// authorize is the page where the user approves the app. GitHub shows it, and redirects to
// the callback with a code and the state, or with error=access_denied when the user cancels.
func (f *fakeGitHub) authorize(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	if q.Get("client_id") != f.clientID {
		http.Error(w, "404 This is not the web page you are looking for (unknown client_id)", http.StatusNotFound)
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = f.redirectURI
	}
	if redirect != f.redirectURI {
		// GitHub refuses to redirect anywhere but the registered callback.
		http.Error(w, "The redirect_uri is not associated with this application.", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	if state == "" {
		http.Error(w, "the test expects a state (CSRF protection)", http.StatusBadRequest)
		return
	}
	if scopes := strings.Fields(strings.ReplaceAll(q.Get("scope"), ",", " ")); !slices.Equal(scopes, []string{"read:user"}) {
		http.Error(w, fmt.Sprintf("the test expects scope read:user only, got %q", q.Get("scope")), http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirect)
	out := url.Values{"state": {state}}
	if f.deny {
		f.deny = false
		out.Set("error", "access_denied")
		out.Set("error_description", "The user has denied your application access.")
		out.Set("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied")
	} else {
		code := randomString("")
		f.codes[code] = ghGrant{user: f.current, redirectURI: redirect}
		out.Set("code", code)
	}
	back.RawQuery = out.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// accessToken exchanges a code. GitHub answers errors with status 200 and an error field, in
// JSON with Accept: application/json and form-encoded otherwise.
func (f *fakeGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer := func(v url.Values) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = io.WriteString(w, v.Encode())
	}
	fail := func(code, desc, anchor string) {
		answer(url.Values{"error": {code}, "error_description": {desc},
			"error_uri": {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + anchor}})
	}
	code := r.PostForm.Get("code")
	grant, ok := f.codes[code]
	switch {
	case r.PostForm.Get("client_id") != f.clientID || r.PostForm.Get("client_secret") != f.secret:
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials")
	case !ok:
		fail("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
	case r.PostForm.Get("redirect_uri") != "" && r.PostForm.Get("redirect_uri") != grant.redirectURI:
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", "redirect-uri-mismatch")
	default:
		// A code works once.
		delete(f.codes, code)
		token := randomString("gho_")
		f.tokens[token] = grant.user
		f.exchanges++
		answer(url.Values{"access_token": {token}, "token_type": {"bearer"}, "scope": {"read:user"}})
	}
}

// user is GET /user: the profile of the token's user. GitHub takes "Bearer" and "token".
func (f *fakeGitHub) user(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	p, ok := f.tokens[token]
	if !ok || !(strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"Requires authentication","documentation_url":"https://docs.github.com/rest/users/users#get-the-authenticated-user","status":"401"}`)
		return
	}
	body := map[string]any{"id": p.ID, "login": p.Login, "node_id": "MDQ6VXNlcj" + strconv.FormatInt(p.ID, 10),
		"avatar_url": p.AvatarURL, "type": "User", "site_admin": false, "name": nil}
	if p.Name != "" {
		body["name"] = p.Name
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(body)
}

// githubEnv is an API configured for the fake GitHub.
type githubEnv struct {
	*env
	gh    *fakeGitHub
	clock *testClock
}

func newGitHubEnv(t *testing.T) *githubEnv {
	t.Helper()
	gh := newFakeGitHub(t)
	clock := &testClock{}
	e := newEnv(t, withConfig(func(c *Config) { c.GitHub, c.Now = gh.config(), clock.Now }))
	gh.register(e.URL + "/api/v1/auth/github/callback")
	return &githubEnv{env: e, gh: gh, clock: clock}
}

// start begins signing in and returns GitHub's authorisation URL, checking the state cookie.
func (g *githubEnv) start(b *browser, returnTo string) *url.URL {
	g.t.Helper()
	loc, resp := b.hop(g.URL + "/api/v1/auth/github/login?returnTo=" + url.QueryEscape(returnTo))
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, g.gh.srv.URL+"/login/oauth/authorize"; got != want {
		g.t.Fatalf("login redirects to %s, want %s", got, want)
	}
	if loc.Query().Get("state") == "" {
		g.t.Fatalf("authorisation URL %s has no state", loc)
	}
	var set *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == oauthCookie {
			set = c
		}
	}
	if set == nil {
		g.t.Fatalf("login set no %s cookie; Set-Cookie: %q", oauthCookie, resp.Header.Values("Set-Cookie"))
	}
	if !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/api/v1/auth/github/" || set.MaxAge <= 0 {
		g.t.Errorf("state cookie %s: want HttpOnly, SameSite=Lax, Path=/api/v1/auth/github/ and a Max-Age", set)
	}
	return loc
}

// setStateCookie puts value in the browser as the OAuth state cookie, as a forger or a replay
// would.
func (g *githubEnv) setStateCookie(b *browser, value string) {
	u, _ := url.Parse(g.URL + "/api/v1/auth/github/")
	b.jar.SetCookies(u, []*http.Cookie{{Name: oauthCookie, Value: value, Path: "/api/v1/auth/github/"}})
}

// authorized is a new browser that started a sign-in returning to /upload, with the callback
// URL GitHub sent it to, not yet followed.
func (g *githubEnv) authorized(t *testing.T) (*browser, *url.URL) {
	t.Helper()
	b := newBrowser(t)
	return b, g.authorize(b, g.start(b, "/upload"))
}

// withQuery is u with its query changed by edit.
func withQuery(u *url.URL, edit func(url.Values)) *url.URL {
	q := u.Query()
	edit(q)
	u.RawQuery = q.Encode()
	return u
}

// authorize follows the authorisation URL to GitHub and returns the callback URL GitHub sends
// the browser to.
func (g *githubEnv) authorize(b *browser, authURL *url.URL) *url.URL {
	g.t.Helper()
	loc, _ := b.hop(authURL.String())
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path, g.URL+"/api/v1/auth/github/callback"; got != want {
		g.t.Fatalf("GitHub redirects to %s, want %s", got, want)
	}
	return loc
}

// callback follows GitHub's redirect to the API and returns where the API sends the browser:
// the path it returns to and the fragment's values. A token never travels in the URL: success
// is a one-time code, which needs the state cookie, so that stays until the exchange.
func (g *githubEnv) callback(b *browser, cb *url.URL) (string, url.Values) {
	g.t.Helper()
	loc, _ := b.hop(cb.String())
	if got := loc.Scheme + "://" + loc.Host; got != g.URL {
		g.t.Fatalf("callback redirects to %s, want a page of %s", loc, g.URL)
	}
	if loc.RawQuery != "" {
		g.t.Errorf("callback redirects to %s: the result must be in the fragment, never the query", loc)
	}
	frag, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		g.t.Fatalf("fragment of %s: %v", loc, err)
	}
	if frag.Has("token") {
		g.t.Errorf("callback redirects to %s: a token in the URL", loc)
	}
	c := b.cookie(g.URL+"/api/v1/auth/github/exchange", oauthCookie)
	if frag.Get("code") == "" && c != nil {
		g.t.Errorf("the state cookie survives a failed callback: %s", c)
	}
	if frag.Get("code") != "" && c == nil {
		g.t.Errorf("the callback gave a code but cleared the state cookie it is bound to")
	}
	return loc.Path, frag
}

// exchange trades a callback's one-time code for a session in browser b.
func (g *githubEnv) exchange(b *browser, code string) response {
	g.t.Helper()
	return b.post(g.URL+"/api/v1/auth/github/exchange", "", map[string]string{"code": code})
}

// mustExchange trades a code for a session and returns its access token.
func (g *githubEnv) mustExchange(b *browser, code string) string {
	g.t.Helper()
	r := g.exchange(b, code)
	if r.status != http.StatusOK {
		g.t.Fatalf("exchange: status %d: %s", r.status, r.body)
	}
	var s oapi.Session
	r.decode(g.t, &s)
	if b.cookie(g.URL+refreshCookiePath+"/refresh", refreshCookie) == nil {
		g.t.Errorf("the exchange set no refresh cookie")
	}
	return s.Token
}

// signIn runs the whole flow as the fake's current user and returns the session's token.
func (g *githubEnv) signIn(returnTo string) string {
	g.t.Helper()
	b := newBrowser(g.t)
	path, frag := g.callback(b, g.authorize(b, g.start(b, returnTo)))
	if path != returnTo || frag.Get("code") == "" || frag.Get("error") != "" {
		g.t.Fatalf("sign-in ends at %s#%s, want %s#code=…", path, frag.Encode(), returnTo)
	}
	return g.mustExchange(b, frag.Get("code"))
}

// link runs the linking flow for the signed-in user of token and returns the final fragment
// and, when it holds a code, the access token the code is exchanged for.
func (g *githubEnv) link(token string) (url.Values, string) {
	g.t.Helper()
	b := newBrowser(g.t)
	resp, body := b.send(http.MethodPost, g.URL+"/api/v1/auth/github/link", token)
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("POST /auth/github/link: status %d: %s", resp.StatusCode, body)
	}
	var r oapi.RedirectURL
	if err := json.Unmarshal(body, &r); err != nil {
		g.t.Fatalf("decode %s: %v", body, err)
	}
	if b.cookie(g.URL+"/api/v1/auth/github/callback", oauthCookie) == nil {
		g.t.Fatalf("POST /auth/github/link set no state cookie")
	}
	authURL, err := url.Parse(r.Url)
	if err != nil {
		g.t.Fatal(err)
	}
	path, frag := g.callback(b, g.authorize(b, authURL))
	if path != "/" {
		g.t.Errorf("linking returns to %s, want /", path)
	}
	if frag.Get("code") == "" {
		return frag, ""
	}
	return frag, g.mustExchange(b, frag.Get("code"))
}

func (g *githubEnv) me(token string) oapi.User {
	g.t.Helper()
	var u oapi.User
	g.must(http.StatusOK, "GET", "/api/v1/auth/me", token, nil).decode(g.t, &u)
	return u
}

func (g *githubEnv) countRows(table string) int {
	g.t.Helper()
	var n int
	if err := g.db.Pool().QueryRow(g.t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		g.t.Fatal(err)
	}
	return n
}

func TestGitHubSignIn(t *testing.T) {
	g := newGitHubEnv(t)
	octocat := githubProfile{ID: 583231, Login: "The-Octocat", Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"}

	var providers oapi.AuthProviders
	g.must(http.StatusOK, "GET", "/api/v1/auth/providers", "", nil).decode(t, &providers)
	if !providers.Github || !providers.Password {
		t.Errorf("providers = %+v, want password and GitHub", providers)
	}

	var first oapi.User
	t.Run("new identity creates an account", func(t *testing.T) {
		g.gh.as(octocat)
		token := g.signIn("/upload")
		first = g.me(token)
		if first.Username != "the-octocat" || first.DisplayName != "The Octocat" || first.Role != oapi.UserRoleUser {
			t.Errorf("account %q (%q, %s), want the-octocat (The Octocat, user)", first.Username, first.DisplayName, first.Role)
		}
		if first.AvatarUrl == nil || *first.AvatarUrl != octocat.AvatarURL {
			t.Errorf("avatar %v, want %q", first.AvatarUrl, octocat.AvatarURL)
		}
		// The account has no password: nobody can sign in to it with one.
		var hash *string
		if err := g.db.Pool().QueryRow(t.Context(), `SELECT password_hash FROM users WHERE id = $1`, first.Id).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if hash != nil {
			t.Errorf("password_hash = %q, want NULL", *hash)
		}
		var login string
		if err := g.db.Pool().QueryRow(t.Context(), `SELECT login FROM oauth_identities WHERE provider = 'github' AND subject = '583231'`).Scan(&login); err != nil {
			t.Fatalf("identity row: %v", err)
		}
		if login != octocat.Login {
			t.Errorf("identity login = %q, want %q", login, octocat.Login)
		}
	})

	t.Run("same identity gets the same account", func(t *testing.T) {
		// GitHub logins can be renamed; the id is what identifies the user.
		renamed := octocat
		renamed.Login = "octocat-renamed"
		g.gh.as(renamed)
		users := g.countRows("users")
		again := g.me(g.signIn("/"))
		if again.Id != first.Id || again.Username != first.Username {
			t.Fatalf("second sign-in is %+v, want %+v", again, first)
		}
		if got := g.countRows("users"); got != users {
			t.Errorf("%d users after signing in again, want %d", got, users)
		}
	})

	cases := []struct {
		name    string
		taken   []string // usernames registered with a password first
		profile githubProfile
		want    oapi.User
	}{
		{"taken username gets a suffix", []string{"hubber"},
			githubProfile{ID: 1001, Login: "Hubber", Name: "Hub Ber"},
			oapi.User{Username: "hubber-2", DisplayName: "Hub Ber"}},
		{"next free suffix", []string{"mona", "mona-2"},
			githubProfile{ID: 1002, Login: "mona", Name: "Mona Lisa"},
			oapi.User{Username: "mona-3", DisplayName: "Mona Lisa"}},
		{"no name uses the login", nil,
			githubProfile{ID: 1003, Login: "NoName"},
			oapi.User{Username: "noname", DisplayName: "NoName"}},
		{"name with control characters uses the login", nil,
			githubProfile{ID: 1004, Login: "ctrl", Name: "bad\x07name"},
			oapi.User{Username: "ctrl", DisplayName: "ctrl"}},
		{"short login is padded", nil,
			githubProfile{ID: 1005, Login: "x", Name: "X"},
			oapi.User{Username: "x__", DisplayName: "X"}},
		{"39-character login is cut to 30", nil,
			githubProfile{ID: 1006, Login: "abcdefghij-abcdefghij-abcdefghij-abcdef", Name: "Long"},
			oapi.User{Username: "abcdefghij-abcdefghij-abcdefgh", DisplayName: "Long"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range c.taken {
				g.must(http.StatusCreated, "POST", "/api/v1/auth/register", "", map[string]string{"username": name, "password": "correct horse battery"})
			}
			g.gh.as(c.profile)
			got := g.me(g.signIn("/"))
			if got.Username != c.want.Username || got.DisplayName != c.want.DisplayName {
				t.Fatalf("account = %q (%q), want %q (%q)", got.Username, got.DisplayName, c.want.Username, c.want.DisplayName)
			}
			if got.AvatarUrl != nil {
				t.Errorf("avatar = %q, want none", *got.AvatarUrl)
			}
		})
	}
}

func TestGitHubLink(t *testing.T) {
	g := newGitHubEnv(t)
	alice := g.user("alice")
	bob := g.user("bob")
	ghAlice := githubProfile{ID: 2001, Login: "alice-gh", Name: "Alice at GitHub"}

	t.Run("link then sign in", func(t *testing.T) {
		g.gh.as(ghAlice)
		users := g.countRows("users")
		frag, token := g.link(alice.Token)
		if frag.Get("error") != "" || token == "" {
			t.Fatalf("linking ends with #%s, want #code=…", frag.Encode())
		}
		if me := g.me(token); me.Id != alice.User.Id || me.Username != alice.User.Username {
			t.Fatalf("linking signs in as %+v, want %+v", me, alice.User)
		}
		if got := g.countRows("users"); got != users {
			t.Errorf("%d users after linking, want %d (linking creates no account)", got, users)
		}
		// Signing in with GitHub now gives the linked account.
		if me := g.me(g.signIn("/")); me.Id != alice.User.Id {
			t.Fatalf("GitHub sign-in after linking is %+v, want %+v", me, alice.User)
		}
		// The password still works too.
		g.must(http.StatusOK, "POST", "/api/v1/auth/login", "", map[string]string{"username": alice.User.Username, "password": "correct horse battery"})
	})

	t.Run("linking again to the same account is harmless", func(t *testing.T) {
		g.gh.as(ghAlice)
		frag, token := g.link(alice.Token)
		if token == "" || g.me(token).Id != alice.User.Id {
			t.Fatalf("relinking ends with #%s, want a code for alice", frag.Encode())
		}
	})

	refusals := []struct {
		name    string
		token   string
		profile githubProfile
	}{
		{"identity linked to another account", bob.Token, ghAlice},
		{"account already linked to another identity", alice.Token, githubProfile{ID: 2002, Login: "alice-second"}},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			g.gh.as(c.profile)
			users, identities := g.countRows("users"), g.countRows("oauth_identities")
			frag, token := g.link(c.token)
			if frag.Get("error") == "" || token != "" {
				t.Fatalf("linking ends with #%s, want #error=…", frag.Encode())
			}
			if got := g.countRows("users"); got != users {
				t.Errorf("%d users after a refused link, want %d", got, users)
			}
			if got := g.countRows("oauth_identities"); got != identities {
				t.Errorf("%d identities after a refused link, want %d", got, identities)
			}
			// The identity still signs in to its own account.
			if c.profile.ID == ghAlice.ID {
				if me := g.me(g.signIn("/")); me.Id != alice.User.Id {
					t.Errorf("after bob's attempt GitHub signs in as %+v, want alice", me)
				}
			}
		})
	}

	t.Run("linking needs a token", func(t *testing.T) {
		r := g.must(http.StatusUnauthorized, "POST", "/api/v1/auth/github/link", "", nil)
		if code := r.errorBody(t).Code; code != codeUnauthorized {
			t.Errorf("code = %q, want %q", code, codeUnauthorized)
		}
	})
}

func TestGitHubCallbackRefusals(t *testing.T) {
	g := newGitHubEnv(t)
	mallory := githubProfile{ID: 3001, Login: "mallory", Name: "Mallory"}
	g.gh.as(mallory)

	// Each case drives a flow that must end back in the app with #error=… and no account.
	cases := []struct {
		name string
		// run returns where the callback sent the browser.
		run          func(t *testing.T) (string, url.Values)
		wantReturnTo string
		newUsers     int // accounts a legitimate part of the case creates (and codes it exchanges)
	}{
		{"wrong state", func(t *testing.T) (string, url.Values) {
			b, cb := g.authorized(t)
			return g.callback(b, withQuery(cb, func(q url.Values) { q.Set("state", "not-the-state") }))
		}, "/upload", 0},
		{"no state", func(t *testing.T) (string, url.Values) {
			b, cb := g.authorized(t)
			return g.callback(b, withQuery(cb, func(q url.Values) { q.Del("state") }))
		}, "/upload", 0},
		{"callback in another browser (no cookie)", func(t *testing.T) (string, url.Values) {
			// Login CSRF: an attacker's code and state, delivered to the victim's browser.
			attacker := newBrowser(t)
			cb := g.authorize(attacker, g.start(attacker, "/upload"))
			return g.callback(newBrowser(t), cb)
		}, "/", 0},
		{"expired state cookie", func(t *testing.T) (string, url.Values) {
			b, cb := g.authorized(t)
			g.clock.Advance(oauthStateTTL + time.Minute)
			return g.callback(b, cb)
		}, "/", 0},
		{"forged state cookie", func(t *testing.T) (string, url.Values) {
			b, cb := g.authorized(t)
			c := b.cookie(g.URL+"/api/v1/auth/github/", oauthCookie)
			// Another returnTo and link target with the old signature.
			payload, _ := json.Marshal(oauthState{Nonce: cb.Query().Get("state"), ReturnTo: "/", LinkUser: 1, Expires: time.Now().Add(time.Hour).Unix()})
			_, sig, _ := strings.Cut(c.Value, ".")
			g.setStateCookie(b, base64.RawURLEncoding.EncodeToString(payload)+"."+sig)
			return g.callback(b, cb)
		}, "/", 0},
		{"user cancels at GitHub", func(t *testing.T) (string, url.Values) {
			b := newBrowser(t)
			authURL := g.start(b, "/upload")
			g.gh.set(func(f *fakeGitHub) { f.deny = true })
			cb := g.authorize(b, authURL)
			if cb.Query().Get("error") != "access_denied" || cb.Query().Get("code") != "" {
				t.Fatalf("the fake did not deny: %s", cb)
			}
			return g.callback(b, cb)
		}, "/upload", 0},
		{"replayed callback", func(t *testing.T) (string, url.Values) {
			// The code was exchanged once already; GitHub refuses it the second time.
			b, cb := g.authorized(t)
			saved := b.cookie(g.URL+"/api/v1/auth/github/", oauthCookie)
			_, frag := g.callback(b, cb)
			if frag.Get("code") == "" {
				t.Fatalf("the first callback failed: #%s", frag.Encode())
			}
			g.setStateCookie(b, saved.Value)
			return g.callback(b, cb)
		}, "/upload", 1},
		{"client secret revoked at GitHub", func(t *testing.T) (string, url.Values) {
			var old string
			g.gh.set(func(f *fakeGitHub) { old, f.secret = f.secret, "rotated-secret" })
			defer g.gh.set(func(f *fakeGitHub) { f.secret = old })
			return g.callback(g.authorized(t))
		}, "/upload", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			users := g.countRows("users")
			var exchanges int
			g.gh.set(func(f *fakeGitHub) { f.current, exchanges = mallory, f.exchanges })
			path, frag := c.run(t)
			if frag.Get("error") == "" || frag.Get("code") != "" {
				t.Fatalf("callback ends at %s#%s, want #error=… and no code", path, frag.Encode())
			}
			if path != c.wantReturnTo {
				t.Errorf("callback returns to %s, want %s", path, c.wantReturnTo)
			}
			if got := g.countRows("users"); got != users+c.newUsers {
				t.Errorf("%d users after a refused sign-in, want %d", got, users+c.newUsers)
			}
			// A callback whose state does not check out must not even spend the code.
			g.gh.set(func(f *fakeGitHub) { exchanges = f.exchanges - exchanges })
			if exchanges != c.newUsers {
				t.Errorf("%d codes exchanged at GitHub, want %d", exchanges, c.newUsers)
			}
		})
	}
}

func TestGitHubReturnTo(t *testing.T) {
	g := newGitHubEnv(t)
	cases := []struct {
		name, returnTo string
		ok             bool
	}{
		{"path", "/upload", true},
		{"path and query", "/watch/abc?t=10", true},
		{"512 characters", "/" + strings.Repeat("a", 511), true},
		{"protocol-relative", "//evil.example", false},
		{"protocol-relative with path", "//evil.example/upload", false},
		{"absolute URL", "https://evil.example/", false},
		{"no leading slash", "evil.example", false},
		{"backslash", `/\evil.example`, false},
		{"header injection", "/upload\r\nSet-Cookie: x=y", false},
		// The contract's maxLength; longer values would also make the state cookie too big
		// for browsers to keep.
		{"513 characters", "/" + strings.Repeat("a", 512), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := newBrowser(t).send("GET", g.URL+"/api/v1/auth/github/login?returnTo="+url.QueryEscape(c.returnTo), "")
			if c.ok {
				if resp.StatusCode != http.StatusFound {
					t.Fatalf("returnTo %.40q: status %d, want 302: %s", c.returnTo, resp.StatusCode, body)
				}
				return
			}
			r := response{status: resp.StatusCode, header: resp.Header, body: body}
			if r.status != http.StatusBadRequest {
				t.Fatalf("returnTo %.40q: status %d, want 400: %.200s", c.returnTo, r.status, r.body)
			}
			if got := r.errorBody(t); got.Fields == nil || (*got.Fields)["returnTo"] == "" {
				t.Errorf("error %+v does not name returnTo", got)
			}
			if c := r.header.Get("Set-Cookie"); c != "" {
				t.Errorf("a refused login sets a cookie: %s", c)
			}
		})
	}
	t.Run("the query survives the round trip", func(t *testing.T) {
		g.gh.as(githubProfile{ID: 4001, Login: "roundtrip"})
		b := newBrowser(t)
		u, err := url.Parse(g.URL + "/api/v1/auth/github/login?returnTo=" + url.QueryEscape("/watch/abc?t=10"))
		if err != nil {
			t.Fatal(err)
		}
		authURL, _ := b.hop(u.String())
		cb := g.authorize(b, authURL)
		loc, _ := b.hop(cb.String())
		if loc.Path != "/watch/abc" || loc.RawQuery != "t=10" || !strings.HasPrefix(loc.EscapedFragment(), "code=") {
			t.Fatalf("sign-in ends at %s, want /watch/abc?t=10#code=…", loc)
		}
	})
}

func TestGitHubDisabled(t *testing.T) {
	e := newEnv(t)
	s := e.user("nogh")
	var providers oapi.AuthProviders
	e.must(http.StatusOK, "GET", "/api/v1/auth/providers", "", nil).decode(t, &providers)
	if providers.Github || !providers.Password {
		t.Errorf("providers = %+v, want password alone", providers)
	}
	cases := []struct {
		name, method, path, token string
	}{
		{"login", "GET", "/api/v1/auth/github/login?returnTo=/upload", ""},
		{"link", "POST", "/api/v1/auth/github/link", s.Token},
		{"callback", "GET", "/api/v1/auth/github/callback?code=abc&state=def", ""},
		{"exchange", "POST", "/api/v1/auth/github/exchange", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.must(http.StatusNotFound, c.method, c.path, c.token, nil)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			if got := r.errorBody(t); got.Code != codeNotFound || !strings.Contains(got.Message, "GitHub") {
				t.Errorf("error = %+v, want not_found saying GitHub is not configured", got)
			}
			if c := r.header.Get("Set-Cookie"); c != "" {
				t.Errorf("Set-Cookie %q when GitHub is disabled", c)
			}
		})
	}
}

// TestGitHubExchange is login CSRF (issue #13, attack 3): an attacker finishes a GitHub sign-in
// in their own browser and sends the victim the link the callback produced. The code in it
// must sign nobody in outside the browser that started the flow, and work once.
func TestGitHubExchange(t *testing.T) {
	g := newGitHubEnv(t)
	g.gh.as(githubProfile{ID: 5001, Login: "attacker", Name: "Attacker"})
	// codeFor runs a sign-in in a new browser up to the code the callback hands it.
	codeFor := func(t *testing.T) (*browser, string) {
		t.Helper()
		b, cb := g.authorized(t)
		_, frag := g.callback(b, cb)
		if frag.Get("code") == "" {
			t.Fatalf("callback ends with #%s, want #code=…", frag.Encode())
		}
		return b, frag.Get("code")
	}
	refused := func(t *testing.T, b *browser, code, why string) {
		t.Helper()
		r := g.exchange(b, code)
		if r.status != http.StatusUnauthorized || r.errorBody(t).Code != codeUnauthorized {
			t.Fatalf("%s: status %d, want 401: %s", why, r.status, r.body)
		}
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == refreshCookie && c.MaxAge >= 0 {
				t.Errorf("%s: a refresh cookie was set", why)
			}
		}
	}

	t.Run("the browser that started signs in, once", func(t *testing.T) {
		b, code := codeFor(t)
		if me := g.me(g.mustExchange(b, code)); me.Username != "attacker" {
			t.Fatalf("signed in as %q, want attacker", me.Username)
		}
		if b.cookie(g.URL+"/api/v1/auth/github/exchange", oauthCookie) != nil {
			t.Error("the state cookie survives the exchange")
		}
		refused(t, b, code, "second use")
	})
	t.Run("a browser without the cookie", func(t *testing.T) {
		attacker, code := codeFor(t)
		refused(t, newBrowser(t), code, "victim's browser")
		// The failed try spent the code: it cannot be tried again anywhere.
		refused(t, attacker, code, "the starting browser after a stolen try")
	})
	t.Run("a browser that started its own sign-in", func(t *testing.T) {
		_, code := codeFor(t)
		victim := newBrowser(t)
		g.start(victim, "/")
		refused(t, victim, code, "another flow's state cookie")
	})
	t.Run("an expired code", func(t *testing.T) {
		b, code := codeFor(t)
		if _, err := g.db.Pool().Exec(t.Context(), `UPDATE login_codes SET expires_at = now() - interval '1 second'`); err != nil {
			t.Fatal(err)
		}
		refused(t, b, code, "expired code")
	})
	t.Run("bad input", func(t *testing.T) {
		b := newBrowser(t)
		for name, body := range map[string]any{"no code": map[string]string{}, "empty code": map[string]string{"code": ""}, "unknown field": map[string]string{"code": "x", "token": "y"}} {
			if r := b.post(g.URL+"/api/v1/auth/github/exchange", "", body); r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400: %s", name, r.status, r.body)
			}
		}
	})
	if n := g.countRows("login_codes"); n != 0 {
		t.Errorf("%d login codes left after every one was used or refused", n)
	}
}
