package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// A session is one sign-in. The client holds two secrets: a short-lived access token (a JWT
// naming the user and the session, sent as Bearer, kept in memory by the SPA) and a refresh
// token in an HttpOnly cookie that only the /api/v1/auth endpoints ever see. POST /auth/refresh
// exchanges the refresh token for a new access token and a new refresh token; the old one is
// spent, and spending it twice revokes the session, since one of the two callers holds a copy.
const (
	refreshCookie = "sunomi_refresh"
	// refreshCookiePath keeps the cookie away from every request but the auth endpoints: no
	// upload, media or page request carries it.
	refreshCookiePath = "/api/v1/auth"
	refreshTokenBytes = 32
)

// newSecret returns a random secret for a cookie or a URL and its SHA-256, which is all the
// database keeps.
func newSecret() (secret string, hash []byte) {
	b := make([]byte, refreshTokenBytes)
	_, _ = rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// secureCookies says whether cookies get the Secure attribute: always, unless the public URL
// is plain http:// (sunomi dev on localhost, tests), where browsers would drop them. A server
// without a public URL sets them Secure.
func (s *Server) secureCookies() bool {
	return !strings.HasPrefix(s.cfg.PublicURL, "http://")
}

func (s *Server) setRefreshCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     refreshCookie,
		Value:    token,
		Path:     refreshCookiePath,
		MaxAge:   int(s.cfg.Auth.SessionTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secureCookies(),
		SameSite: http.SameSiteStrictMode,
	})
}

// signedOut answers a sign-out: the browser forgets its refresh cookie.
func (s *Server) signedOut(w http.ResponseWriter) {
	s.clearRefreshCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) clearRefreshCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Path: refreshCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode})
}

// startSession signs user in: a new session, its refresh cookie and an access token.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, status int, user store.User) error {
	refresh, hash := newSecret()
	sessionID, err := s.db.CreateSession(r.Context(), user.ID, hash, s.cfg.Auth.SessionTTL, s.deviceOf(r))
	if err != nil {
		return err
	}
	s.setRefreshCookie(w, refresh)
	return s.writeAccessToken(w, status, user, sessionID)
}

// writeAccessToken answers with a new access token of sessionID for user.
func (s *Server) writeAccessToken(w http.ResponseWriter, status int, user store.User, sessionID int64) error {
	token, exp, err := s.issueToken(user.ID, sessionID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, oapi.Session{Token: token, ExpiresAt: exp, User: toAPIUser(user)})
	return nil
}

var errNoSession = &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "you are not signed in on this browser, or the session has ended; sign in again"}

// RefreshSession exchanges the refresh cookie for a new access token and a new cookie.
func (s *Server) RefreshSession(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		c, err := r.Cookie(refreshCookie)
		if err != nil || c.Value == "" {
			return errNoSession
		}
		next, nextHash := newSecret()
		rot, err := s.db.RotateRefreshToken(r.Context(), hashSecret(c.Value), nextHash, s.cfg.Auth.SessionTTL, s.deviceOf(r))
		switch {
		case errors.Is(err, store.ErrTokenReused):
			s.log.Warn("refresh token reused; session revoked", "user_id", rot.UserID, "session_id", rot.SessionID)
			s.clearRefreshCookie(w)
			return &httpError{status: http.StatusUnauthorized, code: codeUnauthorized,
				message: "this sign-in was used from two places, so it has been ended to be safe; sign in again"}
		case errors.Is(err, store.ErrNotFound):
			s.clearRefreshCookie(w)
			return errNoSession
		case err != nil:
			return err
		}
		user, err := s.db.UserBySession(r.Context(), rot.UserID, rot.SessionID)
		if errors.Is(err, store.ErrNotFound) {
			s.clearRefreshCookie(w)
			return errNoSession
		}
		if err != nil {
			return err
		}
		s.setRefreshCookie(w, next)
		return s.writeAccessToken(w, http.StatusOK, user, rot.SessionID)
	})
}

// Logout ends this browser's session: the one of the refresh cookie, and the one of the access
// token when it is another. It answers 204 even when there was nothing to end.
func (s *Server) Logout(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		ctx := r.Context()
		if c, err := r.Cookie(refreshCookie); err == nil && c.Value != "" {
			id, err := s.db.SessionOfRefreshToken(ctx, hashSecret(c.Value))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err == nil {
				if err := s.db.RevokeSession(ctx, id, store.RevokedLogout); err != nil {
					return err
				}
			}
		}
		if id := callerSession(r); id != 0 {
			if err := s.db.RevokeSession(ctx, id, store.RevokedLogout); err != nil {
				return err
			}
		}
		s.signedOut(w)
		return nil
	})
}

// LogoutAll ends every session of the caller, on every device, this one included.
func (s *Server) LogoutAll(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		if err := s.db.RevokeUserSessions(r.Context(), user.ID, 0, store.RevokedLogoutAll); err != nil {
			return err
		}
		s.log.Info("signed out everywhere", "user_id", user.ID)
		s.signedOut(w)
		return nil
	})
}

// ChangePassword sets a new password after checking the current one, and ends every other
// session of the account: whoever knew the old password is signed out everywhere.
func (s *Server) ChangePassword(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		var req oapi.ChangePasswordRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if problem := checkNewPassword(req.New); problem != "" {
			return errField("new", problem)
		}
		if user.PasswordHash == "" {
			return errField("current", "this account has no password: it signs in with GitHub")
		}
		// A stolen access token must not become a way to guess the password.
		ctx := r.Context()
		bucket := "password:user:" + strconv.FormatInt(user.ID, 10)
		if err := s.checkThrottled(ctx, bucket, s.cfg.Auth.LoginPerAccount); err != nil {
			return err
		}
		ok, err := checkPassword(user.PasswordHash, req.Current)
		if err != nil {
			return err
		}
		if !ok {
			if err := s.throttle(ctx, bucket, s.cfg.Auth.LoginPerAccount); err != nil {
				return err
			}
			return errField("current", "is not the account's password")
		}
		hash, err := hashPassword(req.New)
		if err != nil {
			return err
		}
		if err := s.db.ChangePassword(ctx, user.ID, callerSession(r), hash); err != nil {
			return err
		}
		s.log.Info("password changed; other sessions ended", "user_id", user.ID)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// checkNewPassword returns what is wrong with a new password, or "".
func checkNewPassword(pw string) string {
	if n := utf8.RuneCountInString(pw); n < minPasswordLen || n > maxPasswordLen {
		return "must be " + strconv.Itoa(minPasswordLen) + " to " + strconv.Itoa(maxPasswordLen) + " characters"
	}
	return ""
}
