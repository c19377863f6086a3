package main

import (
	"bufio"
	"io"
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
			took := trickle(t, addr, c.head, 10*timeout)
			if took > timeout+time.Second {
				t.Errorf("cut off after %v, want within the flag's %v", took, timeout)
			}
		})
	}
}

// trickle sends head to addr, then a space a quarter second, and returns how long the server
// took to drop the connection (failing the test past giveUp).
func trickle(t *testing.T, addr, head string, giveUp time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
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
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	// A response may come first (400: the body could not be read), then the close.
	if err := conn.SetReadDeadline(start.Add(giveUp)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, bufio.NewReader(conn))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held a trickling connection after %v", giveUp)
	}
	return time.Since(start)
}
