package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sunomi/sunomi/internal/pgtest"
)

// TestCanceledStatementKeepsConnection: a request abandoned by its client cancels its
// statement, not its connection. Closing the connection (pgx's default) made the next
// request start a new backend and fill its caches: 100 ms and more before a search.
func TestCanceledStatementKeepsConnection(t *testing.T) {
	s, err := Open(context.Background(), pgtest.NewDatabase(t)+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	backend := func() uint32 {
		t.Helper()
		var pid uint32
		if err := s.pool.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := backend()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.pool.Exec(ctx, `SELECT pg_sleep(30)`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("canceled statement: err = %v, want query_canceled (57014) from the server", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("the canceled statement returned after %s, want soon after its context ended", waited)
	}
	if after := backend(); after != before {
		t.Errorf("after a canceled statement the pool's one connection is backend %d, want the same backend %d", after, before)
	}
	if n := s.pool.Stat().NewConnsCount(); n != 1 {
		t.Errorf("the pool opened %d connections, want 1", n)
	}
}
