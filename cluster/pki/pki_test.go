package pki

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/internal/testkit"
)

// farm is a CA with one certificate of each role, plus a stranger's.
type farm struct {
	ca       string
	material map[string]*Material // by name
}

func newFarm(t *testing.T) *farm {
	t.Helper()
	dir := t.TempDir()
	f := &farm{ca: filepath.Join(dir, "ca"), material: map[string]*Material{}}
	if err := CreateCA(f.ca, 0); err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]Role{"coord-1": RoleServer, "agent-1": RoleAgent, "api": RoleClient} {
		f.material[name] = issue(t, f.ca, role, name)
	}
	other := filepath.Join(dir, "other-ca")
	if err := CreateCA(other, 0); err != nil {
		t.Fatal(err)
	}
	f.material["stranger"] = issue(t, other, RoleServer, "stranger")
	return f
}

func issue(t *testing.T, caDir string, role Role, name string) *Material {
	t.Helper()
	out := filepath.Join(filepath.Dir(caDir), string(role)+"-"+name)
	cert, key, err := CreateCert(caDir, CertRequest{Role: role, Name: name}, out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(Files{CA: filepath.Join(caDir, CAFile), Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Identity(); got != (Identity{Role: role, Name: name}) {
		t.Fatalf("identity %v, want %s %s", got, role, name)
	}
	return m
}

// serve starts an HTTPS server with server's material that admits the
// allowed roles and answers with the caller's identity.
func serve(t *testing.T, server *Material, allowed ...Role) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := PeerIdentity(*r.TLS)
		io.WriteString(w, id.String())
	}))
	srv.TLS = server.ServerConfig(allowed...)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func call(client *Material, url string) (string, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: client.ClientConfig()}}
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestMutualTLSByRole(t *testing.T) {
	f := newFarm(t)
	coord := f.material["coord-1"]
	any := serve(t, coord)
	serversOnly := serve(t, coord, RoleServer)
	for _, tc := range []struct {
		client, url string
		want        string // the identity the server saw; "" for a refused handshake
	}{
		{"agent-1", any, "agent agent-1"},
		{"api", any, "client api"},
		{"coord-1", serversOnly, "server coord-1"},
		{"agent-1", serversOnly, ""},
		{"api", serversOnly, ""},
		{"stranger", any, ""},
	} {
		got, err := call(f.material[tc.client], tc.url)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s reached %s: %q", tc.client, tc.url, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.client, got, err, tc.want)
		}
	}
}

// A caller accepts only a server certificate of its own CA: neither an
// agent's certificate nor a server certificate of another CA.
func TestClientVerifiesServer(t *testing.T) {
	f := newFarm(t)
	for _, impostor := range []string{"agent-1", "stranger"} {
		url := serve(t, f.material[impostor])
		if _, err := call(f.material["api"], url); err == nil {
			t.Errorf("client accepted %s as a coordinator", impostor)
		}
	}
	// No client certificate at all is refused by the server.
	url := serve(t, f.material["coord-1"])
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := hc.Get(url); err == nil {
		resp.Body.Close()
		t.Error("a caller without a certificate was served")
	}
}

func TestReloadKeepsIdentity(t *testing.T) {
	f := newFarm(t)
	agent := f.material["agent-1"]
	// Rotate: a new certificate for the same agent, written over the files.
	if _, _, err := CreateCert(f.ca, CertRequest{Role: RoleAgent, Name: "agent-1"}, filepath.Dir(agent.files.Cert)); err != nil {
		t.Fatal(err)
	}
	before, _ := agent.current()
	if err := agent.Reload(); err != nil {
		t.Fatal(err)
	}
	after, _ := agent.current()
	if before.Leaf.SerialNumber.Cmp(after.Leaf.SerialNumber) == 0 {
		t.Error("reload kept the old certificate")
	}
	if _, err := call(agent, serve(t, f.material["coord-1"])); err != nil {
		t.Errorf("rotated certificate refused: %v", err)
	}
	// A certificate for another node is not a rotation.
	other := f.material["api"]
	testkit.CopyFile(t, other.files.Cert, agent.files.Cert)
	testkit.CopyFile(t, other.files.Key, agent.files.Key)
	if err := agent.Reload(); err == nil || !strings.Contains(err.Error(), "keeps its identity") {
		t.Errorf("reload to another identity: %v", err)
	}
	if agent.Identity().Name != "agent-1" {
		t.Error("failed reload changed the identity")
	}
}

func TestCreateRefusals(t *testing.T) {
	dir := t.TempDir()
	if err := CreateCA(dir, 0); err != nil {
		t.Fatal(err)
	}
	if err := CreateCA(dir, 0); err == nil {
		t.Error("CreateCA overwrote a CA")
	}
	for _, req := range []CertRequest{{Role: "admin", Name: "x"}, {Role: RoleAgent, Name: "../x"}, {Role: RoleAgent}} {
		if _, _, err := CreateCert(dir, req, t.TempDir()); err == nil {
			t.Errorf("issued %+v", req)
		}
	}
	if _, err := Load(Files{CA: filepath.Join(dir, CAFile)}); err == nil {
		t.Error("Load without certificate and key succeeded")
	}
	msg := (&RoleError{Got: Identity{RoleAgent, "a"}, Allowed: []Role{RoleServer, RoleClient}}).Error()
	if msg != `agent certificate "a" may not do this; it needs a server or client certificate` {
		t.Errorf("role error reads %q", msg)
	}
	if key := NewGossipKey(); len(key) != 44 {
		t.Errorf("gossip key %q is not base64 of 32 bytes", key)
	}
}
