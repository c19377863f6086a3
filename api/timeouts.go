package api

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sunomi/sunomi/storage"
)

// TimeoutsConfig bounds how long a client may hold a request, so that a client sending its
// body a byte at a time, or reading its response as slowly, cannot hold a goroutine and a
// connection forever. They are set per request (http.ResponseController) rather than on the
// http.Server, whose ReadTimeout and WriteTimeout would apply to every route alike: uploads
// need longer than JSON, and WebSockets live for a whole transcode.
type TimeoutsConfig struct {
	// BodyRead is how long a request body may take to arrive in full (default 30 s). Upload
	// routes (presigned PUTs of local storage) get it plus a second for every UploadMinRate
	// bytes received, so a large upload at a decent rate never runs out of time while one
	// that trickles is cut off as soon.
	BodyRead      time.Duration
	UploadMinRate int64 // bytes a second (default 64 KiB)
	// Write is how long a response may take to be written (default 2 min); blob downloads and
	// WebSockets (hijacked: they keep themselves alive with pings) have none.
	Write time.Duration
	// WebSocketPing is how often a WebSocket is pinged, and how long its pong may take
	// (default 30 s): a socket whose client stopped answering is closed.
	WebSocketPing time.Duration
}

func (c *TimeoutsConfig) defaults() {
	setDefault(&c.BodyRead, 30*time.Second)
	setDefault(&c.UploadMinRate, 64<<10)
	setDefault(&c.Write, 2*time.Minute)
	setDefault(&c.WebSocketPing, 30*time.Second)
}

// deadlines sets the read deadline of the request body and the write deadline of the response.
func (s *Server) deadlines(next http.Handler) http.Handler {
	t := s.cfg.Timeouts
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		blob := strings.HasPrefix(r.URL.Path, storage.BlobPath)
		if !blob {
			// Errors mean the connection cannot take deadlines (a test recorder): nothing to bound.
			_ = rc.SetWriteDeadline(time.Now().Add(t.Write))
		}
		if r.Body != nil && r.Body != http.NoBody {
			b := &deadlineBody{ReadCloser: r.Body, rc: rc, start: time.Now(), base: t.BodyRead}
			if blob {
				b.minRate = t.UploadMinRate
			}
			_ = rc.SetReadDeadline(b.deadline())
			r.Body = b
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody is a request body read under a deadline, which grows with the bytes received
// when minRate is set.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	start   time.Time
	base    time.Duration
	minRate int64 // bytes a second; 0: a fixed deadline
	read    int64
}

func (b *deadlineBody) deadline() time.Time {
	d := b.base
	if b.minRate > 0 {
		d += time.Duration(b.read / b.minRate * int64(time.Second))
	}
	return b.start.Add(d)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		// The body is in: the server's watch for the client going away reads on, which must
		// not end at our deadline (it would cancel the request's context).
		_ = b.rc.SetReadDeadline(time.Time{})
	case n > 0 && b.minRate > 0:
		_ = b.rc.SetReadDeadline(b.deadline())
	}
	return n, err
}
