package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/oauth2"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// GitHubConfig enables signing in with GitHub. The endpoints default to GitHub's; tests point
// them at a local server that speaks the same protocol.
type GitHubConfig struct {
	ClientID     string
	ClientSecret string
	AuthURL      string // default https://github.com/login/oauth/authorize
	TokenURL     string // default https://github.com/login/oauth/access_token
	APIURL       string // default https://api.github.com
}

// AddFlags registers the --github-* flags that fill g; `api` and `sunomi dev` share them.
func (g *GitHubConfig) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&g.ClientID, "github-client-id", "", "GitHub OAuth app client ID; enables sign-in with GitHub (or $GITHUB_CLIENT_ID)")
	fl.StringVar(&g.ClientSecret, "github-client-secret", "", "GitHub OAuth app client secret (or $GITHUB_CLIENT_SECRET)")
	fl.StringVar(&g.AuthURL, "github-auth-url", "", "GitHub's authorize endpoint (default https://github.com/login/oauth/authorize)")
	fl.StringVar(&g.TokenURL, "github-token-url", "", "GitHub's token endpoint (default https://github.com/login/oauth/access_token)")
	fl.StringVar(&g.APIURL, "github-api-url", "", "GitHub's API (default https://api.github.com)")
}

// Enabled returns the configuration when both the client ID and secret are set, nil when
// neither is, and an error when only one is.
func (g GitHubConfig) Enabled() (*GitHubConfig, error) {
	switch {
	case g.ClientID != "" && g.ClientSecret != "":
		return &g, nil
	case g.ClientID != "" || g.ClientSecret != "":
		return nil, errors.New("--github-client-id and --github-client-secret go together: give both or neither")
	}
	return nil, nil
}

func (s *Server) oauthConfig() *oauth2.Config {
	g := s.cfg.GitHub
	authURL, tokenURL := g.AuthURL, g.TokenURL
	if authURL == "" {
		authURL = "https://github.com/login/oauth/authorize"
	}
	if tokenURL == "" {
		tokenURL = "https://github.com/login/oauth/access_token"
	}
	return &oauth2.Config{
		ClientID:     g.ClientID,
		ClientSecret: g.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  strings.TrimRight(s.cfg.PublicURL, "/") + "/api/v1/auth/github/callback",
		// Only the public profile: the login name, display name and avatar.
		Scopes: []string{"read:user"},
	}
}

func (s *Server) githubAPIURL() string {
	if s.cfg.GitHub.APIURL != "" {
		return strings.TrimRight(s.cfg.GitHub.APIURL, "/")
	}
	return "https://api.github.com"
}

// The OAuth state travels two ways: a random nonce as GitHub's state parameter, and a signed
// cookie holding the nonce, where to return and which account to link. The callback accepts
// only a state that matches the cookie of the browser that started, which defeats login CSRF.
const (
	oauthCookie   = "sunomi_oauth"
	oauthStateTTL = 10 * time.Minute
)

type oauthState struct {
	Nonce    string `json:"n"`
	ReturnTo string `json:"r"`
	LinkUser int64  `json:"l,omitempty"`
	Expires  int64  `json:"e"`
}

func (s *Server) oauthSign(payload []byte) string {
	mac := hmac.New(sha256.New, s.cfg.MediaSecret)
	mac.Write([]byte("oauth-state\n"))
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// startOAuth sets the state cookie and returns GitHub's authorisation URL.
func (s *Server) startOAuth(w http.ResponseWriter, returnTo string, linkUser int64) string {
	nonce := make([]byte, 18)
	_, _ = rand.Read(nonce)
	st := oauthState{Nonce: base64.RawURLEncoding.EncodeToString(nonce), ReturnTo: returnTo, LinkUser: linkUser,
		Expires: s.now().Add(oauthStateTTL).Unix()}
	payload, _ := json.Marshal(st)
	http.SetCookie(w, &http.Cookie{
		Name:     oauthCookie,
		Value:    base64.RawURLEncoding.EncodeToString(payload) + "." + s.oauthSign(payload),
		Path:     "/api/v1/auth/github/",
		MaxAge:   int(oauthStateTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.cfg.TLS,
		// Lax: the cookie must come back on GitHub's top-level redirect to the callback.
		SameSite: http.SameSiteLaxMode,
	})
	return s.oauthConfig().AuthCodeURL(st.Nonce)
}

func (s *Server) readOAuthState(r *http.Request) (oauthState, bool) {
	var st oauthState
	c, err := r.Cookie(oauthCookie)
	if err != nil {
		return st, false
	}
	enc, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return st, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.oauthSign(payload))) {
		return st, false
	}
	if json.Unmarshal(payload, &st) != nil || s.now().Unix() > st.Expires {
		return st, false
	}
	return st, true
}

// errNoGitHub answers the GitHub endpoints of a server without GitHub sign-in.
var errNoGitHub = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "signing in with GitHub is not configured on this server"}

// githubEnabled returns errNoGitHub unless GitHub sign-in is configured.
func (s *Server) githubEnabled() error {
	if s.cfg.GitHub == nil {
		return errNoGitHub
	}
	return nil
}

// GetAuthProviders tells the app which sign-in buttons to show.
func (s *Server) GetAuthProviders(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, oapi.AuthProviders{Password: true, Github: s.cfg.GitHub != nil})
}

// GithubLogin redirects the browser to GitHub.
func (s *Server) GithubLogin(w http.ResponseWriter, r *http.Request, params oapi.GithubLoginParams) {
	s.handle(w, r, func() error {
		if err := s.githubEnabled(); err != nil {
			return err
		}
		returnTo := "/"
		if params.ReturnTo != nil && *params.ReturnTo != "" {
			returnTo = *params.ReturnTo
			if len(returnTo) > maxReturnTo {
				return errField("returnTo", fmt.Sprintf("must be at most %d characters", maxReturnTo))
			}
			if !localPath(returnTo) {
				return errField("returnTo", "must be a path on this site, such as /upload")
			}
		}
		http.Redirect(w, r, s.startOAuth(w, returnTo, 0), http.StatusFound)
		return nil
	})
}

// GithubLink starts linking a GitHub account to the signed-in user.
func (s *Server) GithubLink(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		if err := s.githubEnabled(); err != nil {
			return err
		}
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, oapi.RedirectURL{Url: s.startOAuth(w, "/", user.ID)})
		return nil
	})
}

// maxReturnTo is openapi.yaml's maxLength of returnTo; it also keeps the state cookie well
// under the 4 KB browsers keep.
const maxReturnTo = 512

// localPath accepts paths of this site only: no scheme, no host, no protocol-relative //.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n")
}

// loginCodeTTL is how long the one-time code of a GitHub sign-in waits for the app to
// exchange it; the app does so as soon as the page loads.
const loginCodeTTL = time.Minute

// GithubCallback finishes the flow: it exchanges GitHub's code, reads the GitHub profile, finds,
// links or creates the account, and sends the browser back into the app with a one-time code of
// ours in the URL fragment (which browsers never send to servers). The code signs in only
// together with this browser's state cookie, which stays until the exchange: a code delivered
// to another browser (login CSRF) does nothing there. Tokens never travel in URLs.
func (s *Server) GithubCallback(w http.ResponseWriter, r *http.Request, params oapi.GithubCallbackParams) {
	s.handle(w, r, func() error {
		if err := s.githubEnabled(); err != nil {
			return err
		}
		st, ok := s.readOAuthState(r)
		back := func(fragment url.Values) {
			target := "/"
			if ok {
				target = st.ReturnTo
			}
			http.Redirect(w, r, strings.TrimRight(s.cfg.PublicURL, "/")+target+"#"+fragment.Encode(), http.StatusFound)
		}
		fail := func(msg string) {
			s.clearOAuthCookie(w)
			back(url.Values{"error": {msg}})
		}
		switch {
		case !ok:
			fail("the sign-in took too long or was started in another browser; please try again")
			return nil
		case params.Error != nil:
			fail("GitHub sign-in was cancelled")
			return nil
		case params.State == nil || !hmac.Equal([]byte(*params.State), []byte(st.Nonce)):
			fail("the sign-in request did not match; please try again")
			return nil
		case params.Code == nil || *params.Code == "":
			fail("GitHub did not return an authorisation code")
			return nil
		}
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		profile, err := s.githubProfile(ctx, *params.Code)
		if err != nil {
			s.log.Warn("github sign-in", "error", err)
			fail("GitHub could not confirm the sign-in; please try again")
			return nil
		}
		user, msg, err := s.githubUser(ctx, profile, st.LinkUser)
		if err != nil {
			s.log.Error("github sign-in", "error", err)
			fail("something went wrong on our side; please try again")
			return nil
		}
		if msg != "" {
			fail(msg)
			return nil
		}
		code, codeHash := newSecret()
		if err := s.db.CreateLoginCode(ctx, codeHash, hashSecret(st.Nonce), user.ID, loginCodeTTL); err != nil {
			s.log.Error("store sign-in code", "error", err)
			fail("something went wrong on our side; please try again")
			return nil
		}
		back(url.Values{"code": {code}})
		return nil
	})
}

func (s *Server) clearOAuthCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Path: "/api/v1/auth/github/", MaxAge: -1, HttpOnly: true})
}

var errBadLoginCode = &httpError{status: http.StatusUnauthorized, code: codeUnauthorized,
	message: "this sign-in link is not valid in this browser, was already used or has expired; sign in again"}

// GithubExchange signs in with the one-time code of a GitHub callback. The code is spent by
// the first attempt, and it works only with the state cookie of the browser that started the
// sign-in; the cookie is cleared either way.
func (s *Server) GithubExchange(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		if err := s.githubEnabled(); err != nil {
			return err
		}
		var req oapi.GithubExchangeRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if req.Code == "" {
			return errField("code", "is required")
		}
		st, ok := s.readOAuthState(r)
		s.clearOAuthCookie(w)
		userID, nonceHash, err := s.db.TakeLoginCode(r.Context(), hashSecret(req.Code))
		if errors.Is(err, store.ErrNotFound) {
			return errBadLoginCode
		}
		if err != nil {
			return err
		}
		if !ok || !hmac.Equal(nonceHash, hashSecret(st.Nonce)) {
			s.log.Warn("github sign-in code presented without its browser's state cookie", "user_id", userID)
			return errBadLoginCode
		}
		user, err := s.db.UserByID(r.Context(), userID)
		if errors.Is(err, store.ErrNotFound) {
			return errBadLoginCode
		}
		if err != nil {
			return err
		}
		return s.startSession(w, r, http.StatusOK, user)
	})
}

type githubProfile struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

func (s *Server) githubProfile(ctx context.Context, code string) (githubProfile, error) {
	var p githubProfile
	tok, err := s.oauthConfig().Exchange(ctx, code)
	if err != nil {
		return p, fmt.Errorf("exchange code: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.githubAPIURL()+"/user", nil)
	if err != nil {
		return p, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return p, fmt.Errorf("get user: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("get user: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&p); err != nil {
		return p, fmt.Errorf("decode user: %w", err)
	}
	if p.ID == 0 || p.Login == "" {
		return p, errors.New("the user has no id or login")
	}
	return p, nil
}

// githubUser finds, links or creates the account for a GitHub profile. msg is a refusal the
// user should read (the identity belongs to someone else).
func (s *Server) githubUser(ctx context.Context, p githubProfile, linkUser int64) (store.User, string, error) {
	id := store.Identity{Provider: "github", Subject: strconv.FormatInt(p.ID, 10), Login: p.Login}
	existing, err := s.db.UserByIdentity(ctx, id)
	switch {
	case err == nil && linkUser != 0 && existing.ID != linkUser:
		return existing, "this GitHub account is already linked to another Sunomi account", nil
	case err == nil:
		return existing, "", nil
	case !errors.Is(err, store.ErrNotFound):
		return existing, "", err
	}
	if linkUser != 0 {
		err := s.db.LinkIdentity(ctx, linkUser, id)
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, "your account is already linked to a GitHub account", nil
		}
		if err != nil {
			return store.User{}, "", err
		}
		u, err := s.db.UserByID(ctx, linkUser)
		return u, "", err
	}
	name := strings.TrimSpace(p.Name)
	if name == "" || checkText(name, maxDisplayName, false) != "" {
		name = p.Login
	}
	u, err := s.db.CreateUserWithIdentity(ctx, store.User{Username: githubUsername(p.Login), DisplayName: name, AvatarURL: p.AvatarURL}, id)
	return u, "", err
}

var notUsernameChar = regexp.MustCompile(`[^a-z0-9_-]+`)

// githubUsername turns a GitHub login (letters, digits, single hyphens, up to 39) into a
// Sunomi username.
func githubUsername(login string) string {
	u := notUsernameChar.ReplaceAllString(strings.ToLower(login), "-")
	if len(u) > 30 {
		u = u[:30]
	}
	for len(u) < 3 {
		u += "_"
	}
	return u
}
