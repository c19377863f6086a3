package cluster

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// Credentials are what coordinators and agents share to trust each other:
// the cluster token on the HTTP API and the memberlist encryption key.
type Credentials struct {
	Token     string
	GossipKey []byte
}

// CredentialSources name where each credential may come from: a flag value,
// a file, or else the environment ($SUNOMI_TOKEN, $SUNOMI_GOSSIP_KEY).
type CredentialSources struct {
	Token, TokenFile         string
	GossipKey, GossipKeyFile string
}

// ReadCredentials resolves the credentials; the gossip key is base64 of 16,
// 24 or 32 bytes.
func ReadCredentials(src CredentialSources) (Credentials, error) {
	var c Credentials
	var err error
	if c.Token, err = secret(src.Token, src.TokenFile, "SUNOMI_TOKEN"); err != nil {
		return c, err
	}
	key, err := secret(src.GossipKey, src.GossipKeyFile, "SUNOMI_GOSSIP_KEY")
	if err != nil || key == "" {
		return c, err
	}
	if c.GossipKey, err = base64.StdEncoding.DecodeString(key); err != nil {
		return c, fmt.Errorf("gossip key is not base64: %w", err)
	}
	if l := len(c.GossipKey); l != 16 && l != 24 && l != 32 {
		return c, fmt.Errorf("gossip key is %d bytes, want 16, 24 or 32", l)
	}
	return c, nil
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
