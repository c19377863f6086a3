package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newLocalServer builds a Local whose handler is mounted on an httptest server the way the
// coordinator mounts it, with PublicURL pointing there.
func newLocalServer(t *testing.T, opts Options) (*Local, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	opts.PublicURL = srv.URL + "/"
	l, err := NewLocal(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	mux.Handle(BlobPath, l.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "not the blob handler", http.StatusTeapot) })
	return l, srv
}

func TestLocalConformance(t *testing.T) {
	l, _ := newLocalServer(t, Options{})
	testStore(t, l)
}

func TestLocalExpiredURL(t *testing.T) {
	l, _ := newLocalServer(t, Options{})
	mustPut(t, l, "v/x.ts", []byte("data"))
	now := time.Now()
	l.now = func() time.Time { return now }
	getURL, err := l.PresignGet(context.Background(), "v/x.ts", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	putURL, err := l.PresignPut(context.Background(), "v/x.ts", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := httpDo(t, http.MethodGet, getURL, nil, nil); status != http.StatusOK {
		t.Fatalf("GET before expiry = %d %s, want 200", status, body)
	}
	now = now.Add(12 * time.Second) // past expiry, which was rounded up to a whole second
	for _, tc := range []struct{ method, url string }{{http.MethodGet, getURL}, {http.MethodPut, putURL}} {
		status, body, _ := httpDo(t, tc.method, tc.url, []byte("late"), nil)
		if status != http.StatusForbidden {
			t.Errorf("%s after expiry = %d %s, want 403", tc.method, status, body)
		}
		if got := errorMessage(t, body); !strings.Contains(got, "expired") {
			t.Errorf("%s after expiry error = %q, want it to say expired", tc.method, got)
		}
	}
	// Pushing the expiry forward breaks the signature.
	u, _ := url.Parse(getURL)
	q := u.Query()
	q.Set("expires", strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
	u.RawQuery = q.Encode()
	if status, body, _ := httpDo(t, http.MethodGet, u.String(), nil, nil); status != http.StatusForbidden {
		t.Errorf("GET with an extended expiry = %d %s, want 403", status, body)
	}
}

func TestLocalURLShape(t *testing.T) {
	l, err := NewLocal(t.TempDir(), Options{Secret: testSecret, PublicURL: "http://127.0.0.1:7000/"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 500)
	l.now = func() time.Time { return now }
	got, err := l.PresignGet(context.Background(), "videos/1/a b/ü.ts", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantPrefix := "http://127.0.0.1:7000/v1/blobs/videos/1/a%20b/%C3%BC.ts?expires=1700000061&sig="
	if !strings.HasPrefix(got, wantPrefix) {
		t.Errorf("PresignGet = %q, want prefix %q", got, wantPrefix)
	}
	if sig := got[len(wantPrefix):]; sig != l.sign("GET", "videos/1/a b/ü.ts", 1700000061) || len(sig) != 64 {
		t.Errorf("sig = %q, want the hex HMAC-SHA256 of GET\\nkey\\nexpires", sig)
	}
}

func TestLocalHandler(t *testing.T) {
	l, srv := newLocalServer(t, Options{MaxPutSize: 1 << 10})
	ctx := context.Background()
	mustPut(t, l, "h/blob", []byte("some bytes"))
	mustPut(t, l, "h/page.html", []byte("<script>alert(1)</script>"))
	getURL, _ := l.PresignGet(ctx, "h/blob", time.Minute)
	htmlURL, _ := l.PresignGet(ctx, "h/page.html", time.Minute)
	bigURL, _ := l.PresignPut(ctx, "h/big", time.Minute)

	t.Run("HEAD with a GET URL", func(t *testing.T) {
		status, body, h := httpDo(t, http.MethodHead, getURL, nil, nil)
		if status != http.StatusOK || len(body) != 0 || h.Get("Content-Length") != "10" {
			t.Errorf("HEAD = %d, %d body bytes, Content-Length %q; want 200, 0, 10", status, len(body), h.Get("Content-Length"))
		}
	})
	t.Run("no sniffing of user content", func(t *testing.T) {
		_, _, h := httpDo(t, http.MethodGet, htmlURL, nil, nil)
		if got, want := h.Get("Content-Type"), "application/octet-stream"; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
		if got, want := h.Get("X-Content-Type-Options"), "nosniff"; got != want {
			t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
		}
	})
	t.Run("errors are JSON", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, url string
			body              []byte
			want              int
		}{
			{"missing signature", http.MethodGet, srv.URL + BlobPath + "h/blob", nil, http.StatusForbidden},
			{"malformed expires", http.MethodGet, srv.URL + BlobPath + "h/blob?expires=soon&sig=00", nil, http.StatusForbidden},
			{"malformed sig", http.MethodGet, srv.URL + BlobPath + "h/blob?expires=9999999999&sig=zz", nil, http.StatusForbidden},
			{"DELETE", http.MethodDelete, getURL, nil, http.StatusMethodNotAllowed},
			{"POST", http.MethodPost, getURL, []byte("x"), http.StatusMethodNotAllowed},
			{"bare prefix", http.MethodGet, srv.URL + BlobPath, nil, http.StatusNotFound},
			{"body over the limit", http.MethodPut, bigURL, bytes.Repeat([]byte("x"), 2<<10), http.StatusRequestEntityTooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body, h := httpDo(t, tc.method, tc.url, tc.body, nil)
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
		if _, err := l.Stat(ctx, "h/big"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after a refused oversized PUT, Stat err = %v, want ErrNotFound", err)
		}
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, bigURL, io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("y"), 4<<10))))
		req.ContentLength = -1 // chunked: the limit is enforced while streaming
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusRequestEntityTooLarge; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		if _, err := l.Stat(ctx, "h/big"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after a refused PUT, Stat err = %v, want ErrNotFound", err)
		}
	})
	t.Run("CORS preflight", func(t *testing.T) { checkPUTPreflight(t, bigURL) })
}

func TestLocalFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := NewLocal(dir, Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("objects are plain files at their key", func(t *testing.T) {
		mustPut(t, l, "videos/1/poster.jpg", []byte("jpeg"))
		b, err := os.ReadFile(filepath.Join(dir, "videos", "1", "poster.jpg"))
		if err != nil || string(b) != "jpeg" {
			t.Errorf("file = %q, %v; want %q", b, err, "jpeg")
		}
	})
	t.Run("failed put leaves no temporary file", func(t *testing.T) {
		err := l.Put(ctx, "videos/1/poster.jpg", io.MultiReader(strings.NewReader("part"), errReader{}), -1)
		if err == nil {
			t.Fatal("Put from a failing reader succeeded")
		}
		entries, _ := os.ReadDir(filepath.Join(dir, "videos", "1"))
		if len(entries) != 1 || entries[0].Name() != "poster.jpg" {
			t.Errorf("directory holds %v, want only poster.jpg", entries)
		}
		if got := string(mustGet(t, l, "videos/1/poster.jpg")); got != "jpeg" {
			t.Errorf("object = %q after a failed overwrite, want %q", got, "jpeg")
		}
	})
	t.Run("stray temporary files are not objects", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "videos", "1", tempPrefix+"999"), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		assertKeys(t, l, "videos/", "videos/1/poster.jpg")
	})
	t.Run("key and prefix conflict", func(t *testing.T) {
		err := l.Put(ctx, "videos/1/poster.jpg/child", strings.NewReader("x"), 1)
		if err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("Put below an object = %v, want a conflict error", err)
		}
		err = l.Put(ctx, "videos/1", strings.NewReader("x"), 1)
		if err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("Put onto a directory of objects = %v, want a conflict error", err)
		}
	})
	t.Run("delete prunes empty directories", func(t *testing.T) {
		mustPut(t, l, "jobs/7/chunks/a/b/c", []byte("x"))
		if err := l.DeletePrefix(ctx, "jobs/7/"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "jobs")); !os.IsNotExist(err) {
			t.Errorf("jobs/ still exists after deleting everything under it (stat err %v)", err)
		}
		mustPut(t, l, "jobs", []byte("now a plain object"))
	})
	t.Run("presign needs a public URL", func(t *testing.T) {
		if _, err := l.PresignGet(ctx, "videos/1/poster.jpg", time.Minute); err == nil {
			t.Error("PresignGet without a PublicURL succeeded, want an error")
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestNewLocalErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  string
		opts Options
		want string
	}{
		{"relative dir", "blobs", Options{Secret: testSecret}, "absolute"},
		{"no secret", dir, Options{}, "secret"},
		{"short secret", dir, Options{Secret: []byte("short")}, "secret"},
		{"bad public URL", dir, Options{Secret: testSecret, PublicURL: "127.0.0.1:7000"}, "public URL"},
		{"public URL with query", dir, Options{Secret: testSecret, PublicURL: "http://h/?x=1"}, "public URL"},
		{"negative max put", dir, Options{Secret: testSecret, MaxPutSize: -1}, "max put"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLocal(tc.dir, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewLocal err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("error body %q is not JSON: %v", body, err)
	}
	return e.Error
}

// checkPUTPreflight checks that a browser on another origin may PUT to url (an SPA uploading
// straight to storage).
func checkPUTPreflight(t *testing.T, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", "http://spa.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("preflight = %d %v, want 204 allowing PUT from any origin", resp.StatusCode, resp.Header)
	}
}
