package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/pkitest"
)

func TestReadCredentials(t *testing.T) {
	dir := t.TempDir()
	key32 := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	keyFile := filepath.Join(dir, "gossip")
	if err := os.WriteFile(keyFile, []byte(" "+key32+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SUNOMI_GOSSIP_KEY", "")
	files := pkitest.New(t).Files(pki.RoleServer, "c1")
	tests := []struct {
		name    string
		env     string
		src     CredentialSources
		wantTLS bool
		wantKey int
		wantErr error // nil: any error when !ok
		ok      bool
	}{
		{"TLS and key", "", CredentialSources{TLS: files, GossipKey: key32}, true, 32, nil, true},
		{"key from file", "", CredentialSources{TLS: files, GossipKeyFile: keyFile}, true, 32, nil, true},
		{"key from environment", key32, CredentialSources{TLS: files}, true, 32, nil, true},
		{"nothing", "", CredentialSources{}, false, 0, ErrNoCredentials, false},
		{"no gossip key", "", CredentialSources{TLS: files}, false, 0, ErrNoCredentials, false},
		{"no TLS", "", CredentialSources{GossipKey: key32}, false, 0, ErrNoCredentials, false},
		{"insecure dev", "", CredentialSources{InsecureDev: true}, false, 0, nil, true},
		{"insecure dev uses what is given", "", CredentialSources{InsecureDev: true, GossipKey: key32}, false, 32, nil, true},
		{"partial TLS", "", CredentialSources{TLS: pki.Files{CA: files.CA}, GossipKey: key32}, false, 0, nil, false},
		{"key twice", "", CredentialSources{TLS: files, GossipKey: key32, GossipKeyFile: keyFile}, false, 0, nil, false},
		{"missing key file", "", CredentialSources{TLS: files, GossipKeyFile: keyFile + ".nope"}, false, 0, nil, false},
		{"empty key file", "", CredentialSources{TLS: files, GossipKeyFile: empty}, false, 0, nil, false},
		{"gossip key not base64", "", CredentialSources{TLS: files, GossipKey: "%%%"}, false, 0, nil, false},
		{"gossip key too short", "", CredentialSources{TLS: files, GossipKey: "c2hvcnQ="}, false, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SUNOMI_GOSSIP_KEY", tt.env)
			got, err := ReadCredentials(tt.src)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !tt.ok {
				return
			}
			if (got.TLS != nil) != tt.wantTLS || len(got.GossipKey) != tt.wantKey {
				t.Errorf("got TLS %v and a %d-byte key, want TLS %v and %d bytes", got.TLS != nil, len(got.GossipKey), tt.wantTLS, tt.wantKey)
			}
			if tt.wantTLS && got.TLS.Identity() != (pki.Identity{Role: pki.RoleServer, Name: "c1"}) {
				t.Errorf("identity %v, want server c1", got.TLS.Identity())
			}
		})
	}
}
