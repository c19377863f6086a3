package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/internal/testkit"
)

// TestMain lets the tests start the real command in a process of its own
// (testkit.Command), and the agent re-execute it for its task processes.
func TestMain(m *testing.M) {
	testkit.RunAsCommand(main)
	os.Exit(m.Run())
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatal(err)
	}
	return ee.ExitCode()
}

func TestBadInvocationsExitWithOneLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"no data dir", []string{"--coordinator", "http://127.0.0.1:1"}, 1, "agent: --data-dir is required\n"},
		{"no coordinator", []string{"--data-dir", "d"}, 1, "agent: --join or --coordinator is required\n"},
		{"bad memory limit", []string{"--data-dir", "d", "--coordinator", "c", "--memory-limit", "lots"}, 1,
			"agent: --memory-limit: \"lots\" is not a size such as 4GiB, 512MiB or 0\n"},
		{"unknown encoder", []string{"--data-dir", "d", "--coordinator", "c", "--encoder", "h265"}, 1, ""},
		{"no TLS material", []string{"--data-dir", "d", "--coordinator", "c"}, 1, "agent: " + cluster.ErrNoCredentials.Error() + "\n"},
		{"gossip key twice", []string{"--data-dir", "d", "--coordinator", "c", "--gossip-key", "a", "--gossip-key-file", "f"}, 1, ""},
		{"run-task without flags", []string{"run-task"}, 2, "run-task: --spec, --out and --result are required\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, out := testkit.Command(t, nil, tt.args...)
			if code := exitStatus(t, cmd.Run()); code != tt.wantCode {
				t.Fatalf("exit status %d, want %d; output %q", code, tt.wantCode, out)
			}
			if tt.want != "" && out.String() != tt.want {
				t.Errorf("output %q, want %q", out, tt.want)
			}
			if lines := strings.Count(out.String(), "\n"); lines != 1 {
				t.Errorf("output %q has %d lines, want one", out, lines)
			}
		})
	}
}

// TestSIGTERMDrains starts the agent against a minimal coordinator and
// checks that SIGTERM makes it say it is draining and exit cleanly.
func TestSIGTERMDrains(t *testing.T) {
	var mu sync.Mutex
	var leases, draining int
	var caller pki.Identity
	ca := pkitest.New(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		caller, _ = pki.PeerIdentity(*r.TLS)
		mu.Unlock()
		switch r.URL.Path {
		case "/v1/agent/lease":
			var req wire.LeaseRequest
			_ = json.NewDecoder(r.Body).Decode(&req)
			mu.Lock()
			leases++
			mu.Unlock()
			select {
			case <-time.After(200 * time.Millisecond):
			case <-r.Context().Done():
			}
			_ = json.NewEncoder(w).Encode(wire.LeaseResponse{})
		case "/v1/agent/heartbeat":
			var hb wire.Heartbeat
			_ = json.NewDecoder(r.Body).Decode(&hb)
			if hb.Draining {
				mu.Lock()
				draining++
				mu.Unlock()
			}
			_ = json.NewEncoder(w).Encode(wire.HeartbeatResponse{})
		default:
			http.NotFound(w, r)
		}
	}))
	srv.TLS = ca.Material(pki.RoleServer, "c1").ServerConfig()
	srv.StartTLS()
	defer srv.Close()
	files := ca.Files(pki.RoleAgent, "a1")
	keyFile := filepath.Join(t.TempDir(), "gossip")
	if err := os.WriteFile(keyFile, []byte(pki.NewGossipKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The certificate files come from the environment, the key from a file.
	env := []string{"SUNOMI_TLS_CA=" + files.CA, "SUNOMI_TLS_CERT=" + files.Cert, "SUNOMI_TLS_KEY=" + files.Key}
	cmd, out := testkit.Command(t, env, "--node-id", "a1", "--data-dir", t.TempDir(), "--coordinator", srv.URL,
		"--gossip-key-file", keyFile, "--join", "127.0.0.1:7946", "--gossip-addr", testkit.FreeAddr(t, "127.0.0.1"),
		"--memory-limit", "2GiB", "--log-level", "debug")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	leased := testkit.Poll(20*time.Second, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return leases > 0, nil
	})
	if leased != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no lease: %v; output:\n%s", leased, out)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitStatus(t, err); code != 0 {
			t.Errorf("exit status %d after SIGTERM, want 0; output:\n%s", code, out)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("agent still running 20s after SIGTERM; output:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if draining == 0 {
		t.Errorf("no draining heartbeat; output:\n%s", out)
	}
	if caller != (pki.Identity{Role: pki.RoleAgent, Name: "a1"}) {
		t.Errorf("caller %v, want the agent certificate a1 from $SUNOMI_TLS_*", caller)
	}
}
