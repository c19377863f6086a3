// Package bodydeadline bounds, per request, how long a request body may take to arrive, so
// that a client sending its body a byte at a time cannot hold a goroutine and a connection
// forever. It is per request (http.ResponseController) rather than the http.Server's
// ReadTimeout, which would apply to every route alike: uploads need longer than JSON, and
// streamed responses must not be cut. The api service and the coordinator share it.
package bodydeadline

import (
	"io"
	"net/http"
	"time"
)

// Limit gives r's body base from now to arrive in full, plus a second for every minRate bytes
// received when minRate > 0 (upload routes: a large body at a decent rate never runs out of
// time, while one that trickles is cut off as soon). It replaces r.Body. A request without a
// body is left alone, so a long-lived response (an event stream) is never cut.
func Limit(w http.ResponseWriter, r *http.Request, base time.Duration, minRate int64) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	b := &body{ReadCloser: r.Body, rc: rc, start: time.Now(), base: base, minRate: minRate}
	// An error means the connection cannot take deadlines (a test recorder): nothing to bound.
	_ = rc.SetReadDeadline(b.deadline())
	r.Body = b
}

// body is a request body read under a deadline, which grows with the bytes received when
// minRate is set.
type body struct {
	io.ReadCloser
	rc      *http.ResponseController
	start   time.Time
	base    time.Duration
	minRate int64 // bytes a second; 0: a fixed deadline
	read    int64
}

func (b *body) deadline() time.Time {
	d := b.base
	if b.minRate > 0 {
		d += time.Duration(b.read / b.minRate * int64(time.Second))
	}
	return b.start.Add(d)
}

func (b *body) Read(p []byte) (int, error) {
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
