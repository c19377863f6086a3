package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cmd, out := command(t, "--node-id", "a1", "--data-dir", t.TempDir(), "--coordinator", srv.URL,
		"--slots", "3", "--encoder", "libx264", "--metrics-addr", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics at %s within 20s: %v; output:\n%s", addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"\nsunomi_agent_slots 3\n", "\nsunomi_agent_slots_busy 0\n", "\ngo_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", strings.TrimSpace(want), body)
		}
	}
}

func TestMetricsAddrMustListen(t *testing.T) {
	cmd, out := command(t, "--data-dir", t.TempDir(), "--coordinator", "http://127.0.0.1:1", "--encoder", "libx264",
		"--metrics-addr", "not-an-address")
	if code := exitStatus(t, cmd.Run()); code != 1 || !strings.Contains(out.String(), "--metrics-addr") {
		t.Errorf("exit status %d, output %q; want 1 and a word about --metrics-addr", code, out)
	}
}
