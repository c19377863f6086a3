package miniotest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sunomi/sunomi/internal/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

func TestStartServesS3(t *testing.T) {
	srv := miniotest.Start(t)

	resp, err := http.Get("http://" + srv.Endpoint + "/minio/health/ready")
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("health status = %d, want %d", got, want)
	}

	ctx := context.Background()
	c, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "probe", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	body := []byte("hello minio")
	if _, err := c.PutObject(ctx, "probe", "a/b.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	obj, err := c.GetObject(ctx, "probe", "a/b.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("get = %q, want %q", got, body)
	}

	// Wrong credentials are refused: the server really checks them.
	bad, _ := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, "wrong-secret-key", "")})
	if _, err := bad.BucketExists(ctx, "probe"); err == nil {
		t.Fatal("bucket check with a wrong secret succeeded, want an error")
	}
}

func TestServerURLAndEnv(t *testing.T) {
	srv := miniotest.Start(t)
	u, err := url.Parse(srv.URL("media"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host, "s3://media"; got != want {
		t.Errorf("URL prefix = %q, want %q", got, want)
	}
	if got, want := u.Query().Get("endpoint"), srv.Endpoint; got != want {
		t.Errorf("endpoint = %q, want %q", got, want)
	}
	if got, want := u.Query().Get("secure"), "false"; got != want {
		t.Errorf("secure = %q, want %q", got, want)
	}
	env := strings.Join(srv.Env(), " ")
	if !strings.Contains(env, "AWS_ACCESS_KEY_ID="+srv.AccessKey) || !strings.Contains(env, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey) {
		t.Errorf("Env() = %q, want both credentials", env)
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := miniotest.Start(t), miniotest.Start(t)
	if a.Endpoint == b.Endpoint {
		t.Errorf("both servers on %s", a.Endpoint)
	}
	if a.AccessKey == b.AccessKey || a.SecretKey == b.SecretKey {
		t.Error("servers share credentials, want random ones per server")
	}
	if a.DataDir == b.DataDir {
		t.Errorf("both servers use %s", a.DataDir)
	}
}

func TestBinaryIsCachedOutsideRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the MinIO build")
	}
	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths {
		wg.Go(func() { paths[i], errs[i] = miniotest.Binary(context.Background(), t.Logf) })
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatalf("Binary: %v", errs[i])
		}
		if paths[i] != paths[0] {
			t.Errorf("Binary returned %q and %q", paths[0], paths[i])
		}
	}
	cache, err := miniotest.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths[0], filepath.Join(cache, "minio", miniotest.Version, "minio"); got != want {
		t.Errorf("binary at %q, want %q", got, want)
	}
	wd, _ := os.Getwd()
	repo := filepath.Dir(filepath.Dir(wd))
	if strings.HasPrefix(paths[0], repo+string(filepath.Separator)) {
		t.Errorf("binary %q lives inside the repo %q", paths[0], repo)
	}
}
