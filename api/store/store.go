// Package store is the API's PostgreSQL layer: the schema (goose migrations embedded in the
// binary, applied at start-up under an advisory lock so replicas starting together take turns)
// and every query the API runs, through a pgx pool. It knows rows and SQL, not HTTP.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

var (
	// ErrNotFound means no row matched.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint refused the write (a taken username, say).
	ErrConflict = errors.New("conflict")
)

// cancelDeadline is how long a canceled statement may take to end before its connection is
// closed instead: the server answers a cancel request within milliseconds unless it is gone.
const cancelDeadline = 2 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Store runs queries on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a postgres:// URL or key=value DSN) and checks it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// JIT compiles any plan whose estimated cost passes a threshold, which costs hundreds of
	// milliseconds to save as much on long analytical queries; the API runs none, and an
	// estimate that is off (a search for a word of unknown frequency) would pay it per request.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	// A request whose client goes away cancels its context mid-statement (a search box
	// abandons a request at every keystroke). pgx's default answer closes the connection, and
	// the next request pays for a new one: a backend started and its caches filled, 100 ms
	// and more before a search's first statement. Asking the server to cancel the statement
	// keeps the connection; the deadline closes it only when the server does not answer.
	cfg.ConnConfig.BuildContextWatcherHandler = func(conn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: conn, DeadlineDelay: cancelDeadline}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgresql: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgresql at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool exposes the pool to tests and benchmarks that seed data in bulk.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate brings the schema up to date. A PostgreSQL session advisory lock serialises replicas
// that start at the same moment: one migrates, the others wait and then find nothing to do.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	return migrate(ctx, db, log)
}

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.Info("applied migration", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation (23505).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// notFound maps pgx's "no rows" to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// changedOne is the error of a statement that must change one row: ErrNotFound when it
// changed none.
func changedOne(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// scanAll reads every row of a query through scan, closing the rows: the end of each query
// that lists things. err is the query's own error, returned first.
func scanAll[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, rows.Err()
}

// querier is what the pool, a connection and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
