package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Roles.
const (
	RoleUser      = "user"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
)

// User is one account.
type User struct {
	ID           int64
	Username     string
	DisplayName  string
	PasswordHash string // "" for accounts without a password
	AvatarURL    string
	Role         string
	CreatedAt    time.Time
}

// CanModerate reports whether the user may act on other users' content.
func (u User) CanModerate() bool { return u.Role == RoleModerator || u.Role == RoleAdmin }

const userColumns = `id, username, display_name, coalesce(password_hash, ''), avatar_url, role, created_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &u.AvatarURL, &u.Role, &u.CreatedAt)
	return u, notFound(err)
}

// CreateUser inserts an account; ErrConflict when the username is taken.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	return s.createUser(ctx, s.pool, u)
}

func (s *Store) createUser(ctx context.Context, q querier, u User) (User, error) {
	row := q.QueryRow(ctx, `
		INSERT INTO users (username, display_name, password_hash, avatar_url)
		VALUES ($1, $2, nullif($3, ''), $4)
		RETURNING `+userColumns,
		u.Username, u.DisplayName, u.PasswordHash, u.AvatarURL)
	created, err := scanUser(row)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("username %q: %w", u.Username, ErrConflict)
	}
	return created, err
}

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// UserByUsername finds an account by username.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
}

// SetRole grants role to the named user.
func (s *Store) SetRole(ctx context.Context, username, role string) (User, error) {
	return scanUser(s.pool.QueryRow(ctx,
		`UPDATE users SET role = $2 WHERE username = $1 RETURNING `+userColumns, username, role))
}

// DeleteUser deletes an account and, by the schema's cascade rules, what belongs to it.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return changedOne(s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id))
}

// Identity is an account at an external identity provider.
type Identity struct {
	Provider string // "github"
	Subject  string // the provider's stable user id
	Login    string // the provider's username, informative
}

// UserByIdentity finds the account linked to an identity.
func (s *Store) UserByIdentity(ctx context.Context, id Identity) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `
		SELECT u.id, u.username, u.display_name, coalesce(u.password_hash, ''), u.avatar_url, u.role, u.created_at
		FROM oauth_identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = $1 AND i.subject = $2`, id.Provider, id.Subject))
}

// LinkIdentity attaches an identity to an account; ErrConflict when the identity belongs to
// someone or the account already has one at this provider.
func (s *Store) LinkIdentity(ctx context.Context, userID int64, id Identity) error {
	return linkIdentity(ctx, s.pool, userID, id)
}

func linkIdentity(ctx context.Context, q querier, userID int64, id Identity) error {
	_, err := q.Exec(ctx, `INSERT INTO oauth_identities (provider, subject, user_id, login) VALUES ($1, $2, $3, $4)`,
		id.Provider, id.Subject, userID, id.Login)
	if isUniqueViolation(err) {
		return fmt.Errorf("%s identity %q: %w", id.Provider, id.Login, ErrConflict)
	}
	return err
}

// CreateUserWithIdentity creates an account for a new identity in one transaction. The
// username is the wanted one, or the first of wanted-2, wanted-3, … that is free.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u User, id Identity) (User, error) {
	var created User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		base := u.Username
		for n := 1; ; n++ {
			if n > 1 {
				u.Username = suffixed(base, n)
			}
			// A savepoint per try: a unique violation aborts only the inner transaction.
			err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
				var err error
				created, err = s.createUser(ctx, sp, u)
				return err
			})
			if err == nil {
				break
			}
			if !errors.Is(err, ErrConflict) || n >= 100 {
				return err
			}
		}
		return linkIdentity(ctx, tx, created.ID, id)
	})
	return created, err
}

// suffixed appends "-n" to a username, shortening it to stay within 30 characters.
func suffixed(base string, n int) string {
	suffix := fmt.Sprintf("-%d", n)
	if len(base)+len(suffix) > 30 {
		base = base[:30-len(suffix)]
	}
	return base + suffix
}
