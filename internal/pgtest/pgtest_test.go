package pgtest_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sunomi/sunomi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestNewDatabaseURL(t *testing.T) {
	url := pgtest.NewDatabase(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", url, err)
	}
	// The cluster listens on a unix socket in its directory only, and wants a password.
	if !filepath.IsAbs(cfg.Host) || cfg.Port == 0 || cfg.User != "postgres" || cfg.Password == "" || cfg.TLSConfig != nil {
		t.Errorf("ParseConfig(%q) = host %q port %d user %q password set %t tls %v, want a socket directory, a port, postgres, a password, no TLS",
			url, cfg.Host, cfg.Port, cfg.User, cfg.Password != "", cfg.TLSConfig != nil)
	}
	if !strings.HasPrefix(cfg.Database, "test_testnewdatabaseurl_") {
		t.Errorf("database %q, want one named after the test", cfg.Database)
	}
	var got string
	if err := connect(t, url).QueryRow(t.Context(), `SELECT current_database()`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != cfg.Database {
		t.Errorf("current_database() = %q, want %q", got, cfg.Database)
	}
}

func TestNewDatabasesAreIsolated(t *testing.T) {
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatalf("both databases at %s", a)
	}
	if _, err := connect(t, a).Exec(t.Context(), `CREATE TABLE only_in_a (v int); INSERT INTO only_in_a VALUES (1)`); err != nil {
		t.Fatalf("write to a: %v", err)
	}
	_, err := connect(t, b).Exec(t.Context(), `SELECT * FROM only_in_a`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Errorf("query b for a's table err = %v, want undefined_table (42P01)", err)
	}
}

func TestNewDatabaseDroppedAtCleanup(t *testing.T) {
	var url string
	var conn *pgx.Conn
	t.Run("user", func(t *testing.T) {
		url = pgtest.NewDatabase(t)
		var err error
		if conn, err = pgx.Connect(t.Context(), url); err != nil {
			t.Fatal(err)
		}
	})
	// The connection was still open when the cleanup dropped the database: FORCE ended it.
	if err := conn.Ping(t.Context()); err == nil {
		t.Error("connection to the dropped database still answers")
	}
	_ = conn.Close(t.Context())
	_, err := pgx.Connect(t.Context(), url)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Errorf("connect after cleanup err = %v, want invalid_catalog_name (3D000)", err)
	}
}

func TestNewDatabaseInParallel(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := connect(t, pgtest.NewDatabase(t)).Exec(t.Context(), `CREATE TABLE t (v int)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}
