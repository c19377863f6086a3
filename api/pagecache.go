package api

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// homeCache keeps the anonymous answers of GET /api/v1/videos (the home page, the busiest
// request there is) for a second. They already say "Cache-Control: public, max-age=5", so
// browsers and CDNs may serve them for five seconds; one more second in each replica changes
// nothing a viewer can see, and turns thousands of identical queries a second into one.
// Signed-in requests are never cached.
type homeCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedPage // by raw query string
}

type cachedPage struct {
	body    []byte
	status  int
	expires time.Time
}

// maxHomeEntries bounds the cache: distinct query strings beyond it (cursors of deep pages,
// odd limits) empty it, so a crawler cannot grow it without limit.
const maxHomeEntries = 256

func newHomeCache(ttl time.Duration, now func() time.Time) *homeCache {
	return &homeCache{ttl: ttl, now: now, entries: map[string]cachedPage{}}
}

// middleware serves cached anonymous home pages and records fresh ones.
func (c *homeCache) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/videos" || r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		key := r.URL.RawQuery
		now := c.now()
		c.mu.Lock()
		page, ok := c.entries[key]
		c.mu.Unlock()
		if ok && now.Before(page.expires) {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "public, max-age=5")
			h.Set("Content-Length", strconv.Itoa(len(page.body)))
			w.WriteHeader(page.status)
			_, _ = w.Write(page.body)
			return
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusOK {
			return
		}
		c.mu.Lock()
		if len(c.entries) >= maxHomeEntries {
			clear(c.entries)
		}
		c.entries[key] = cachedPage{body: rec.body.Bytes(), status: rec.status, expires: now.Add(c.ttl)}
		c.mu.Unlock()
	})
}

// recorder passes a response through and keeps a copy of its body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
