// Package pgtest gives tests real PostgreSQL databases: Main starts one throwaway cluster (see
// internal/postgres) for the whole test binary, and NewDatabase makes a fresh database on it
// for each test that asks. PostgreSQL is a required test dependency: without its binaries the
// tests fail, they do not skip.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestStore(t *testing.T) {
//		url := pgtest.NewDatabase(t)
//		…
//	}
package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/postgres"
	"github.com/sunomi/sunomi/internal/secret"
	"github.com/sunomi/sunomi/internal/syncbuf"
	"github.com/sunomi/sunomi/internal/testkit"
)

// StartTimeout bounds initdb and the server's start; both take a second or two.
const StartTimeout = 2 * time.Minute

// SharedBuffersEnv names the environment variable that sets the cluster's shared_buffers
// ("2GB"); unset, PostgreSQL's default.
const SharedBuffersEnv = "PGTEST_SHARED_BUFFERS"

// serverLogTail is how much of the server's log Main prints when the tests fail.
const serverLogTail = 16 << 10

var (
	// server is the binary's cluster, set by Main before any test runs and read-only after.
	server *postgres.Server
	// databases numbers the databases NewDatabase makes, keeping their names unique.
	databases atomic.Int64
)

// Main runs the package's tests against a cluster of their own, in a temporary directory
// removed afterwards, and exits with their status. Use it as TestMain.
func Main(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	log := &syncbuf.Buffer{}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// MkdirTemp makes it 0700; under root the server runs as another user, who must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	server, err = postgres.Start(ctx, postgres.Options{
		Dir:       dir,
		Ephemeral: true,
		// make bench-api sizes the buffers for a million videos, as a server for them would be.
		SharedBuffers: os.Getenv(SharedBuffersEnv),
		Password:      secret.New(), // the binary's own; every database URL carries it
		Logger:        slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL is required to run these tests: %v\n", err)
		return 1
	}

	code := m.Run()

	stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	if err := server.Stop(stopCtx); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		code = max(code, 1)
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "pgtest: last lines of the PostgreSQL server log:\n%s\n", testkit.Tail(log.String(), serverLogTail))
	}
	return code
}

// NewDatabase creates an empty database on the binary's cluster and returns its URL; tb's
// Cleanup drops it, disconnecting anyone still using it. Databases from different calls share
// nothing but the cluster, so tests that use them may run in parallel.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	if server == nil {
		tb.Fatal("pgtest: no PostgreSQL cluster: call pgtest.Main(m) from the package's TestMain")
	}
	name := databaseName(tb.Name(), databases.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := server.CreateDatabase(ctx, name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := server.DropDatabase(ctx, name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return server.URL(name)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName makes a name that tells which test a database is for, when one is seen in the
// server's log, and fits PostgreSQL's 63-byte limit on identifiers.
func databaseName(test string, n int64) string {
	slug := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if len(slug) > 40 {
		slug = slug[:40]
	}
	return fmt.Sprintf("test_%s_%d", slug, n)
}
