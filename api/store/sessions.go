package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrTokenReused is the answer to a refresh token that was already exchanged: someone holds a
// copy, so its session has been revoked.
var ErrTokenReused = errors.New("refresh token reused")

// Why sessions end, as recorded in sessions.revoked_why.
const (
	RevokedLogout    = "logout"
	RevokedLogoutAll = "logout_all"
	RevokedPassword  = "password"
	RevokedReuse     = "reuse"
	RevokedDevice    = "device" // ended from the list of signed-in devices
)

// Device is what a session was last used from, as its owner sees it in their list of
// signed-in devices.
type Device struct {
	UserAgent string
	Network   string // IPv4 /24 or IPv6 /48; "" when unknown
}

// CreateSession starts a session for userID on device, idle for at most ttl, whose first
// refresh token has the SHA-256 hash tokenHash. It also forgets the user's sessions that have
// ended, which keeps the tables as small as the number of live sign-ins.
func (s *Store) CreateSession(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration, device Device) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND (revoked_at IS NOT NULL OR expires_at < now())`, userID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO sessions (user_id, expires_at, user_agent, network)
			VALUES ($1, now() + $2::interval, $3, $4) RETURNING id`,
			userID, ttl, device.UserAgent, device.Network).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id) VALUES ($1, $2)`, tokenHash, id)
		return err
	})
	return id, err
}

// rotatedTokenRetention is how long a spent refresh token is remembered to catch its reuse. A
// session refreshed every 15 minutes keeps about 700 rows; a copy replayed later still signs
// nobody in, it just no longer ends the session.
const rotatedTokenRetention = 7 * 24 * time.Hour

// Rotation is a refresh token exchanged for its successor.
type Rotation struct {
	SessionID int64
	UserID    int64
}

// RotateRefreshToken exchanges the refresh token hashed oldHash for the one hashed newHash,
// pushes the session's idle expiry to ttl from now and records the device it came from.
// ErrNotFound: no such token, or its session has ended. ErrTokenReused: the token was
// exchanged before; the session is now revoked.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, ttl time.Duration, device Device) (Rotation, error) {
	var r Rotation
	reused := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rotated, live bool
		// FOR UPDATE serialises two refreshes with the same token: the second sees it rotated.
		err := tx.QueryRow(ctx, `
			SELECT s.id, s.user_id, t.rotated_at IS NOT NULL, s.revoked_at IS NULL AND s.expires_at > now()
			FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
			WHERE t.hash = $1
			FOR UPDATE`, oldHash).Scan(&r.SessionID, &r.UserID, &rotated, &live)
		switch {
		case err != nil:
			return notFound(err)
		case !live:
			return ErrNotFound
		case rotated:
			reused = true
			return revokeSession(ctx, tx, r.SessionID, RevokedReuse)
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = now() WHERE hash = $1`, oldHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id) VALUES ($1, $2)`, newHash, r.SessionID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE session_id = $1 AND rotated_at < now() - $2::interval`,
			r.SessionID, rotatedTokenRetention); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE sessions SET last_used_at = now(), expires_at = now() + $2::interval,
			user_agent = $3, network = $4 WHERE id = $1`, r.SessionID, ttl, device.UserAgent, device.Network)
		return err
	})
	if err == nil && reused {
		return r, fmt.Errorf("session %d: %w", r.SessionID, ErrTokenReused)
	}
	return r, err
}

func revokeSession(ctx context.Context, q querier, id int64, why string) error {
	_, err := q.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoked_why = $2 WHERE id = $1 AND revoked_at IS NULL`, id, why)
	return err
}

// RevokeSession ends one session (logout).
func (s *Store) RevokeSession(ctx context.Context, id int64, why string) error {
	return revokeSession(ctx, s.pool, id, why)
}

// SessionInfo is a live session as its owner sees it.
type SessionInfo struct {
	ID         int64
	CreatedAt  time.Time
	LastUsedAt time.Time
	Device
}

// UserSessions lists userID's live sessions, most recently used first. A user has as many as
// they have live sign-ins (CreateSession forgets the ended ones), so there is no paging.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]SessionInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, created_at, last_used_at, user_agent, network FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
		ORDER BY last_used_at DESC, id DESC`, userID)
	return scanAll(rows, err, func(row pgx.Row) (SessionInfo, error) {
		var i SessionInfo
		err := row.Scan(&i.ID, &i.CreatedAt, &i.LastUsedAt, &i.UserAgent, &i.Network)
		return i, err
	})
}

// EndUserSession ends userID's live session id, revoking its refresh tokens and access tokens
// at once. ErrNotFound when id is not a live session of userID: nobody ends another's session.
func (s *Store) EndUserSession(ctx context.Context, userID, id int64) error {
	return changedOne(s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoked_why = $3
		WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()`, id, userID, RevokedDevice))
}

// SessionOfRefreshToken is the session of the refresh token hashed tokenHash, rotated or not;
// ErrNotFound when there is none.
func (s *Store) SessionOfRefreshToken(ctx context.Context, tokenHash []byte) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT session_id FROM refresh_tokens WHERE hash = $1`, tokenHash).Scan(&id)
	return id, notFound(err)
}

// RevokeUserSessions ends every live session of userID except keep (0 keeps none).
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep int64, why string) error {
	return revokeUserSessions(ctx, s.pool, userID, keep, why)
}

func revokeUserSessions(ctx context.Context, q querier, userID, keep int64, why string) error {
	_, err := q.Exec(ctx, `UPDATE sessions SET revoked_at = now(), revoked_why = $3
		WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, userID, keep, why)
	return err
}

// UserBySession finds the account of an access token: userID's, while its session sessionID
// is live. This is the one read each authenticated request makes, so ending a session ends its
// access tokens at once.
func (s *Store) UserBySession(ctx context.Context, userID, sessionID int64) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `
		SELECT u.id, u.username, u.display_name, coalesce(u.password_hash, ''), u.avatar_url, u.role, u.created_at
		FROM users u JOIN sessions s ON s.user_id = u.id
		WHERE u.id = $1 AND s.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()`, userID, sessionID))
}

// ChangePassword sets userID's password hash and ends every other session than keep, in one
// transaction: nobody holding the old password or an old session outlives the change.
func (s *Store) ChangePassword(ctx context.Context, userID, keep int64, hash string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := changedOne(tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)); err != nil {
			return err
		}
		return revokeUserSessions(ctx, tx, userID, keep, RevokedPassword)
	})
}

// CreateLoginCode stores a one-time sign-in code for userID, hashed, bound to the hash of the
// browser's OAuth state nonce, valid for ttl.
func (s *Store) CreateLoginCode(ctx context.Context, codeHash, nonceHash []byte, userID int64, ttl time.Duration) error {
	_, err := s.pool.Exec(ctx, `
		WITH expired AS (DELETE FROM login_codes WHERE expires_at < now())
		INSERT INTO login_codes (hash, nonce_hash, user_id, expires_at) VALUES ($1, $2, $3, now() + $4::interval)`,
		codeHash, nonceHash, userID, ttl)
	return err
}

// TakeLoginCode spends the code hashed codeHash and returns its user and the nonce hash it is
// bound to. A code is spent by any attempt, right or wrong, so it can never be tried twice.
// ErrNotFound: no such code, already spent, or expired.
func (s *Store) TakeLoginCode(ctx context.Context, codeHash []byte) (userID int64, nonceHash []byte, err error) {
	var live bool
	err = s.pool.QueryRow(ctx, `DELETE FROM login_codes WHERE hash = $1 RETURNING user_id, nonce_hash, expires_at > now()`,
		codeHash).Scan(&userID, &nonceHash, &live)
	if err == nil && !live {
		return 0, nil, ErrNotFound
	}
	return userID, nonceHash, notFound(err)
}

// PruneSessions deletes the sessions that have ended — revoked, or idle past their expiry —
// with their refresh tokens, and login codes past their minute: a user who never signs in
// again would otherwise keep them forever.
func (s *Store) PruneSessions(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE revoked_at IS NOT NULL OR expires_at < now()`)
	if err != nil {
		return 0, err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_codes WHERE expires_at < now()`); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
