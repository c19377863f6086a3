package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/storage"
)

// slowBody opens a raw connection to e, sends the head of a request to path whose body is to
// be 1000 bytes, then sends them a byte a second, and returns how long the server took to
// drop the connection (failing the test past giveUp).
func slowBody(t *testing.T, e *env, method, path string, giveUp time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := method + " " + path + " HTTP/1.1\r\nHost: sunomi.test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
	return testkit.Trickle(t, conn, head, time.Second, giveUp)
}

// A client sending its body a byte a second is cut off within the body read timeout, on API
// routes and on upload routes alike: it holds no goroutine for longer.
func TestSlowBodyIsCutOff(t *testing.T) {
	const readTimeout = 2 * time.Second
	e := newEnv(t, withConfig(func(c *Config) {
		c.Timeouts.BodyRead = readTimeout
	}))
	for _, c := range []struct{ name, method, path string }{
		{"API", "POST", "/api/v1/auth/login"},
		{"upload", "PUT", storage.BlobPath + "videos/x/source/original?expires=9999999999&sig=00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			took := slowBody(t, e, c.method, c.path, 5*readTimeout)
			if took > readTimeout+time.Second {
				t.Errorf("cut off after %v, want within the read timeout (%v)", took, readTimeout)
			}
		})
	}
}

// A WebSocket whose client stopped answering pings (gone without a FIN, or hostile) is closed
// within a ping interval and a pong deadline, instead of being held for the whole transcode.
func TestWebSocketWithoutPongsIsClosed(t *testing.T) {
	const interval = 300 * time.Millisecond
	e := newEnv(t, withConfig(func(c *Config) { c.Timeouts.WebSocketPing = interval }))
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Followed")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s := countsSocket(t, ctx, e.URL, id, "")
	// Not reading: this client answers no ping.
	time.Sleep(3 * interval)
	readCtx, cancelRead := context.WithTimeout(ctx, 5*interval)
	defer cancelRead()
	for {
		if _, _, err := s.conn.Read(readCtx); err != nil {
			if readCtx.Err() != nil {
				t.Fatal("the server still holds a socket that answered no ping")
			}
			return
		}
	}
}

// pacedReader yields chunk bytes every interval.
type pacedReader struct {
	left     int
	chunk    int
	interval time.Duration
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	time.Sleep(p.interval)
	n := min(len(b), p.chunk, p.left)
	for i := range n {
		b[i] = 'x'
	}
	p.left -= n
	return n, nil
}

// An upload that keeps a decent rate goes on past the body read timeout: upload routes get a
// second more for every UploadMinRate bytes received.
func TestUploadAtADecentRateOutlivesTheReadTimeout(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Timeouts.BodyRead = time.Second
		c.Timeouts.UploadMinRate = 1 << 10
	}))
	owner := e.user("owner")
	const size = 6 << 10
	var up oapi.AvatarUpload
	e.must(http.StatusOK, "POST", "/api/v1/me/avatar", owner.Token, map[string]any{"contentType": "image/png", "size": size}).decode(t, &up)
	// 6 KiB at 2 KiB a second: 3 s, three times the read timeout.
	req, err := http.NewRequest(http.MethodPut, up.Url, &pacedReader{left: size, chunk: 512, interval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "image/png")
	start := time.Now()
	resp, msg := roundTrip(t, http.DefaultClient, req, "")
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT after %v: status %d: %s", time.Since(start), resp.StatusCode, msg)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("the upload took %v; the test means it to outlast the read timeout", took)
	}
}
