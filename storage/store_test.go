package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

// testStore is the conformance suite every backend passes. Presigned URLs are exercised with
// real HTTP requests from net/http against whatever serves them.
func testStore(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()

	t.Run("PutGetStat", func(t *testing.T) {
		body := []byte("#EXTM3U\n#EXT-X-VERSION:3\n")
		before := time.Now().Add(-time.Minute)
		mustPut(t, s, "conf/put/playlist.m3u8", body)
		if got := mustGet(t, s, "conf/put/playlist.m3u8"); !bytes.Equal(got, body) {
			t.Errorf("Get = %q, want %q", got, body)
		}
		info, err := s.Stat(ctx, "conf/put/playlist.m3u8")
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if got, want := info.Key, "conf/put/playlist.m3u8"; got != want {
			t.Errorf("Stat key = %q, want %q", got, want)
		}
		if got, want := info.Size, int64(len(body)); got != want {
			t.Errorf("Stat size = %d, want %d", got, want)
		}
		if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
			t.Errorf("Stat modtime = %v, want about now", info.ModTime)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		mustPut(t, s, "conf/over/x", []byte("first version, longer"))
		mustPut(t, s, "conf/over/x", []byte("second"))
		if got, want := string(mustGet(t, s, "conf/over/x")), "second"; got != want {
			t.Errorf("Get = %q, want %q", got, want)
		}
	})

	t.Run("EmptyAndLarge", func(t *testing.T) {
		mustPut(t, s, "conf/sizes/empty", nil)
		if got := mustGet(t, s, "conf/sizes/empty"); len(got) != 0 {
			t.Errorf("empty object reads %d bytes", len(got))
		}
		big := make([]byte, 3<<20+17)
		_, _ = rand.Read(big)
		mustPut(t, s, "conf/sizes/big.ts", big)
		if got := mustGet(t, s, "conf/sizes/big.ts"); !bytes.Equal(got, big) {
			t.Errorf("big object: got %d bytes, want %d identical ones", len(got), len(big))
		}
	})

	t.Run("UnknownSize", func(t *testing.T) {
		body := bytes.Repeat([]byte("0123456789"), 1000)
		// A plain io.Reader: the backend cannot discover the size itself.
		if err := s.Put(ctx, "conf/unknown/seg.ts", io.MultiReader(bytes.NewReader(body)), -1); err != nil {
			t.Fatalf("Put(-1): %v", err)
		}
		if got := mustGet(t, s, "conf/unknown/seg.ts"); !bytes.Equal(got, body) {
			t.Errorf("got %d bytes, want %d", len(got), len(body))
		}
	})

	t.Run("ShortReaderFails", func(t *testing.T) {
		mustPut(t, s, "conf/short/x", []byte("previous"))
		readers := map[string]func() io.Reader{
			"seekable": func() io.Reader { return strings.NewReader("12345") },
			"stream":   func() io.Reader { return io.MultiReader(strings.NewReader("12345")) },
		}
		for name, r := range readers {
			err := s.Put(ctx, "conf/short/x", r(), 10)
			if err == nil {
				t.Fatalf("Put with a short %s reader succeeded, want an error", name)
			}
			if got, want := string(mustGet(t, s, "conf/short/x")), "previous"; got != want {
				t.Errorf("after a failed Put (%s), Get = %q, want the previous %q", name, got, want)
			}
			if err := s.Put(ctx, "conf/short/new", r(), 10); err == nil {
				t.Fatalf("Put with a short %s reader succeeded, want an error", name)
			}
			if _, err := s.Stat(ctx, "conf/short/new"); !errors.Is(err, ErrNotFound) {
				t.Errorf("after a failed Put (%s), Stat err = %v, want ErrNotFound", name, err)
			}
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, "conf/canceled/x", strings.NewReader("x"), 1); err == nil {
			t.Error("Put with a canceled context succeeded, want an error")
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for _, key := range []string{"conf/missing/x", "conf/put/playlist.m3u8/below-an-object", "conf/put"} {
			if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q) err = %v, want ErrNotFound", key, err)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%q) err = %v, want ErrNotFound", key, err)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		mustPut(t, s, "conf/del/a/b/c", []byte("x"))
		mustPut(t, s, "conf/del/keep", []byte("y"))
		if err := s.Delete(ctx, "conf/del/a/b/c"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, "conf/del/a/b/c"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete err = %v, want ErrNotFound", err)
		}
		for _, key := range []string{"conf/del/a/b/c", "conf/del/never", "conf/del/a"} {
			if err := s.Delete(ctx, key); err != nil {
				t.Errorf("Delete(%q) of a missing object = %v, want nil", key, err)
			}
		}
		assertKeys(t, s, "conf/del/", "conf/del/keep")
	})

	t.Run("List", func(t *testing.T) {
		keys := []string{
			"conf/list/jobs/1/a", "conf/list/jobs/1/b/c", "conf/list/jobs/10/x",
			"conf/list/jobs/2/y", "conf/list/a.b", "conf/list/a/b", "conf/list/a-b", "conf/list/Z",
		}
		for _, k := range keys {
			mustPut(t, s, k, []byte(k))
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		assertKeys(t, s, "conf/list/", want...)
		assertKeys(t, s, "conf/list/jobs/1", "conf/list/jobs/1/a", "conf/list/jobs/1/b/c", "conf/list/jobs/10/x")
		assertKeys(t, s, "conf/list/jobs/1/", "conf/list/jobs/1/a", "conf/list/jobs/1/b/c")
		assertKeys(t, s, "conf/list/a", "conf/list/a-b", "conf/list/a.b", "conf/list/a/b")
		assertKeys(t, s, "conf/list/nothing/")
		assertKeys(t, s, "conf/list/jobs/1/a/") // an object, not a directory

		infos, err := s.List(ctx, "conf/list/jobs/2/")
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].Size != int64(len("conf/list/jobs/2/y")) || infos[0].ModTime.IsZero() {
			t.Errorf("List infos = %+v, want one with size %d and a modtime", infos, len("conf/list/jobs/2/y"))
		}

		all, err := s.List(ctx, "")
		if err != nil {
			t.Fatalf("List(\"\"): %v", err)
		}
		if !slices.IsSortedFunc(all, func(a, b Info) int { return strings.Compare(a.Key, b.Key) }) {
			t.Error("List(\"\") is not sorted by key")
		}
		if len(all) < len(keys) {
			t.Errorf("List(\"\") has %d objects, want at least %d", len(all), len(keys))
		}
	})

	t.Run("DeletePrefix", func(t *testing.T) {
		for _, k := range []string{"conf/dp/jobs/1/a", "conf/dp/jobs/1/b/c", "conf/dp/jobs/10/x", "conf/dp/jobs/2/y"} {
			mustPut(t, s, k, []byte("x"))
		}
		if err := s.DeletePrefix(ctx, "conf/dp/jobs/1/"); err != nil {
			t.Fatalf("DeletePrefix: %v", err)
		}
		assertKeys(t, s, "conf/dp/", "conf/dp/jobs/10/x", "conf/dp/jobs/2/y")
		if err := s.DeletePrefix(ctx, "conf/dp/jobs/1"); err != nil { // string prefix: takes jobs/10 too
			t.Fatalf("DeletePrefix: %v", err)
		}
		assertKeys(t, s, "conf/dp/", "conf/dp/jobs/2/y")
		if err := s.DeletePrefix(ctx, "conf/dp/none/"); err != nil {
			t.Errorf("DeletePrefix of nothing = %v, want nil", err)
		}
		if err := s.DeletePrefix(ctx, ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("DeletePrefix(\"\") = %v, want ErrInvalidKey", err)
		}
		assertKeys(t, s, "conf/dp/", "conf/dp/jobs/2/y")
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		for _, key := range []string{
			"", "/abs", "a/../b", "..", ".", "./a", "a/./b", "a//b", "a/", `a\b`, "nul\x00byte",
			"new\nline", "bad\xffutf8", ".sunomi-tmp-123", "a/.sunomi-tmp-x/b", strings.Repeat("k", 1025),
		} {
			t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
				checks := map[string]error{
					"Put":        s.Put(ctx, key, strings.NewReader("x"), 1),
					"Delete":     s.Delete(ctx, key),
					"PresignGet": second(s.PresignGet(ctx, key, time.Minute)),
					"PresignPut": second(s.PresignPut(ctx, key, time.Minute)),
					"Stat":       second(s.Stat(ctx, key)),
					"Get":        second(s.Get(ctx, key)),
				}
				for op, err := range checks {
					if !errors.Is(err, ErrInvalidKey) {
						t.Errorf("%s(%q) err = %v, want ErrInvalidKey", op, key, err)
					}
				}
			})
		}
		for _, prefix := range []string{"/abs", "a/../", "a//b", `a\b`, ".."} {
			if _, err := s.List(ctx, prefix); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("List(%q) err = %v, want ErrInvalidKey", prefix, err)
			}
			if err := s.DeletePrefix(ctx, prefix); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("DeletePrefix(%q) err = %v, want ErrInvalidKey", prefix, err)
			}
		}
	})

	t.Run("ConcurrentPutsAreAtomic", func(t *testing.T) {
		bodies := make([][]byte, 6)
		for i := range bodies {
			bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
		}
		var wg sync.WaitGroup
		for _, b := range bodies {
			wg.Go(func() {
				if err := s.Put(ctx, "conf/race/x", bytes.NewReader(b), int64(len(b))); err != nil {
					t.Errorf("Put: %v", err)
				}
			})
		}
		wg.Wait()
		got := mustGet(t, s, "conf/race/x")
		if !slices.ContainsFunc(bodies, func(b []byte) bool { return bytes.Equal(b, got) }) {
			t.Errorf("after concurrent Puts the object (%d bytes) is none of the bodies written", len(got))
		}
		assertKeys(t, s, "conf/race/", "conf/race/x")
	})

	t.Run("PresignedPutThenGet", func(t *testing.T) {
		for _, key := range []string{
			"conf/presign/plain.ts",
			"conf/presign/with space/and+plus & amp=eq?q#frag%25.m3u8",
			"conf/presign/ünïcødé/日本語 動画.vtt",
			"conf/presign/semi;colon,comma'quote\"(paren)!~*$@.jpg",
		} {
			t.Run(key, func(t *testing.T) {
				body := []byte("presigned body of " + key)
				putURL, err := s.PresignPut(ctx, key, 5*time.Minute)
				if err != nil {
					t.Fatalf("PresignPut: %v", err)
				}
				if status, msg, _ := httpDo(t, http.MethodPut, putURL, body, nil); status != http.StatusOK {
					t.Fatalf("PUT presigned = %d %s, want 200", status, msg)
				}
				if got := mustGet(t, s, key); !bytes.Equal(got, body) {
					t.Errorf("Get after presigned PUT = %q, want %q", got, body)
				}
				assertKeys(t, s, key, key)

				getURL, err := s.PresignGet(ctx, key, 5*time.Minute)
				if err != nil {
					t.Fatalf("PresignGet: %v", err)
				}
				status, got, _ := httpDo(t, http.MethodGet, getURL, nil, nil)
				if status != http.StatusOK || !bytes.Equal(got, body) {
					t.Errorf("GET presigned = %d %q, want 200 %q", status, got, body)
				}
			})
		}
	})

	t.Run("PresignedGetDetails", func(t *testing.T) {
		mustPut(t, s, "conf/details/hls/720p/playlist.m3u8", []byte("0123456789"))
		getURL, err := s.PresignGet(ctx, "conf/details/hls/720p/playlist.m3u8", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		status, body, h := httpDo(t, http.MethodGet, getURL, nil, http.Header{"Range": {"bytes=2-5"}})
		if status != http.StatusPartialContent || string(body) != "2345" {
			t.Errorf("ranged GET = %d %q, want 206 %q", status, body, "2345")
		}
		if got, want := h.Get("Content-Range"), "bytes 2-5/10"; got != want {
			t.Errorf("Content-Range = %q, want %q", got, want)
		}
		_, _, h = httpDo(t, http.MethodGet, getURL, nil, nil)
		if got, want := h.Get("Content-Type"), "application/vnd.apple.mpegurl"; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
	})

	t.Run("PresignedRefusals", func(t *testing.T) {
		mustPut(t, s, "conf/refuse/x", []byte("secret"))
		getURL, err := s.PresignGet(ctx, "conf/refuse/x", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		putURL, err := s.PresignPut(ctx, "conf/refuse/x", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		otherURL, err := s.PresignGet(ctx, "conf/refuse/y", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, method, url string
		}{
			{"tampered GET signature", http.MethodGet, tamperSignature(t, getURL)},
			{"tampered PUT signature", http.MethodPut, tamperSignature(t, putURL)},
			{"PUT with a GET URL", http.MethodPut, getURL},
			{"GET with a PUT URL", http.MethodGet, putURL},
			{"signature moved to another key", http.MethodGet, swapPath(t, otherURL, getURL)},
			{"no signature", http.MethodGet, stripQuery(t, getURL)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body, _ := httpDo(t, tc.method, tc.url, []byte("overwrite!"), nil)
				if status != http.StatusForbidden {
					t.Errorf("%s = %d %s, want 403", tc.method, status, body)
				}
			})
		}
		if got, want := string(mustGet(t, s, "conf/refuse/x")), "secret"; got != want {
			t.Errorf("after refused PUTs the object is %q, want %q", got, want)
		}
		if _, err := s.PresignGet(ctx, "conf/refuse/x", 0); err == nil {
			t.Error("PresignGet with ttl 0 succeeded, want an error")
		}
		if _, err := s.PresignPut(ctx, "conf/refuse/x", -time.Second); err == nil {
			t.Error("PresignPut with a negative ttl succeeded, want an error")
		}
	})

	t.Run("PresignedGetMissing", func(t *testing.T) {
		getURL, err := s.PresignGet(ctx, "conf/nothing/here", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if status, body, _ := httpDo(t, http.MethodGet, getURL, nil, nil); status != http.StatusNotFound {
			t.Errorf("GET of a missing object = %d %s, want 404", status, body)
		}
	})

	t.Run("Cleanup", func(t *testing.T) {
		if err := s.DeletePrefix(ctx, "conf/"); err != nil {
			t.Fatalf("DeletePrefix: %v", err)
		}
		assertKeys(t, s, "conf/")
	})
}

func second[T any](_ T, err error) error { return err }

func mustPut(t *testing.T, s Store, key string, body []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func assertKeys(t *testing.T, s Store, prefix string, want ...string) {
	t.Helper()
	infos, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	got := []string{}
	for _, in := range infos {
		got = append(got, in.Key)
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("List(%q) = %q, want %q", prefix, got, want)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// httpDo sends one real HTTP request and returns the status, body and headers.
func httpDo(t *testing.T, method, rawURL string, body []byte, h http.Header) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil && (method == http.MethodPut || method == http.MethodPost) {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, r)
	if err != nil {
		t.Fatalf("request %s %s: %v", method, rawURL, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, rawURL, err)
	}
	return resp.StatusCode, b, resp.Header
}

// tamperSignature flips one hex digit of the URL's signature, whichever backend minted it.
func tamperSignature(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for _, name := range []string{"sig", "X-Amz-Signature"} {
		if v := q.Get(name); v != "" {
			last := v[len(v)-1]
			flipped := byte('0')
			if last == '0' {
				flipped = '1'
			}
			q.Set(name, v[:len(v)-1]+string(flipped))
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	t.Fatalf("no signature parameter in %s", rawURL)
	return ""
}

// swapPath puts the query (signature) of from onto the path of to.
func swapPath(t *testing.T, from, to string) string {
	t.Helper()
	fu, err := url.Parse(from)
	if err != nil {
		t.Fatal(err)
	}
	tu, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	tu.RawQuery = fu.RawQuery
	return tu.String()
}

func stripQuery(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = ""
	return u.String()
}
