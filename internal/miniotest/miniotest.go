// Package miniotest starts real MinIO servers for tests: the pinned server (Version) is built
// once with `go install` into a cache directory outside the repo (see CacheDir), guarded by a
// file lock so parallel test binaries share one build, and every Start runs a fresh server
// with its own data directory, credentials and loopback port.
//
// The first build takes minutes, longer than `go test`'s default -timeout allows a single test.
// Packages that use Start should build it from TestMain, before the test timer starts:
//
//	func TestMain(m *testing.M) { miniotest.Main(m) }
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/syncbuf"
	"github.com/sunomi/sunomi/internal/testkit"
)

// ReadyTimeout bounds how long Start waits for a server to answer its readiness probe.
const ReadyTimeout = 60 * time.Second

// Server is a running MinIO server, stopped by the test's Cleanup.
type Server struct {
	Endpoint  string // "127.0.0.1:port"
	AccessKey string
	SecretKey string
	DataDir   string

	cmd    *exec.Cmd
	output *syncbuf.Buffer
	exited chan struct{} // closed once the process has been waited for
}

// URL returns the storage URL of bucket on this server, for storage.Open:
// "s3://bucket?endpoint=127.0.0.1:port&secure=false".
func (s *Server) URL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint)
	q.Set("secure", "false")
	return "s3://" + bucket + "?" + q.Encode()
}

// Env returns the credentials as environment entries, for child processes (and storage.Open)
// that read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey}
}

// Setenv puts the credentials in this process's environment for the rest of the test (with
// tb.Setenv, so the test may not be parallel).
func (s *Server) Setenv(tb testing.TB) {
	tb.Helper()
	tb.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	tb.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	tb.Setenv("AWS_SESSION_TOKEN", "")
}

// Output returns what the server has written to stdout and stderr so far.
func (s *Server) Output() string { return s.output.String() }

// Main builds MinIO (unless -short) before running the tests, so the first, slow build does
// not count against -timeout, then exits with m.Run's status. Use it as TestMain.
func Main(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
		if _, err := Binary(context.Background(), logf); err != nil {
			fmt.Fprintf(os.Stderr, "miniotest: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// Start runs a fresh MinIO server and waits until it is ready; tb.Cleanup stops it. Under
// -short it skips the test: MinIO tests are slow ones.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("skipping MinIO test in -short mode")
	}
	bin, err := Binary(context.Background(), tb.Logf)
	if err != nil {
		tb.Fatalf("miniotest: %v", err)
	}
	// The free port we pick may be taken by someone else before MinIO binds it; try again.
	var lastErr error
	for attempt := range 3 {
		s, err := start(tb, bin)
		if err == nil {
			return s
		}
		lastErr = err
		tb.Logf("miniotest: start attempt %d failed: %v", attempt+1, err)
	}
	tb.Fatalf("miniotest: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin string) (*Server, error) {
	tb.Helper()
	addrs := testkit.FreeAddrs(tb, "127.0.0.1", 2)
	dir := tb.TempDir()
	s := &Server{
		Endpoint:  addrs[0],
		AccessKey: "test-" + randomHex(8),
		SecretKey: randomHex(20),
		DataDir:   filepath.Join(dir, "data"),
		output:    &syncbuf.Buffer{},
		exited:    make(chan struct{}),
	}
	console := addrs[1]
	s.cmd = exec.Command(bin, "server",
		"--address", s.Endpoint,
		"--console-address", console,
		"--certs-dir", filepath.Join(dir, "certs"),
		s.DataDir)
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"HOME="+dir, // MinIO keeps a little state under $HOME; keep it per test
	)
	s.cmd.Stdout = s.output
	s.cmd.Stderr = s.output
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	var waitErr error
	go func() {
		waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	if err := s.waitReady(); err != nil {
		s.stop()
		select {
		case <-s.exited:
			err = fmt.Errorf("%w (exit: %v)", err, waitErr)
		default:
		}
		return nil, fmt.Errorf("%w; server output:\n%s", err, s.Output())
	}
	tb.Cleanup(func() {
		s.stop()
		if tb.Failed() {
			tb.Logf("miniotest: server %s output:\n%s", s.Endpoint, s.Output())
		}
	})
	return s, nil
}

// waitReady polls until the server can serve S3 requests, the process exits, or ReadyTimeout
// passes. /minio/health/ready answers 200 as soon as the HTTP listener is up, flagging an
// uninitialised object layer only in its x-minio-server-status header, and S3 calls made then
// fail with "Server not initialized yet"; /minio/health/cluster answers 200 only once the object
// layer, bucket metadata and IAM are initialised and the drives have write quorum.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := testkit.Poll(ReadyTimeout, func() (bool, error) {
		select {
		case <-s.exited:
			return false, testkit.Stop(errors.New("exited before becoming ready"))
		default:
		}
		for _, path := range []string{"/minio/health/ready", "/minio/health/cluster"} {
			if err := s.probe(client, path); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("minio on %s: %w", s.Endpoint, err)
	}
	return nil
}

// probe says why a health endpoint does not report the server fully up, nil if it does.
func (s *Server) probe(client *http.Client, path string) error {
	resp, err := client.Get("http://" + s.Endpoint + path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_ = resp.Body.Close()
	st := resp.Header.Get("X-Minio-Server-Status")
	if resp.StatusCode != http.StatusOK || st != "" {
		return fmt.Errorf("%s: %s %s", path, resp.Status, st)
	}
	return nil
}

// Stop shuts the server down before the test ends, as a storage outage
// would; tb.Cleanup's stop then has nothing left to do.
func (s *Server) Stop() { s.stop() }

// stop asks the server to shut down, and kills it if it lingers.
func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
