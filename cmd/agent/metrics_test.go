package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/testkit"
)

// TestMetricsAddrServesMetrics starts the agent with --metrics-addr and
// scrapes it while it waits for work.
func TestMetricsAddrServesMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/agent/lease":
			select {
			case <-time.After(200 * time.Millisecond):
			case <-r.Context().Done():
			}
			_ = json.NewEncoder(w).Encode(wire.LeaseResponse{})
		case "/v1/agent/heartbeat":
			_ = json.NewEncoder(w).Encode(wire.HeartbeatResponse{})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := testkit.FreeAddr(t, "127.0.0.1")
	cmd, out := testkit.Command(t, nil, "--node-id", "a1", "--data-dir", t.TempDir(), "--coordinator", srv.URL,
		"--slots", "3", "--encoder", "libx264", "--metrics-addr", addr, "--insecure-dev")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	var body string
	err := testkit.Poll(20*time.Second, func() (bool, error) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("no metrics at %s: %v; output:\n%s", addr, err, out)
	}
	for _, want := range []string{"\nsunomi_agent_slots 3\n", "\nsunomi_agent_slots_busy 0\n", "\ngo_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", strings.TrimSpace(want), body)
		}
	}
}

func TestMetricsAddrMustListen(t *testing.T) {
	cmd, out := testkit.Command(t, nil, "--data-dir", t.TempDir(), "--coordinator", "http://127.0.0.1:1", "--encoder", "libx264",
		"--metrics-addr", "not-an-address", "--insecure-dev")
	if code := exitStatus(t, cmd.Run()); code != 1 || !strings.Contains(out.String(), "--metrics-addr") {
		t.Errorf("exit status %d, output %q; want 1 and a word about --metrics-addr", code, out)
	}
}
