package storage

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/miniotest"
)

type boundedStore interface {
	multipartStore
	SizedPresigner
	Mover
}

func TestLocalBoundedUploads(t *testing.T) {
	l, _ := newLocalServer(t, Options{})
	testBoundedUploads(t, l, http.StatusRequestEntityTooLarge)

	// A size taken off the URL, or changed, breaks the signature.
	u, err := l.PresignPutSize(context.Background(), "bounded/edit", 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, edited := range map[string]string{
		"size dropped": setQuery(t, u, "size", ""),
		"size raised":  setQuery(t, u, "size", "400"),
	} {
		if status, _, _ := httpDo(t, http.MethodPut, edited, []byte("0123456789"), nil); status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, status)
		}
	}
	// The 413 says why.
	status, body, _ := httpDo(t, http.MethodPut, u, []byte("0123456789"), nil)
	if msg := errorMessage(t, body); status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "4 bytes declared") {
		t.Errorf("oversize PUT: %d %q", status, msg)
	}
}

func TestS3BoundedUploads(t *testing.T) {
	srv := miniotest.Start(t)
	// S3 checks the signed Content-Length as part of the signature.
	testBoundedUploads(t, openS3(t, srv, srv.URL("bounded")+"&prefix=p"), http.StatusForbidden)
}

// testBoundedUploads checks that size-bound URLs take the declared size and refuse more
// (with refused, the backend's status), and that Move moves.
func testBoundedUploads(t *testing.T, s boundedStore, refused int) {
	t.Helper()
	ctx := context.Background()

	t.Run("PutSize", func(t *testing.T) {
		u, err := s.PresignPutSize(ctx, "bounded/put", 5, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if status, body, _ := httpDo(t, http.MethodPut, u, []byte("0123456789"), nil); status != refused {
			t.Fatalf("PUT of 10 bytes to a 5-byte URL: status %d, want %d: %s", status, refused, body)
		}
		if _, err := s.Stat(ctx, "bounded/put"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after a refused PUT, Stat = %v, want ErrNotFound", err)
		}
		if status, body, _ := httpDo(t, http.MethodPut, u, []byte("01234"), nil); status != http.StatusOK {
			t.Fatalf("PUT of the declared 5 bytes: status %d: %s", status, body)
		}
		if got := mustGet(t, s, "bounded/put"); string(got) != "01234" {
			t.Fatalf("stored %q", got)
		}
	})

	t.Run("PartSize", func(t *testing.T) {
		const key = "bounded/mp"
		id := mustCreate(t, s, key)
		u, err := s.PresignPartSize(ctx, key, id, 1, 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if status, body, _ := httpDo(t, http.MethodPut, u, []byte("abcdef"), nil); status != refused {
			t.Fatalf("part PUT of 6 bytes to a 3-byte URL: status %d, want %d: %s", status, refused, body)
		}
		if parts := mustListParts(t, s, key, id); len(parts) != 0 {
			t.Fatalf("a refused part was stored: %+v", parts)
		}
		if status, body, _ := httpDo(t, http.MethodPut, u, []byte("abc"), nil); status != http.StatusOK {
			t.Fatalf("part PUT of the declared 3 bytes: status %d: %s", status, body)
		}
		assertParts(t, mustListParts(t, s, key, id), []byte("abc"))
		if err := s.AbortMultipart(ctx, key, id); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Move", func(t *testing.T) {
		mustPut(t, s, "bounded/staged", []byte("new"))
		mustPut(t, s, "bounded/final/object", []byte("old"))
		if err := s.Move(ctx, "bounded/staged", "bounded/final/object"); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, "bounded/final/object"); string(got) != "new" {
			t.Fatalf("moved object holds %q", got)
		}
		if _, err := s.Stat(ctx, "bounded/staged"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("source after Move: %v, want ErrNotFound", err)
		}
		if err := s.Move(ctx, "bounded/staged", "bounded/final/object"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Move of a missing object = %v, want ErrNotFound", err)
		}
		if !bytes.Equal(mustGet(t, s, "bounded/final/object"), []byte("new")) {
			t.Fatal("a failed Move changed the destination")
		}
	})
}
