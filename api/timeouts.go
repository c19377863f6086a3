package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/sunomi/sunomi/internal/bodydeadline"
	"github.com/sunomi/sunomi/storage"
)

// TimeoutsConfig bounds how long a client may hold a request, so that a client sending its
// body a byte at a time, or reading its response as slowly, cannot hold a goroutine and a
// connection forever. They are set per request (http.ResponseController) rather than on the
// http.Server, whose ReadTimeout and WriteTimeout would apply to every route alike: uploads
// need longer than JSON, and WebSockets live for a whole transcode.
type TimeoutsConfig struct {
	// ReadHeader is how long a request's head may take to arrive (default 10 s), and Idle how
	// long a keep-alive connection may wait for its next request (default 2 min); the HTTP
	// server applies both to every connection.
	ReadHeader time.Duration
	Idle       time.Duration
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
	setDefault(&c.ReadHeader, 10*time.Second)
	setDefault(&c.Idle, 2*time.Minute)
	setDefault(&c.BodyRead, 30*time.Second)
	setDefault(&c.UploadMinRate, 64<<10)
	setDefault(&c.Write, 2*time.Minute)
	setDefault(&c.WebSocketPing, 30*time.Second)
}

// deadlines sets the read deadline of the request body and the write deadline of the response.
func (s *Server) deadlines(next http.Handler) http.Handler {
	t := s.cfg.Timeouts
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blob := strings.HasPrefix(r.URL.Path, storage.BlobPath)
		if !blob {
			// An error means the connection cannot take deadlines (a test recorder): nothing to bound.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(t.Write))
		}
		var minRate int64
		if blob {
			minRate = t.UploadMinRate
		}
		bodydeadline.Limit(w, r, t.BodyRead, minRate)
		next.ServeHTTP(w, r)
	})
}

// Timeouts are the service's timeouts, defaults filled in: the HTTP server that serves it
// takes ReadHeader and Idle from them.
func (s *Server) Timeouts() TimeoutsConfig { return s.cfg.Timeouts }
