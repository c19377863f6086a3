package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/pkitest"
)

// tlsServer serves HTTPS with m's certificate, requiring a client
// certificate of m's CA, and counts the requests that reach the handler.
func tlsServer(t *testing.T, m *pki.Material) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusOK, wire.LeaseResponse{})
	}))
	srv.TLS = m.ServerConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestAgentsCallOnlyServersOfTheirCA: an agent sends its calls only to a
// coordinator presenting a server certificate of its own CA — not to a
// holder of an agent or client certificate of the farm (learned from gossip,
// say), nor to a server of another farm.
func TestAgentsCallOnlyServersOfTheirCA(t *testing.T) {
	ca, other := pkitest.New(t), pkitest.New(t)
	agent := ca.Material(pki.RoleAgent, "a1")
	tests := []struct {
		name      string
		presents  *pki.Material
		wantCalls int32
	}{
		{"server of the farm", ca.Material(pki.RoleServer, "c1"), 1},
		{"agent of the farm", ca.Material(pki.RoleAgent, "a2"), 0},
		{"client of the farm", ca.Material(pki.RoleClient, "api"), 0},
		{"server of another farm", other.Material(pki.RoleServer, "c1"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := tlsServer(t, tt.presents)
			_, err := client.New([]string{srv.URL}, agent, nil).Lease(context.Background(), wire.LeaseRequest{}, time.Second)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls reached the coordinator, want %d (err %v)", got, tt.wantCalls, err)
			}
			if (err == nil) != (tt.wantCalls == 1) {
				t.Errorf("err = %v, want an error exactly when the coordinator is refused", err)
			}
		})
	}
}

// TestClientWithTLSSpeaksOnlyHTTPS: an http:// URL (a flag, or gossip
// written by a member that holds the key) must not make a client with TLS
// material talk in clear.
func TestClientWithTLSSpeaksOnlyHTTPS(t *testing.T) {
	ca := pkitest.New(t)
	srv, calls := tlsServer(t, ca.Material(pki.RoleServer, "c1"))
	hostPort := strings.TrimPrefix(srv.URL, "https://")
	c := client.New([]string{"http://" + hostPort}, ca.Material(pki.RoleAgent, "a1"), nil)
	if got := c.URLs(); len(got) != 1 || got[0] != srv.URL {
		t.Errorf("URLs = %v, want [%s]", got, srv.URL)
	}
	c.SetURLs([]string{hostPort})
	if _, err := c.Lease(context.Background(), wire.LeaseRequest{}, time.Second); err != nil || calls.Load() != 1 {
		t.Errorf("lease over the upgraded URL: err %v, %d calls", err, calls.Load())
	}
}

// TestTransferTLSConfig: an agent's transfers reach a coordinator serving
// local storage with the farm's server certificate, and refuse a server
// whose certificate neither the farm's CA nor the system's roots vouch for.
func TestTransferTLSConfig(t *testing.T) {
	ca := pkitest.New(t)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client.TransferTLSConfig(ca.Material(pki.RoleAgent, "a1"))}}
	farm, _ := tlsServer(t, ca.Material(pki.RoleServer, "c1"))
	resp, err := hc.Get(farm.URL + "/v1/blobs/x")
	if err != nil {
		t.Fatalf("GET from the farm's coordinator: %v", err)
	}
	resp.Body.Close()
	stranger := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(stranger.Close)
	if resp, err := hc.Get(stranger.URL + "/x"); err == nil {
		resp.Body.Close()
		t.Fatal("GET from a server with an unknown certificate succeeded")
	}
}
