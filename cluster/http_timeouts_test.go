package cluster

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// A caller of the farm's CA sending its request a byte at a time — its head, or the body of an
// upload — is cut off within the read timeouts instead of holding a goroutine and a connection
// of the coordinator for as long as it likes.
func TestSlowCallerIsCutOff(t *testing.T) {
	const timeout = time.Second
	ca := pkitest.New(t)
	m := ca.Material(pki.RoleServer, "c1")
	store, err := storage.NewLocal(t.TempDir(), storage.Options{PublicURL: "http://127.0.0.1:1", Secret: bytes.Repeat([]byte("k"), storage.MinSecretSize)})
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{fsm: scheduler.NewFSM(nil), cfg: Config{TLS: m, Store: store}}
	srv, err := serveWith("127.0.0.1:0", n.Handler(), m.ServerConfig(),
		httpTimeouts{readHeader: timeout, bodyRead: timeout, uploadMinRate: 1 << 20, idle: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.close(t.Context()) })
	client := ca.Material(pki.RoleClient, "ops").ClientConfig()
	for _, c := range []struct{ name, head string }{
		{"head", "GET /v1/jobs HTTP/1.1\r\nHost: coordinator\r\n"},
		{"upload body", "PUT /v1/uploads/slow HTTP/1.1\r\nHost: coordinator\r\nContent-Length: 1000\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			took := trickleTLS(t, srv.ln.Addr().String(), client, c.head, 10*timeout)
			if took > timeout+time.Second {
				t.Errorf("cut off after %v, want within the read timeout (%v)", took, timeout)
			}
		})
	}
}

// trickleTLS sends head to addr over TLS, then a byte a quarter second, and returns how long
// the server took to drop the connection (failing the test past giveUp).
func trickleTLS(t *testing.T, addr string, cfg *tls.Config, head string, giveUp time.Duration) time.Duration {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range 999 {
			time.Sleep(250 * time.Millisecond)
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	// A response may come first (an error for the unreadable body), then the close.
	if err := conn.SetReadDeadline(start.Add(giveUp)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, bufio.NewReader(conn))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the coordinator still held a trickling connection after %v", giveUp)
	}
	return time.Since(start)
}
