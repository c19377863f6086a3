package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/sunomi/sunomi/storage"
)

// storageSecretEnv holds the local backend's signing secret when neither
// --storage-secret nor --storage-secret-file is given.
const storageSecretEnv = "SUNOMI_STORAGE_SECRET"

// devSecretFile keeps the secret an insecure coordinator made itself, so
// that the URLs it signed stay valid across its restarts.
const devSecretFile = "storage-secret"

// storageSecretSource names where the secret may come from.
type storageSecretSource struct {
	value, file string
	// insecure allows running without one (--insecure-dev): the
	// coordinator then makes its own, in its data directory.
	insecure bool
	dataDir  string
}

// storageSecret resolves the HMAC key file:// storage signs its presigned
// URLs with. It belongs to the coordinators alone: agents get URLs, never
// the key, and it derives from no other credential an agent holds. Every
// coordinator serving the same directory needs the same one. S3 signs with
// its own credentials and needs none.
func storageSecret(storageURL string, src storageSecretSource, log *slog.Logger) ([]byte, error) {
	if !strings.HasPrefix(storageURL, "file:") {
		return nil, nil
	}
	if src.value != "" && src.file != "" {
		return nil, errors.New("give --storage-secret or --storage-secret-file, not both")
	}
	secret := src.value
	if src.file != "" {
		b, err := os.ReadFile(src.file)
		if err != nil {
			return nil, fmt.Errorf("read --storage-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		secret = os.Getenv(storageSecretEnv)
	}
	if secret == "" && src.insecure {
		log.Warn("no storage secret: this insecure coordinator signs storage URLs with a secret of its own, which other coordinators do not share",
			"file", filepath.Join(src.dataDir, devSecretFile))
		return ownSecret(filepath.Join(src.dataDir, devSecretFile))
	}
	if secret == "" {
		return nil, fmt.Errorf("file:// storage needs the secret its URLs are signed with: --storage-secret-file, --storage-secret or $%s (at least %d bytes, the same on every coordinator)",
			storageSecretEnv, storage.MinSecretSize)
	}
	if len(secret) < storage.MinSecretSize {
		return nil, fmt.Errorf("the storage secret must be at least %d bytes, got %d", storage.MinSecretSize, len(secret))
	}
	return []byte(secret), nil
}

// ownSecret reads the secret kept at path, making it on first use.
func ownSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= storage.MinSecretSize {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the storage secret: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b = []byte(hex.EncodeToString(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("save the storage secret: %w", err)
	}
	return b, nil
}
