package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

type ctxKey int

const (
	callerKey ctxKey = iota
	sessionKey
)

// caller returns the signed-in user of the request, if any.
func caller(r *http.Request) (store.User, bool) {
	u, ok := r.Context().Value(callerKey).(store.User)
	return u, ok
}

// callerSession is the session of the request's access token, 0 for anonymous requests.
func callerSession(r *http.Request) int64 {
	id, _ := r.Context().Value(sessionKey).(int64)
	return id
}

// authenticate resolves the Bearer token, if any, to its user. A request without one goes on
// anonymously; one with a bad or expired token is refused, so clients learn to refresh or sign
// in again instead of silently seeing less. The user is read with the token's session on every
// request, so a role change, a deleted account or an ended session takes effect at once.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		user, sessionID, err := s.userFromHeader(r.Context(), h)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), callerKey, user), sessionKey, sessionID)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) userFromHeader(ctx context.Context, header string) (store.User, int64, error) {
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return store.User{}, 0, &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "the Authorization header must be: Bearer <access token>"}
	}
	return s.sessionFromToken(ctx, token)
}

func (s *Server) userFromToken(ctx context.Context, token string) (store.User, error) {
	user, _, err := s.sessionFromToken(ctx, token)
	return user, err
}

// sessionFromToken is the user and session of a valid access token whose session is live.
func (s *Server) sessionFromToken(ctx context.Context, token string) (store.User, int64, error) {
	userID, sessionID, err := s.parseToken(token)
	if err != nil {
		return store.User{}, 0, &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "the access token is invalid or expired; refresh it or sign in again"}
	}
	user, err := s.db.UserBySession(ctx, userID, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, 0, &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "this session has ended or its account no longer exists; sign in again"}
	}
	return user, sessionID, err
}

// requireUser is the signed-in caller, or errUnauthorized.
func requireUser(r *http.Request) (store.User, error) {
	u, ok := caller(r)
	if !ok {
		return store.User{}, errUnauthorized
	}
	return u, nil
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9_-]{3,30}$`)

const (
	minPasswordLen = 10
	maxPasswordLen = 256
	maxDisplayName = 60
)

// Register creates an account and signs it in.
func (s *Server) Register(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		var req oapi.RegisterRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		fields := map[string]string{}
		if !usernamePattern.MatchString(req.Username) {
			fields["username"] = "must be 3 to 30 characters: lower-case letters, digits, _ and -"
		}
		if problem := checkNewPassword(req.Password); problem != "" {
			fields["password"] = problem
		}
		displayName := req.Username
		if req.DisplayName != nil && strings.TrimSpace(*req.DisplayName) != "" {
			displayName = strings.TrimSpace(*req.DisplayName)
			if problem := checkText(displayName, maxDisplayName, false); problem != "" {
				fields["displayName"] = problem
			}
		}
		if len(fields) > 0 {
			return errInvalid("some fields are invalid", fields)
		}
		if err := s.throttle(r.Context(), "register:ip:"+s.clientNetwork(r), s.cfg.Auth.LoginPerIP); err != nil {
			return err
		}
		hash, err := hashPassword(req.Password)
		if err != nil {
			return err
		}
		user, err := s.db.CreateUser(r.Context(), store.User{Username: req.Username, DisplayName: displayName, PasswordHash: hash})
		if errors.Is(err, store.ErrConflict) {
			return &httpError{status: http.StatusConflict, code: codeConflict, message: "that username is taken", fields: map[string]string{"username": "is taken"}}
		}
		if err != nil {
			return err
		}
		return s.startSession(w, r, http.StatusCreated, user)
	})
}

// Login signs in with a username and password. Attempts are counted per client network and
// failures per account and client network (throttle.go), in PostgreSQL so that every replica
// enforces the same limits; never per account alone, so nobody can lock the owner out.
func (s *Server) Login(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, s.metrics.countLogin(func() error {
		var req oapi.LoginRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		ctx := r.Context()
		ipBucket, accountBucket := s.loginBuckets(r, req.Username)
		if err := s.throttle(ctx, ipBucket, s.cfg.Auth.LoginPerIP); err != nil {
			return err
		}
		if err := s.checkThrottled(ctx, accountBucket, s.cfg.Auth.LoginPerAccount); err != nil {
			return err
		}
		user, err := s.db.UserByUsername(ctx, req.Username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		hash := user.PasswordHash
		if hash == "" {
			hash = dummyHash
		}
		ok, err := checkPassword(hash, req.Password)
		if err != nil {
			return err
		}
		if !ok || user.PasswordHash == "" {
			if err := s.throttle(ctx, accountBucket, s.cfg.Auth.LoginPerAccount); err != nil {
				return err
			}
			return &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "wrong username or password"}
		}
		if err := s.db.ResetHits(ctx, accountBucket); err != nil {
			return err
		}
		return s.startSession(w, r, http.StatusOK, user)
	}))
}

// GetMe returns the signed-in user.
func (s *Server) GetMe(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPIUser(user))
		return nil
	})
}

func toAPIUser(u store.User) oapi.User {
	out := oapi.User{
		Id:          strconv.FormatInt(u.ID, 10),
		Username:    u.Username,
		DisplayName: u.DisplayName,
		Role:        oapi.UserRole(u.Role),
		CreatedAt:   u.CreatedAt,
	}
	if u.AvatarURL != "" {
		out.AvatarUrl = &u.AvatarURL
	}
	return out
}

// throttle counts one hit on bucket and refuses with 429 over limit.
func (s *Server) throttle(ctx context.Context, bucket string, limit int) error {
	ok, retry, err := s.db.Hit(ctx, bucket, s.cfg.Auth.LoginWindow, limit)
	if err != nil {
		return err
	}
	if !ok {
		return tooManyRequests(retry)
	}
	return nil
}

// checkThrottled refuses with 429 when bucket is already over limit, without counting.
func (s *Server) checkThrottled(ctx context.Context, bucket string, limit int) error {
	over, retry, err := s.db.Over(ctx, bucket, s.cfg.Auth.LoginWindow, limit)
	if err != nil {
		return err
	}
	if over {
		return tooManyRequests(retry)
	}
	return nil
}

func tooManyRequests(retry time.Duration) error {
	secs := int(retry.Seconds() + 0.999)
	return &retryError{httpError{status: http.StatusTooManyRequests, code: codeRateLimited,
		message: fmt.Sprintf("too many attempts; try again in %d seconds", secs)}, secs}
}

// retryError is a 429 that also sets Retry-After.
type retryError struct {
	httpError
	seconds int
}

func (e *retryError) Unwrap() error { return &e.httpError }

// clientIP is the address the request came from: the TCP peer, or the last untrusted address
// in X-Forwarded-For when the peer is a trusted reverse proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(addr) {
			return addr.String()
		}
	}
	return host
}

func (s *Server) trusted(addr netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// checkText validates user-visible text: not over max characters, no control characters
// except newlines and tabs in multi-line text. It returns the problem, or "".
func checkText(s string, max int, multiline bool) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, n)
	}
	for _, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			if multiline {
				continue
			}
			return "must be a single line"
		}
		if r < 0x20 || r == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}
