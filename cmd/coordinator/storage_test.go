package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStorageSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const local = "file:///var/lib/sunomi/blobs"
	for _, tt := range []struct {
		name, url, env string
		src            storageSecretSource
		want, wantErr  string
	}{
		{name: "flag", url: local, src: storageSecretSource{value: "from-the-flag-0123"}, want: "from-the-flag-0123"},
		{name: "file", url: local, src: storageSecretSource{file: file}, want: "from-a-file-0123456789"},
		{name: "environment", url: local, env: "from-the-env-01234", want: "from-the-env-01234"},
		{name: "flag over environment", url: local, env: "from-the-env-01234", src: storageSecretSource{value: "from-the-flag-0123"}, want: "from-the-flag-0123"},
		{name: "none", url: local, wantErr: "--storage-secret-file"},
		{name: "both", url: local, src: storageSecretSource{value: "from-the-flag-0123", file: file}, wantErr: "not both"},
		{name: "too short", url: local, src: storageSecretSource{value: "short"}, wantErr: "at least 16 bytes"},
		{name: "missing file", url: local, src: storageSecretSource{file: filepath.Join(dir, "nope")}, wantErr: "read --storage-secret-file"},
		{name: "s3 needs none", url: "s3://videos?endpoint=minio:9000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(storageSecretEnv, tt.env)
			got, err := storageSecret(tt.url, tt.src, slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// An insecure coordinator without a secret makes its own and keeps it.
func TestStorageSecretInsecure(t *testing.T) {
	t.Setenv(storageSecretEnv, "")
	src := storageSecretSource{insecure: true, dataDir: t.TempDir()}
	first, err := storageSecret("file:///blobs", src, slog.New(slog.DiscardHandler))
	if err != nil || len(first) < 16 {
		t.Fatalf("got %q, %v; want a secret of its own", first, err)
	}
	again, err := storageSecret("file:///blobs", src, slog.New(slog.DiscardHandler))
	if err != nil || !bytes.Equal(again, first) {
		t.Errorf("after a restart: got %q, %v; want the same %q", again, err, first)
	}
}
