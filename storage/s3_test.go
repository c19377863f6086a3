package storage

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sunomi/sunomi/internal/miniotest"
	"github.com/sunomi/sunomi/internal/testkit"
)

// openS3 opens rawURL with the server's credentials in the environment, as the coordinator
// does. It uses t.Setenv, so callers may not be parallel.
func openS3(t *testing.T, srv *miniotest.Server, rawURL string) *S3 {
	t.Helper()
	srv.Setenv(t)
	st, err := Open(rawURL, Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	s, ok := st.(*S3)
	if !ok {
		t.Fatalf("Open(%q) = %T, want *S3", rawURL, st)
	}
	return s
}

func TestS3Conformance(t *testing.T) {
	srv := miniotest.Start(t)
	t.Run("bucket", func(t *testing.T) {
		testStore(t, openS3(t, srv, srv.URL("conformance")))
	})
	t.Run("prefixed", func(t *testing.T) {
		testStore(t, openS3(t, srv, srv.URL("prefixed")+"&prefix=/tenants/a/"))
	})
}

func TestS3Prefix(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	whole := openS3(t, srv, srv.URL("shared"))
	a := openS3(t, srv, srv.URL("shared")+"&prefix=deploy/a")
	b := openS3(t, srv, srv.URL("shared")+"&region=us-east-1&prefix=deploy/b")

	mustPut(t, a, "videos/1/x.ts", []byte("a's"))
	mustPut(t, b, "videos/1/x.ts", []byte("b's"))
	if got, want := string(mustGet(t, a, "videos/1/x.ts")), "a's"; got != want {
		t.Errorf("a reads %q, want %q", got, want)
	}
	assertKeys(t, whole, "", "deploy/a/videos/1/x.ts", "deploy/b/videos/1/x.ts")
	assertKeys(t, a, "", "videos/1/x.ts")
	if err := a.DeletePrefix(ctx, "videos/"); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, whole, "", "deploy/b/videos/1/x.ts")

	// Objects another tool wrote with names that are not valid keys are skipped by List.
	if _, err := whole.Client().PutObject(ctx, "shared", "deploy/b/dir-marker/", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, b, "", "videos/1/x.ts")
}

func TestS3ExpiredURL(t *testing.T) {
	srv := miniotest.Start(t)
	s := openS3(t, srv, srv.URL("expiry"))
	mustPut(t, s, "x", []byte("data"))
	getURL, err := s.PresignGet(context.Background(), "x", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// S3 expiry has one-second resolution; wait for it with a deadline rather than a sleep.
	testkit.WaitFor(t, 15*time.Second, "GET of a 1s URL to answer 403", func() bool {
		status, _, _ := httpDo(t, http.MethodGet, getURL, nil, nil)
		return status == http.StatusForbidden
	})
}

func TestS3CreatesBucketOnce(t *testing.T) {
	srv := miniotest.Start(t)
	first := openS3(t, srv, srv.URL("created"))
	mustPut(t, first, "k", []byte("v"))
	// Opening again finds the bucket (and its object) instead of failing to create it.
	second := openS3(t, srv, srv.URL("created"))
	if got := string(mustGet(t, second, "k")); got != "v" {
		t.Errorf("Get = %q, want %q", got, "v")
	}
	buckets, err := first.Client().ListBuckets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, b := range buckets {
		names = append(names, b.Name)
	}
	if !slices.Equal(names, []string{"created"}) {
		t.Errorf("buckets = %q, want [created]", names)
	}
}

func TestS3Credentials(t *testing.T) {
	srv := miniotest.Start(t)
	t.Run("MinIO variables", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		t.Setenv("MINIO_ROOT_USER", srv.AccessKey)
		t.Setenv("MINIO_ROOT_PASSWORD", srv.SecretKey)
		if _, err := Open(srv.URL("minio-env"), Options{}); err != nil {
			t.Errorf("Open with MINIO_ROOT_USER/PASSWORD: %v", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
		_, err := Open(srv.URL("wrong"), Options{})
		if err == nil {
			t.Fatal("Open with a wrong secret succeeded, want an error")
		}
		if !strings.Contains(err.Error(), "wrong") {
			t.Errorf("error %q does not name the bucket", err)
		}
	})
	t.Run("unreachable endpoint", func(t *testing.T) {
		srv.Setenv(t)
		_, err := Open("s3://nowhere?endpoint=127.0.0.1:1&secure=false", Options{})
		if err == nil {
			t.Fatal("Open of an unreachable endpoint succeeded, want an error")
		}
	})
}

func TestS3GetMissingIsNotFound(t *testing.T) {
	srv := miniotest.Start(t)
	s := openS3(t, srv, srv.URL("missing"))
	_, err := s.Get(context.Background(), "nope")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get err = %v, want ErrNotFound", err)
	}
}
