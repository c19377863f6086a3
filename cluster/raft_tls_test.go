package cluster

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/internal/testkit"
)

func listenRaftTLS(t *testing.T, m *pki.Material) *tlsStreamLayer {
	t.Helper()
	addr := testkit.FreeAddr(t, "127.0.0.1")
	tcp, _ := net.ResolveTCPAddr("tcp", addr)
	s, err := newTLSStreamLayer(addr, tcp, m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// refused reports whether the layer closes a connection made with cfg
// before Raft sees it: writing and reading gets the layer's TLS alert (or a
// failed handshake), not the silence of Raft waiting for an RPC.
func refused(t *testing.T, s *tlsStreamLayer, cfg *tls.Config) bool {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", s.Addr().String(), cfg)
	if err != nil {
		return true
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write([]byte{0})
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		select {
		case c := <-s.accepted:
			c.Close()
			return false
		case <-time.After(time.Second):
			return true
		}
	}
	return err != nil
}

func TestRaftStreamLayerAcceptsOnlyServers(t *testing.T) {
	ca := pkitest.New(t)
	leader := listenRaftTLS(t, ca.Material(pki.RoleServer, "c1"))
	other := pkitest.New(t)
	x1 := other.Files(pki.RoleServer, "x1")
	foreign, err := tls.LoadX509KeyPair(x1.Cert, x1.Key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  *tls.Config
		want bool // refused
	}{
		{"server of the farm", ca.Material(pki.RoleServer, "c2").ClientConfig(), false},
		{"agent of the farm", ca.Material(pki.RoleAgent, "a1").ClientConfig(), true},
		{"client of the farm", ca.Material(pki.RoleClient, "ops").ClientConfig(), true},
		{"server of another CA", &tls.Config{Certificates: []tls.Certificate{foreign}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}, true},
		{"no certificate", &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refused(t, leader, tt.cfg); got != tt.want {
				t.Errorf("refused = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRaftStreamLayerDialsOnlyServers(t *testing.T) {
	ca := pkitest.New(t)
	dialer := listenRaftTLS(t, ca.Material(pki.RoleServer, "c1"))
	server := listenRaftTLS(t, ca.Material(pki.RoleServer, "c2"))
	conn, err := dialer.Dial(raftAddress(server), time.Second)
	if err != nil {
		t.Fatalf("dial a server: %v", err)
	}
	conn.Close()
	// A listener holding an agent certificate of the same CA is no Raft peer.
	impostor := listenRaftTLS(t, ca.Material(pki.RoleAgent, "a1"))
	if conn, err := dialer.Dial(raftAddress(impostor), time.Second); err == nil {
		conn.Close()
		t.Fatal("dialed a peer presenting an agent certificate")
	}
}

func raftAddress(s *tlsStreamLayer) raft.ServerAddress { return raft.ServerAddress(s.Addr().String()) }
