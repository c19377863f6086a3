package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/miniotest"
)

type multipartStore interface {
	Store
	Multipart
}

func TestLocalMultipart(t *testing.T) {
	l, _ := newLocalServer(t, Options{})
	testMultipart(t, l)
}

func TestS3Multipart(t *testing.T) {
	srv := miniotest.Start(t)
	t.Run("bucket", func(t *testing.T) {
		testMultipart(t, openS3(t, srv, srv.URL("multipart")))
	})
	t.Run("prefixed", func(t *testing.T) {
		s := openS3(t, srv, srv.URL("multipart-prefixed")+"&prefix=tenants/a")
		testMultipart(t, s)

		// The completed object lands under the prefix, like any other.
		ctx := context.Background()
		id := mustCreate(t, s, "mp/small")
		putPart(t, s, "mp/small", id, 1, []byte("tiny"))
		if err := s.CompleteMultipart(ctx, "mp/small", id, mustListParts(t, s, "mp/small", id)); err != nil {
			t.Fatalf("CompleteMultipart: %v", err)
		}
		assertKeys(t, openS3(t, srv, srv.URL("multipart-prefixed")), "", "tenants/a/mp/small")
	})
}

// testMultipart is the conformance suite of Multipart: both backends answer alike, down to the
// errors. Parts travel by real HTTP PUTs to the presigned URLs, as from a browser.
func testMultipart(t *testing.T, s multipartStore) {
	t.Helper()
	ctx := context.Background()

	// An 11 MiB source: two parts of MinPartSize and a short last one.
	src := make([]byte, 2*MinPartSize+1<<20+17)
	_, _ = rand.Read(src)
	chunks := [][]byte{src[:MinPartSize], src[MinPartSize : 2*MinPartSize], src[2*MinPartSize:]}

	t.Run("UploadResumeComplete", func(t *testing.T) {
		const key = "mp/videos/1/source.mp4"
		id := mustCreate(t, s, key)

		// Out of order, and part 2 first arrives short, as from a client that lost its place.
		putPart(t, s, key, id, 3, chunks[2])
		putPart(t, s, key, id, 1, chunks[0])
		putPart(t, s, key, id, 2, chunks[1][:1000])
		parts := mustListParts(t, s, key, id)
		assertParts(t, parts, chunks[0], chunks[1][:1000], chunks[2])
		err := s.CompleteMultipart(ctx, key, id, parts)
		if !errors.Is(err, ErrInvalidPart) || !strings.Contains(err.Error(), "at least") {
			t.Errorf("CompleteMultipart with a short part 2 = %v, want ErrInvalidPart saying parts need at least %d bytes", err, MinPartSize)
		}

		// Resume: the listing shows part 2 is short, so it is sent again and replaces the first.
		putPart(t, s, key, id, 2, chunks[1])
		// A stray part past the end, which completing without it discards.
		putPart(t, s, key, id, 4, []byte("stray"))
		parts = mustListParts(t, s, key, id)
		assertParts(t, parts, chunks[0], chunks[1], chunks[2], []byte("stray"))
		p1, p2, p3, p4 := parts[0], parts[1], parts[2], parts[3]

		stale := p2
		stale.ETag = quotedMD5(chunks[1][:1000])
		bigger := p3
		bigger.Size++
		for _, tc := range []struct {
			name  string
			parts []Part
			want  string
		}{
			{"no parts", nil, "no parts"},
			{"gap", []Part{p1, p3}, "where part 2 belongs"},
			{"out of order", []Part{p2, p1, p3}, "where part 1 belongs"},
			{"not from 1", []Part{p2, p3}, "where part 1 belongs"},
			{"never uploaded", []Part{p1, p2, p3, p4, {Number: 5, Size: 5, ETag: quotedMD5([]byte("never"))}}, "never uploaded"},
			{"stale ETag of a part sent again", []Part{p1, stale, p3}, "does not match"},
			{"wrong size", []Part{p1, p2, bigger}, "does not match"},
			{"short part before the last", []Part{p1, p2, p3, p4}, "at least"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CompleteMultipart(ctx, key, id, tc.parts)
				if !errors.Is(err, ErrInvalidPart) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("CompleteMultipart = %v, want ErrInvalidPart saying %q", err, tc.want)
				}
			})
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("after refused completions, Stat err = %v, want ErrNotFound", err)
		}

		// ETags match with or without their quotes.
		unquoted := []Part{p1, p2, p3}
		for i := range unquoted {
			unquoted[i].ETag = strings.Trim(unquoted[i].ETag, `"`)
		}
		if err := s.CompleteMultipart(ctx, key, id, unquoted); err != nil {
			t.Fatalf("CompleteMultipart: %v", err)
		}
		if got := mustGet(t, s, key); !bytes.Equal(got, src) {
			t.Errorf("completed object has %d bytes, want the %d bytes of its parts in order", len(got), len(src))
		}
		assertKeys(t, s, "mp/videos/", key)

		// The upload is over.
		if _, err := s.ListParts(ctx, key, id); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("ListParts after completion err = %v, want ErrNoSuchUpload", err)
		}
		if err := s.CompleteMultipart(ctx, key, id, []Part{p1, p2, p3}); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("CompleteMultipart again err = %v, want ErrNoSuchUpload", err)
		}
		if status, body, _ := httpDo(t, http.MethodPut, mustPresignPart(t, s, key, id, 1), []byte("late"), nil); status != http.StatusNotFound {
			t.Errorf("PUT of a part after completion = %d %s, want 404", status, body)
		}
		if err := s.AbortMultipart(ctx, key, id); err != nil {
			t.Errorf("AbortMultipart after completion = %v, want nil", err)
		}
		if got := mustGet(t, s, key); !bytes.Equal(got, src) {
			t.Error("aborting a completed upload changed its object")
		}
	})

	t.Run("Abort", func(t *testing.T) {
		const key = "mp/aborted.mp4"
		id := mustCreate(t, s, key)
		putPart(t, s, key, id, 1, []byte("first part"))
		if err := s.AbortMultipart(ctx, key, id); err != nil {
			t.Fatalf("AbortMultipart: %v", err)
		}
		if _, err := s.ListParts(ctx, key, id); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("ListParts after abort err = %v, want ErrNoSuchUpload", err)
		}
		parts := []Part{{Number: 1, Size: 10, ETag: quotedMD5([]byte("first part"))}}
		if err := s.CompleteMultipart(ctx, key, id, parts); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("CompleteMultipart after abort err = %v, want ErrNoSuchUpload", err)
		}
		if status, body, _ := httpDo(t, http.MethodPut, mustPresignPart(t, s, key, id, 2), []byte("late"), nil); status != http.StatusNotFound {
			t.Errorf("PUT of a part after abort = %d %s, want 404", status, body)
		}
		if err := s.AbortMultipart(ctx, key, id); err != nil {
			t.Errorf("AbortMultipart again = %v, want nil", err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat after abort err = %v, want ErrNotFound", err)
		}
	})

	t.Run("UnknownUploads", func(t *testing.T) {
		const key = "mp/unknown/a"
		other := mustCreate(t, s, "mp/unknown/b") // an upload, but of another key
		parts := []Part{{Number: 1, Size: 1, ETag: quotedMD5([]byte("x"))}}
		for _, tc := range []struct{ name, id string }{
			{"empty", ""},
			{"made up", "no-such-upload"},
			{"another key's", other},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.ListParts(ctx, key, tc.id); !errors.Is(err, ErrNoSuchUpload) {
					t.Errorf("ListParts err = %v, want ErrNoSuchUpload", err)
				}
				if err := s.CompleteMultipart(ctx, key, tc.id, parts); !errors.Is(err, ErrNoSuchUpload) {
					t.Errorf("CompleteMultipart err = %v, want ErrNoSuchUpload", err)
				}
				err := s.AbortMultipart(ctx, key, tc.id)
				if tc.id == "" && !errors.Is(err, ErrNoSuchUpload) {
					t.Errorf("AbortMultipart err = %v, want ErrNoSuchUpload", err)
				}
				if tc.id != "" && err != nil {
					t.Errorf("AbortMultipart err = %v, want nil: the upload is already gone", err)
				}
			})
		}
		if _, err := s.PresignPart(ctx, key, "", 1, time.Minute); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("PresignPart with an empty upload ID err = %v, want ErrNoSuchUpload", err)
		}
		// Aborting with the wrong key left the other upload alone.
		if _, err := s.ListParts(ctx, "mp/unknown/b", other); err != nil {
			t.Errorf("ListParts of the other key's upload: %v", err)
		}
		if err := s.AbortMultipart(ctx, "mp/unknown/b", other); err != nil {
			t.Errorf("AbortMultipart: %v", err)
		}
	})

	t.Run("PresignRefusals", func(t *testing.T) {
		const key = "mp/refuse/x"
		mustPut(t, s, key, []byte("precious"))
		id := mustCreate(t, s, key)
		t.Cleanup(func() { _ = s.AbortMultipart(ctx, key, id) })

		for _, n := range []int{0, -1, MaxParts + 1} {
			if _, err := s.PresignPart(ctx, key, id, n, time.Minute); !errors.Is(err, ErrInvalidPart) {
				t.Errorf("PresignPart(part %d) err = %v, want ErrInvalidPart", n, err)
			}
		}
		if _, err := s.PresignPart(ctx, key, id, MaxParts, time.Minute); err != nil {
			t.Errorf("PresignPart(part %d) = %v, want a URL", MaxParts, err)
		}
		if _, err := s.PresignPart(ctx, key, id, 1, 0); err == nil {
			t.Error("PresignPart with ttl 0 succeeded, want an error")
		}
		if _, err := s.PresignPart(ctx, "a/../b", id, 1, time.Minute); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("PresignPart with an invalid key err = %v, want ErrInvalidKey", err)
		}
		if _, err := s.CreateMultipart(ctx, "a//b"); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CreateMultipart with an invalid key err = %v, want ErrInvalidKey", err)
		}

		partURL := mustPresignPart(t, s, key, id, 1)
		putURL, err := s.PresignPut(ctx, key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, method, url string
		}{
			{"tampered signature", http.MethodPut, tamperSignature(t, partURL)},
			{"another part number", http.MethodPut, setQuery(t, partURL, "partNumber", "2")},
			{"another upload", http.MethodPut, setQuery(t, partURL, "uploadId", id+"x")},
			{"part URL as an object PUT", http.MethodPut, setQuery(t, setQuery(t, partURL, "partNumber", ""), "uploadId", "")},
			{"object PUT URL as a part", http.MethodPut, setQuery(t, setQuery(t, putURL, "partNumber", "1"), "uploadId", id)},
			{"GET with a part URL", http.MethodGet, partURL},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if status, body, _ := httpDo(t, tc.method, tc.url, []byte("overwrite!"), nil); status != http.StatusForbidden {
					t.Errorf("%s = %d %s, want 403", tc.method, status, body)
				}
			})
		}
		if got, want := string(mustGet(t, s, key)), "precious"; got != want {
			t.Errorf("after refused PUTs the object is %q, want %q", got, want)
		}
		if parts := mustListParts(t, s, key, id); len(parts) != 0 {
			t.Errorf("after refused PUTs the upload has parts %+v, want none", parts)
		}
	})

	t.Run("ManyParts", func(t *testing.T) {
		// More parts than S3 lists in one response.
		const key, n = "mp/many", listPartsPage + 1
		id := mustCreate(t, s, key)
		t.Cleanup(func() { _ = s.AbortMultipart(ctx, key, id) })
		numbers := make(chan int)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := range numbers {
					if err := sendPart(ctx, s, key, id, i, []byte(strconv.Itoa(i))); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for i := n; i >= 1; i-- {
			numbers <- i
		}
		close(numbers)
		wg.Wait()
		parts := mustListParts(t, s, key, id)
		if len(parts) != n {
			t.Fatalf("ListParts has %d parts, want %d", len(parts), n)
		}
		for i, p := range parts {
			if p.Number != i+1 || p.Size != int64(len(strconv.Itoa(i+1))) {
				t.Fatalf("part %d = %+v, want number %d of %d bytes", i, p, i+1, len(strconv.Itoa(i+1)))
			}
		}
	})

	t.Run("Cleanup", func(t *testing.T) {
		if err := s.DeletePrefix(ctx, "mp/"); err != nil {
			t.Fatalf("DeletePrefix: %v", err)
		}
		assertKeys(t, s, "mp/")
	})
}

func mustCreate(t *testing.T, s Multipart, key string) string {
	t.Helper()
	id, err := s.CreateMultipart(context.Background(), key)
	if err != nil {
		t.Fatalf("CreateMultipart(%q): %v", key, err)
	}
	return id
}

func mustPresignPart(t *testing.T, s Multipart, key, id string, n int) string {
	t.Helper()
	u, err := s.PresignPart(context.Background(), key, id, n, 5*time.Minute)
	if err != nil {
		t.Fatalf("PresignPart(%q, part %d): %v", key, n, err)
	}
	return u
}

func mustListParts(t *testing.T, s Multipart, key, id string) []Part {
	t.Helper()
	parts, err := s.ListParts(context.Background(), key, id)
	if err != nil {
		t.Fatalf("ListParts(%q): %v", key, err)
	}
	return parts
}

// putPart PUTs one part to a fresh presigned URL from a browser's origin, and checks the
// answer carries the part's ETag where browser JavaScript may read it.
func putPart(t *testing.T, s Multipart, key, id string, n int, body []byte) {
	t.Helper()
	status, msg, h := httpDo(t, http.MethodPut, mustPresignPart(t, s, key, id, n), body, http.Header{"Origin": {"http://spa.example"}})
	if status != http.StatusOK {
		t.Fatalf("PUT part %d = %d %s, want 200", n, status, msg)
	}
	if got, want := h.Get("ETag"), quotedMD5(body); got != want {
		t.Errorf("PUT part %d ETag = %q, want %q", n, got, want)
	}
	exposed := strings.Split(h.Get("Access-Control-Expose-Headers"), ",")
	if !slices.ContainsFunc(exposed, func(name string) bool { return strings.EqualFold(strings.TrimSpace(name), "ETag") }) {
		t.Errorf("PUT part %d: Access-Control-Expose-Headers = %q, want it to expose ETag", n, h.Get("Access-Control-Expose-Headers"))
	}
}

// sendPart PUTs one part without the checks of putPart, for use off the test's goroutine.
func sendPart(ctx context.Context, s Multipart, key, id string, n int, body []byte) error {
	u, err := s.PresignPart(ctx, key, id, n, 5*time.Minute)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT part %d = %s, want 200", n, resp.Status)
	}
	return nil
}

// assertParts checks that parts describe bodies, uploaded as parts 1, 2, 3, …, with the ETags
// their PUTs answered.
func assertParts(t *testing.T, parts []Part, bodies ...[]byte) {
	t.Helper()
	var want []Part
	for i, b := range bodies {
		want = append(want, Part{Number: i + 1, Size: int64(len(b)), ETag: quotedMD5(b)})
	}
	if !slices.Equal(parts, want) {
		t.Errorf("ListParts = %+v, want %+v", parts, want)
	}
}

func quotedMD5(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// setQuery sets (or, with an empty value, removes) one query parameter of a URL.
func setQuery(t *testing.T, rawURL, name, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
