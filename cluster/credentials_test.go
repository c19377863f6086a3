package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(" from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SUNOMI_TOKEN", "from-env")
	t.Setenv("SUNOMI_GOSSIP_KEY", "")
	key32 := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	tests := []struct {
		name      string
		src       CredentialSources
		wantToken string
		wantKey   int
		ok        bool
	}{
		{"flag", CredentialSources{Token: "from-flag"}, "from-flag", 0, true},
		{"file", CredentialSources{TokenFile: file}, "from-file", 0, true},
		{"environment", CredentialSources{}, "from-env", 0, true},
		{"flag and file", CredentialSources{Token: "x", TokenFile: file}, "", 0, false},
		{"missing file", CredentialSources{TokenFile: file + ".nope"}, "", 0, false},
		{"empty file", CredentialSources{TokenFile: empty}, "", 0, false},
		{"gossip key", CredentialSources{Token: "t", GossipKey: key32}, "t", 32, true},
		{"gossip key not base64", CredentialSources{Token: "t", GossipKey: "%%%"}, "", 0, false},
		{"gossip key too short", CredentialSources{Token: "t", GossipKey: "c2hvcnQ="}, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadCredentials(tt.src)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if got.Token != tt.wantToken || len(got.GossipKey) != tt.wantKey {
				t.Errorf("got token %q and a %d-byte key, want %q and %d bytes", got.Token, len(got.GossipKey), tt.wantToken, tt.wantKey)
			}
		})
	}
}
