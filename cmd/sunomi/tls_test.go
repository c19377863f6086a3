package main

import (
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/pkitest"
)

// TestTLSCommands makes a CA and a certificate of each role as an operator
// does, and checks what the files say: the role and name the coordinator
// authorizes on, the extra names, and a key readable by its owner only.
func TestTLSCommands(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	if out, err := runCLI(t, "tls", "ca", "create", "-o", ca); err != nil || !strings.Contains(out, "ca.pem") {
		t.Fatalf("tls ca create: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "tls", "ca", "create", "-o", ca); err == nil {
		t.Error("a second tls ca create overwrote the CA")
	}
	for _, role := range pki.Roles {
		t.Run(string(role), func(t *testing.T) {
			name := "node-" + string(role)
			out := filepath.Join(dir, name)
			if o, err := runCLI(t, "tls", "cert", "create", "--ca", ca, "--role", string(role), "--name", name,
				"--dns", "coord.example.internal", "--ip", "10.0.0.7", "--days", "30", "-o", out); err != nil {
				t.Fatalf("tls cert create: %v\n%s", err, o)
			}
			m, err := pki.Load(pki.Files{CA: filepath.Join(ca, pki.CAFile), Cert: filepath.Join(out, name+".pem"), Key: filepath.Join(out, name+"-key.pem")})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Identity(); got != (pki.Identity{Role: role, Name: name}) {
				t.Errorf("identity %v, want %s %s", got, role, name)
			}
			cert := pkitest.ReadCert(t, filepath.Join(out, name+".pem"))
			if !slices.Contains(cert.DNSNames, "coord.example.internal") || !slices.ContainsFunc(cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("10.0.0.7")) }) {
				t.Errorf("SANs %v %v, want the --dns and --ip given", cert.DNSNames, cert.IPAddresses)
			}
			if days := cert.NotAfter.Sub(cert.NotBefore).Hours() / 24; days < 29 || days > 31 {
				t.Errorf("valid for %.1f days, want 30", days)
			}
			if fi, err := os.Stat(filepath.Join(out, name+"-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
			}
		})
	}
	for _, bad := range [][]string{
		{"--role", "admin", "--name", "x"},
		{"--role", "agent", "--name", "../x"},
		{"--role", "agent", "--name", "x", "--ip", "not-an-ip"},
		{"--name", "x"},
	} {
		if _, err := runCLI(t, append([]string{"tls", "cert", "create", "--ca", ca, "-o", dir}, bad...)...); err == nil {
			t.Errorf("tls cert create %v succeeded", bad)
		}
	}
}

func TestGossipKeygen(t *testing.T) {
	out, err := runCLI(t, "gossip", "keygen")
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil || len(key) != 32 {
		t.Errorf("gossip keygen printed %q: %d bytes (%v), want 32 bytes of base64", out, len(key), err)
	}
}
