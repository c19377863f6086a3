package cluster

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sunomi/sunomi/cluster/pki"
)

// Credentials are what coordinators and agents prove themselves with: the
// node's TLS material (its role-bearing certificate and the farm's CA) and
// the memberlist encryption key.
type Credentials struct {
	// TLS is nil only under --insecure-dev.
	TLS       *pki.Material
	GossipKey []byte
}

// CredentialSources name where each credential may come from: the TLS files
// and the gossip key as a value, a file, or else $SUNOMI_GOSSIP_KEY.
type CredentialSources struct {
	TLS                      pki.Files
	GossipKey, GossipKeyFile string
	// InsecureDev lets a node run without TLS material or gossip key.
	InsecureDev bool
}

// ErrNoCredentials is the one-line refusal of a coordinator or agent started
// without its TLS material and gossip key.
var ErrNoCredentials = errors.New("TLS material and a gossip key are required: pass --tls-ca, --tls-cert, --tls-key and --gossip-key " +
	"(or SUNOMI_TLS_CA, SUNOMI_TLS_CERT, SUNOMI_TLS_KEY, SUNOMI_GOSSIP_KEY; see `sunomi tls` and `sunomi gossip keygen`), " +
	"or --insecure-dev for a throwaway farm nobody else can reach")

// ReadCredentials loads what a coordinator or agent needs to join the farm.
// Both the TLS files and the gossip key are required unless InsecureDev;
// what is given is used even then.
func ReadCredentials(src CredentialSources) (Credentials, error) {
	var c Credentials
	var err error
	if c.GossipKey, err = ReadGossipKey(src.GossipKey, src.GossipKeyFile); err != nil {
		return c, err
	}
	if !src.InsecureDev && (!src.TLS.Given() || c.GossipKey == nil) {
		return c, ErrNoCredentials
	}
	if src.TLS.Given() {
		if c.TLS, err = pki.Load(src.TLS); err != nil {
			return c, err
		}
	}
	return c, nil
}

// ReadGossipKey resolves the gossip key from its flag, file or
// $SUNOMI_GOSSIP_KEY: base64 of 16, 24 or 32 bytes; nil when none is given.
func ReadGossipKey(value, file string) ([]byte, error) {
	key, err := secret(value, file, "SUNOMI_GOSSIP_KEY")
	if err != nil || key == "" {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("gossip key is not base64: %w", err)
	}
	if l := len(b); l != 16 && l != 24 && l != 32 {
		return nil, fmt.Errorf("gossip key is %d bytes, want 16, 24 or 32", l)
	}
	return b, nil
}

// LoadTLS loads the TLS material of a caller of the farm (the API, the
// operator commands), which is optional: nil when no file is named, to talk
// to a farm run with --insecure-dev.
func LoadTLS(files pki.Files) (*pki.Material, error) {
	if !files.Given() {
		return nil, nil
	}
	return pki.Load(files)
}

// secret reads a value from its flag, else its file, else the environment.
func secret(value, file, env string) (string, error) {
	if value != "" && file != "" {
		return "", fmt.Errorf("give the secret as a value or in a file, not both (%s)", file)
	}
	if value != "" {
		return value, nil
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", file, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("%s is empty", file)
		}
		return s, nil
	}
	return os.Getenv(env), nil
}
