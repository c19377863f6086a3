package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/sunomi/sunomi/cluster/pki"
)

// certOf issues a certificate of role for name and returns it parsed.
func certOf(t *testing.T, ca string, role pki.Role, name string) *x509.Certificate {
	t.Helper()
	certFile, keyFile, err := pki.CreateCert(ca, pki.CertRequest{Role: role, Name: name}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf
}

// serverMaterial makes a CA and loads a server certificate of it for name.
func serverMaterial(t *testing.T, name string) (caDir string, m *pki.Material) {
	t.Helper()
	caDir = filepath.Join(t.TempDir(), "ca")
	if err := pki.CreateCA(caDir, 0); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := pki.CreateCert(caDir, pki.CertRequest{Role: pki.RoleServer, Name: name}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if m, err = pki.Load(pki.Files{CA: filepath.Join(caDir, pki.CAFile), Cert: certFile, Key: keyFile}); err != nil {
		t.Fatal(err)
	}
	return caDir, m
}

// The caller's identity comes from its certificate; forwarded identity
// headers count only from a server certificate.
func TestCallerIdentity(t *testing.T) {
	ca, m := serverMaterial(t, "c1")
	n := &Node{cfg: Config{TLS: m}}
	request := func(peer *x509.Certificate, role, name string) *http.Request {
		r := httptest.NewRequest("POST", "/v1/agent/complete", nil)
		r.TLS = nil
		if peer != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{peer}}
		}
		if role != "" {
			r.Header.Set(callerRoleHeader, role)
			r.Header.Set(callerNameHeader, name)
		}
		return r
	}
	agent := certOf(t, ca, pki.RoleAgent, "a1")
	server := certOf(t, ca, pki.RoleServer, "c2")
	for _, tc := range []struct {
		name string
		r    *http.Request
		want pki.Identity
		err  bool
	}{
		{"agent", request(agent, "", ""), pki.Identity{Role: pki.RoleAgent, Name: "a1"}, false},
		{"agent claiming to be forwarded as a server", request(agent, "server", "c9"), pki.Identity{Role: pki.RoleAgent, Name: "a1"}, false},
		{"server forwarding an agent", request(server, "agent", "a7"), pki.Identity{Role: pki.RoleAgent, Name: "a7"}, false},
		{"server forwarding an unknown role", request(server, "root", "x"), pki.Identity{}, true},
		{"plain HTTP", request(nil, "", ""), pki.Identity{}, true},
	} {
		got, err := n.callerIdentity(tc.r)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
	// Insecure mode trusts everyone as a server.
	if id, err := (&Node{}).callerIdentity(request(nil, "", "")); err != nil || id.Role != pki.RoleServer {
		t.Errorf("insecure mode: %v, %v", id, err)
	}
}

func TestActingAgent(t *testing.T) {
	as := func(id pki.Identity) context.Context { return context.WithValue(context.Background(), callerKey{}, id) }
	if err := actingAgent(as(pki.Identity{Role: pki.RoleAgent, Name: "a1"}), "a1"); err != nil {
		t.Errorf("agent acting as itself: %v", err)
	}
	if err := actingAgent(as(pki.Identity{Role: pki.RoleAgent, Name: "a1"}), "a2"); err == nil {
		t.Error("agent a1 may act as a2")
	}
	if err := actingAgent(as(pki.Identity{Role: pki.RoleServer, Name: "c1"}), "a2"); err != nil {
		t.Errorf("server acting for an agent: %v", err)
	}
}
