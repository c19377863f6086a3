package cluster

import (
	"bytes"
	"crypto/tls"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/internal/testkit"
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
			conn, err := tls.Dial("tcp", srv.ln.Addr().String(), client)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			took := testkit.Trickle(t, conn, c.head, 250*time.Millisecond, 10*timeout)
			if took > timeout+time.Second {
				t.Errorf("cut off after %v, want within the read timeout (%v)", took, timeout)
			}
		})
	}
}
