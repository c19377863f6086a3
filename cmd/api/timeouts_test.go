package main

import (
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/internal/testkit"
)

// The timeout flags reach the server: with --read-header-timeout and --body-read-timeout at
// a second (defaults 10 s and 30 s), a client trickling its request head or its body a byte
// at a time is cut off within about a second.
func TestTimeoutFlagsCutSlowClients(t *testing.T) {
	const timeout = time.Second
	addr := testkit.FreeAddr(t, "127.0.0.1")
	env := append(without("DATABASE_URL"), "DATABASE_URL="+pgtest.NewDatabase(t),
		"SUNOMI_STORAGE=file://"+filepath.Join(t.TempDir(), "blobs"), "SUNOMI_BODY_READ_TIMEOUT=1s")
	cmd, out := testkit.Command(t, env, "--http", addr, "--read-header-timeout", "1s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
	})
	if err := testkit.Poll(30*time.Second, func() (bool, error) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return true, nil
	}); err != nil {
		t.Fatalf("api not serving at %s: %v", addr, err)
	}
	for _, c := range []struct{ name, head string }{
		{"head", "POST /api/v1/auth/login HTTP/1.1\r\nHost: sunomi.test\r\n"},
		{"body", "POST /api/v1/auth/login HTTP/1.1\r\nHost: sunomi.test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			took := testkit.Trickle(t, conn, c.head, 250*time.Millisecond, 10*timeout)
			if took > timeout+time.Second {
				t.Errorf("cut off after %v, want within the flag's %v", took, timeout)
			}
		})
	}
}
