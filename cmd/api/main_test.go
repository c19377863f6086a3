package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/internal/testkit"
)

// TestMain lets the tests start the real command in a process of its own (testkit.Command).
func TestMain(m *testing.M) {
	testkit.RunAsCommand(main)
	pgtest.Main(m)
}

// valid is a configuration that passes every check, for the cases to spoil one setting of.
var valid = []string{
	"DATABASE_URL=postgres://nobody@127.0.0.1:1/none",
	"SUNOMI_STORAGE=file:///nonexistent/blobs",
	"SUNOMI_PUBLIC_URL=http://localhost:8080",
	"SUNOMI_COORDINATOR=http://127.0.0.1:7000",
	"SUNOMI_JWT_KEYS=k1:y1Uv_3qg8Kc0ZtWm5NRlPbJx7hEoAd2sVfQ9iCeG4Tw",
	"SUNOMI_MEDIA_SECRET=Hm7cR2pX_vN9kQe4LwZ1sJdT8bYgU5oAfC3iVxE6nKy",
}

// without returns valid less the variable name.
func without(name string) []string {
	var out []string
	for _, kv := range valid {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func TestBadConfigurationExitsWithOneLine(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string // a part of the line
	}{
		{"no database", without("DATABASE_URL"), nil, "no database: pass --database-url postgres://… or set DATABASE_URL"},
		{"no storage", without("SUNOMI_STORAGE"), nil, "no blob store"},
		{"no coordinator", without("SUNOMI_COORDINATOR"), nil, "no coordinator"},
		{"no signing keys", without("SUNOMI_JWT_KEYS"), nil, "no token signing keys"},
		{"short signing key", valid, []string{"--jwt-keys", "k1:short"}, `--jwt-keys: signing key "k1": the secret must be at least 32 characters`},
		{"no media secret", without("SUNOMI_MEDIA_SECRET"), nil, "--media-secret (or SUNOMI_MEDIA_SECRET) must be at least 16 bytes"},
		{"repeated signing key", valid, []string{"--jwt-keys", "k1:" + strings.Repeat("a", 32)}, "--jwt-keys: the secret of key \"k1\" is too weak: it is one character repeated; make one with `sunomi secret`"},
		{"sequential signing key", valid, []string{"--jwt-keys", "k1:0123456789abcdef0123456789abcdef"}, "--jwt-keys: the secret of key \"k1\" is too weak"},
		{"dictionary media secret", valid, []string{"--media-secret", "SuperSecretPasswordForProduction"}, "--media-secret (or SUNOMI_MEDIA_SECRET) is too weak: it is built on the common word"},
		{"low-entropy media secret", valid, []string{"--media-secret", "q8Ld-2xVn7Rt5Mw9"}, "--media-secret (or SUNOMI_MEDIA_SECRET) is too weak: it holds about"},
		{"weak storage secret", valid, []string{"--storage-secret", strings.Repeat("x", 40)}, "--storage-secret (or SUNOMI_STORAGE_SECRET) is too weak: it is one character repeated; make one with `sunomi secret`"},
		{"local storage without public URL", without("SUNOMI_PUBLIC_URL"), nil, "--public-url (or SUNOMI_PUBLIC_URL) is required with file:// storage"},
		{"relative public URL", valid, []string{"--public-url", "sunomi.example"}, `--public-url "sunomi.example" must be an absolute http(s) URL`},
		{"short storage secret", valid, []string{"--storage-secret", "tiny"}, "--storage-secret must be at least 16 bytes"},
		{"bad upload size", valid, []string{"--max-upload-size", "lots"}, `--max-upload-size: "lots" is not a size`},
		{"bad upload size from the environment", append(slices.Clone(valid), "SUNOMI_MAX_UPLOAD_SIZE=lots"), nil, `--max-upload-size: "lots" is not a size`},
		{"bad single-PUT limit", valid, []string{"--single-put-limit", "big"}, `--single-put-limit: "big" is not a size`},
		{"part under S3's minimum", append(slices.Clone(valid), "SUNOMI_PART_SIZE=1MiB"), nil, "--part-size must be at least 5MiB (S3's minimum)"},
		{"bad proxy", valid, []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, `--trusted-proxies: "proxy.local" is not a CIDR`},
		{"GitHub ID alone", valid, []string{"--github-client-id", "abc"}, "--github-client-id and --github-client-secret go together"},
		{"TLS certificate alone", valid, []string{"--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{"missing TLS files", valid, []string{"--tls-cert", "cert.pem", "--tls-key", "key.pem"}, "--tls-cert/--tls-key: open cert.pem"},
		{"metrics on the public address", valid, []string{"--http", "127.0.0.1:8080", "--metrics-addr", "127.0.0.1:8080"}, "--metrics-addr must differ from --http"},
		{"bad log level", valid, []string{"--log-level", "loud"}, `--log-level "loud"`},
		{"farm certificate without its key", valid, []string{"--farm-tls-ca", "ca.pem", "--farm-tls-cert", "api.pem"}, "--farm-tls-*: TLS needs all three"},
		{"unknown flag", valid, []string{"--colour"}, "unknown flag: --colour"},
		{"arguments", valid, []string{"serve"}, `unknown command "serve"`},
		{"database down", valid, nil, "connect to postgresql at 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, out := testkit.Command(t, tt.env, append([]string{"--http", "127.0.0.1:0"}, tt.args...)...)
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; output %q", err, out)
			}
			got := out.String()
			if !strings.HasPrefix(got, "api: ") || strings.Count(got, "\n") != 1 {
				t.Errorf("output %q, want one line starting with \"api: \"", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("output %q, want it to say %q", got, tt.want)
			}
		})
	}
}

// TestServesAndStops runs the service on a real database, over HTTP and then HTTPS, and stops
// it as an orchestrator does, with SIGTERM.
func TestServesAndStops(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	tests := []struct {
		name   string
		args   []string
		scheme string
		client *http.Client
		hsts   bool
	}{
		{"http", nil, "http", http.DefaultClient, false},
		{"https", []string{"--tls-cert", cert, "--tls-key", key}, "https",
			&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := testkit.FreeAddr(t, "127.0.0.1")
			env := append(without("DATABASE_URL"), "DATABASE_URL="+pgtest.NewDatabase(t),
				"SUNOMI_STORAGE=file://"+filepath.Join(t.TempDir(), "blobs"))
			metricsAddr := testkit.FreeAddr(t, "127.0.0.1")
			args := append([]string{"--http", addr, "--trusted-proxies", "10.0.0.0/8, 192.168.1.1", "--metrics-addr", metricsAddr}, tt.args...)
			cmd, out := testkit.Command(t, env, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-done
				}
				if t.Failed() {
					t.Logf("output:\n%s", out)
				}
			}()

			url := tt.scheme + "://" + addr
			var resp *http.Response
			err := testkit.Poll(30*time.Second, func() (bool, error) {
				select {
				case err := <-done:
					return false, testkit.Stop(fmt.Errorf("it exited first (%v)", err))
				default:
				}
				var err error
				if resp, err = tt.client.Get(url + "/readyz"); err != nil {
					return false, err
				}
				resp.Body.Close()
				return true, nil
			})
			if err != nil {
				t.Fatalf("api not serving at %s: %v", url, err)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("GET /readyz: status %d, want 204", resp.StatusCode)
			}
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tt.hsts {
				t.Errorf("HSTS header sent: %v, want %v", got, tt.hsts)
			}
			checkMetricsApart(t, tt.client, url, metricsAddr)

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v, want status 0", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("api still running 30s after SIGTERM")
			}
			if !strings.Contains(out.String(), `msg="api stopped"`) {
				t.Errorf("no \"api stopped\" in the log")
			}
		})
	}
}

// checkMetricsApart checks that the metrics are served on --metrics-addr, in plain HTTP, and
// not on the public address.
func checkMetricsApart(t *testing.T, public *http.Client, url, metricsAddr string) {
	t.Helper()
	get := func(c *http.Client, u string) (int, string) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, body := get(http.DefaultClient, "http://"+metricsAddr+"/metrics")
	want := `sunomi_api_http_requests_total{code="2xx",method="GET",route="/readyz"} 1`
	if status != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics on --metrics-addr: status %d, want 200 with %s and the runtime's metrics; body:\n%s", status, want, body)
	}
	if _, body := get(public, url+"/metrics"); strings.Contains(body, "sunomi_api_") {
		t.Error("the public address serves the metrics")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir, and returns their paths
// and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sunomi test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return certPath, keyPath, pool
}
