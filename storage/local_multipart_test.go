package storage

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLocalMultipartExpiredURL(t *testing.T) {
	l, _ := newLocalServer(t, Options{})
	id := mustCreate(t, l, "v/source.mp4")
	now := time.Now()
	l.now = func() time.Time { return now }
	partURL, err := l.PresignPart(context.Background(), "v/source.mp4", id, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(12 * time.Second) // past expiry, which was rounded up to a whole second
	status, body, _ := httpDo(t, http.MethodPut, partURL, []byte("late"), nil)
	if status != http.StatusForbidden || !strings.Contains(errorMessage(t, body), "expired") {
		t.Errorf("PUT after expiry = %d %s, want 403 saying expired", status, body)
	}
	if parts := mustListParts(t, l, "v/source.mp4", id); len(parts) != 0 {
		t.Errorf("after an expired PUT the upload has parts %+v, want none", parts)
	}
}

func TestLocalMultipartURLShape(t *testing.T) {
	l, err := NewLocal(t.TempDir(), Options{Secret: testSecret, PublicURL: "http://127.0.0.1:7000/"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	id := mustCreate(t, l, "videos/1/a b.mp4")
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`).MatchString(id) {
		t.Errorf("upload ID %q, want 32 URL-safe characters", id)
	}
	if other := mustCreate(t, l, "videos/1/a b.mp4"); other == id {
		t.Errorf("two uploads got the same ID %q", id)
	}
	got, err := l.PresignPart(context.Background(), "videos/1/a b.mp4", id, 7, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://127.0.0.1:7000/v1/blobs/videos/1/a%20b.mp4?"; !strings.HasPrefix(got, want) {
		t.Errorf("PresignPart = %q, want prefix %q", got, want)
	}
	want := url.Values{
		"uploadId":   {id},
		"partNumber": {"7"},
		"expires":    {"1700000060"},
		"sig":        {l.sign("PUT", "videos/1/a b.mp4", 1700000060, id, "7")},
	}
	if q := u.Query(); q.Encode() != want.Encode() {
		t.Errorf("query = %v, want %v", q, want)
	}
}

func TestLocalMultipartHandler(t *testing.T) {
	l, _ := newLocalServer(t, Options{MaxPutSize: 1 << 10})
	ctx := context.Background()
	id := mustCreate(t, l, "h/source.mp4")
	partURL := mustPresignPart(t, l, "h/source.mp4", id, 1)

	t.Run("CORS preflight", func(t *testing.T) { checkPUTPreflight(t, partURL) })
	t.Run("ETag exposed", func(t *testing.T) {
		status, body, h := httpDo(t, http.MethodPut, partURL, []byte("part one"), http.Header{"Origin": {"http://spa.example"}})
		if status != http.StatusOK {
			t.Fatalf("PUT = %d %s, want 200", status, body)
		}
		if got, want := h.Get("ETag"), quotedMD5([]byte("part one")); got != want {
			t.Errorf("ETag = %q, want %q", got, want)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
		}
		if got := h.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "ETag") {
			t.Errorf("Access-Control-Expose-Headers = %q, want it to name ETag", got)
		}
	})
	t.Run("errors are JSON", func(t *testing.T) {
		gone := mustCreate(t, l, "h/gone.mp4")
		goneURL := mustPresignPart(t, l, "h/gone.mp4", gone, 1)
		if err := l.AbortMultipart(ctx, "h/gone.mp4", gone); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			url  string
			body []byte
			want int
		}{
			{"unknown upload", goneURL, []byte("x"), http.StatusNotFound},
			{"tampered signature", tamperSignature(t, partURL), []byte("x"), http.StatusForbidden},
			{"body over the limit", partURL, bytes.Repeat([]byte("x"), 2<<10), http.StatusRequestEntityTooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body, h := httpDo(t, http.MethodPut, tc.url, tc.body, nil)
				if status != tc.want {
					t.Errorf("status = %d (%s), want %d", status, body, tc.want)
				}
				if got, want := h.Get("Content-Type"), "application/json"; got != want {
					t.Errorf("Content-Type = %q, want %q", got, want)
				}
				if msg := errorMessage(t, body); msg == "" {
					t.Errorf("error body %q has no message", body)
				}
			})
		}
		// The refused PUTs left part 1 as the earlier subtest stored it.
		assertParts(t, mustListParts(t, l, "h/source.mp4", id), []byte("part one"))
	})
}

func TestLocalMultipartFiles(t *testing.T) {
	l, _ := newLocalServer(t, Options{})
	ctx := context.Background()
	uploads := filepath.Join(l.Dir(), multipartDir)

	id := mustCreate(t, l, "v/source.mp4")
	putPart(t, l, "v/source.mp4", id, 1, []byte("only part"))
	if _, err := os.Stat(filepath.Join(uploads, id, "part-00001")); err != nil {
		t.Errorf("part file: %v", err)
	}
	assertKeys(t, l, "") // parts are not objects

	for _, bad := range []string{"../../etc", ".", strings.Repeat(".", 32), strings.Repeat("a", 31) + "/"} {
		if _, err := l.ListParts(ctx, "v/source.mp4", bad); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("ListParts(upload %q) err = %v, want ErrNoSuchUpload", bad, err)
		}
	}

	if err := l.CompleteMultipart(ctx, "v/source.mp4", id, mustListParts(t, l, "v/source.mp4", id)); err != nil {
		t.Fatal(err)
	}
	if got := string(mustGet(t, l, "v/source.mp4")); got != "only part" {
		t.Errorf("object = %q, want %q", got, "only part")
	}
	aborted := mustCreate(t, l, "v/other.mp4")
	putPart(t, l, "v/other.mp4", aborted, 1, []byte("x"))
	if err := l.AbortMultipart(ctx, "v/other.mp4", aborted); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(uploads); err != nil || len(entries) != 0 {
		t.Errorf("after completion and abort the uploads directory holds %v (%v), want nothing", entries, err)
	}

	// A key whose prefix is an object cannot be completed on this backend, and the upload stays.
	conflict := mustCreate(t, l, "v/source.mp4/child")
	putPart(t, l, "v/source.mp4/child", conflict, 1, []byte("x"))
	err := l.CompleteMultipart(ctx, "v/source.mp4/child", conflict, mustListParts(t, l, "v/source.mp4/child", conflict))
	if err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("CompleteMultipart below an object = %v, want a conflict error", err)
	}
	assertParts(t, mustListParts(t, l, "v/source.mp4/child", conflict), []byte("x"))
}
