package storage

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs", "nested")
	st, err := Open("file://"+dir, Options{Secret: testSecret, PublicURL: "http://127.0.0.1:7000"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	l, ok := st.(*Local)
	if !ok {
		t.Fatalf("Open = %T, want *Local", st)
	}
	if got, want := l.Dir(), dir; got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("MINIO_ROOT_USER", "")
	t.Setenv("MINIO_ROOT_PASSWORD", "")
	abs := t.TempDir()
	for _, tc := range []struct {
		name, url string
		opts      Options
		want      string
	}{
		{"empty", "", Options{}, "missing scheme"},
		{"bare path", abs, Options{}, "missing scheme"},
		{"unknown scheme", "ftp://host/x", Options{}, `unsupported scheme "ftp"`},
		{"relative file", "file://relative/dir", Options{Secret: testSecret}, "absolute path"},
		{"opaque file", "file:relative", Options{Secret: testSecret}, "absolute path"},
		{"file with query", "file://" + abs + "?x=1", Options{Secret: testSecret}, "no query"},
		{"file without secret", "file://" + abs, Options{}, "secret"},
		{"unparsable", "s3://bucket?endpoint=%zz", Options{}, "s3://bucket"},
		{"no bucket", "s3://?endpoint=127.0.0.1:9000", Options{}, "missing bucket"},
		{"bad bucket", "s3://Bad_Bucket?endpoint=127.0.0.1:9000", Options{}, "bucket"},
		{"unknown parameter", "s3://bucket?endpoint=127.0.0.1:9000&sekure=false", Options{}, `unknown parameter "sekure"`},
		{"bad secure", "s3://bucket?endpoint=127.0.0.1:9000&secure=maybe", Options{}, "not a boolean"},
		{"endpoint with scheme", "s3://bucket?endpoint=http://127.0.0.1:9000", Options{}, "without scheme"},
		{"repeated parameter", "s3://bucket?region=a&region=b", Options{}, "given 2 times"},
		{"prefix twice", "s3://bucket/p?prefix=q", Options{}, "prefix given both"},
		{"bad prefix", "s3://bucket?prefix=a/../b", Options{}, "invalid object key"},
		{"credentials in URL", "s3://key:secret@bucket?endpoint=127.0.0.1:9000", Options{}, "environment"},
		{"unparsable with credentials", "s3://key:secret@buck%zz?endpoint=127.0.0.1:9000&token=t", Options{}, `storage url "s3://buck%zz"`},
		{"no credentials", "s3://bucket?endpoint=127.0.0.1:9000&secure=false", Options{}, "no S3 credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.url, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) err = %v, want one containing %q", tc.url, err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "secret@") || strings.Contains(err.Error(), "token=")) {
				t.Errorf("error %q leaks credentials", err)
			}
		})
	}
	t.Run("half the AWS pair", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "id")
		_, err := Open("s3://bucket?endpoint=127.0.0.1:9000", Options{})
		if err == nil || !strings.Contains(err.Error(), "both") {
			t.Errorf("err = %v, want one asking for both variables", err)
		}
	})
}

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a", "videos/1/hls/720p/c0_a1_3.ts", "with space/ü/日本", ".hidden", "a..b", "a/.../b", "+&=?#%"} {
		if err := ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range []string{"", "/a", "a/", "a//b", "..", "a/../b", "./a", `a\b`, "a\tb", "\xff"} {
		if err := ValidateKey(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}
