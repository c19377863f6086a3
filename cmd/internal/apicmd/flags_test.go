package apicmd

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/internal/pkitest"
)

// parse registers the flags as cmd/api (deployment) or `sunomi dev` does, and checks args
// with the environment applied.
func parse(t *testing.T, deployment bool, args ...string) (Settings, error) {
	t.Helper()
	var f Flags
	fl := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.AddFlags(fl, ":8080")
	if deployment {
		f.AddDeploymentFlags(fl)
	}
	if err := fl.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := cli.ApplyEnv(fl); err != nil {
		return Settings{}, err
	}
	return f.Settings()
}

// deploymentEnv is what cmd/api needs besides the service flags, for the cases that are not
// about it.
func deploymentEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"DATABASE_URL":        "postgres://nobody@127.0.0.1:1/none",
		"SUNOMI_STORAGE":      "s3://bucket?endpoint=127.0.0.1:9000",
		"SUNOMI_COORDINATOR":  "http://127.0.0.1:7000",
		"SUNOMI_JWT_KEYS":     "k1:y1Uv_3qg8Kc0ZtWm5NRlPbJx7hEoAd2sVfQ9iCeG4Tw",
		"SUNOMI_MEDIA_SECRET": "Hm7cR2pX_vN9kQe4LwZ1sJdT8bYgU5oAfC3iVxE6nKy",
	} {
		t.Setenv(k, v)
	}
}

func TestEnvironmentStandsInForUnsetFlags(t *testing.T) {
	deploymentEnv(t)
	t.Setenv("SUNOMI_MAX_UPLOAD_SIZE", "1GiB")
	t.Setenv("SUNOMI_REPORT_THRESHOLD", "7")
	t.Setenv("SUNOMI_REPORTS_PER_HOUR", "4")
	t.Setenv("SUNOMI_CLASSIFIER_FAIL_CLOSED", "true")
	t.Setenv("SUNOMI_PUBLIC_URL", "https://from.env")
	s, err := parse(t, true, "--public-url", "https://sunomi.example/")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config
	if got, want := cfg.Uploads.MaxSize, int64(1<<30); got != want {
		t.Errorf("Uploads.MaxSize = %d, want %d from $SUNOMI_MAX_UPLOAD_SIZE", got, want)
	}
	if got, want := cfg.Moderation.ReportThreshold, 7; got != want {
		t.Errorf("Moderation.ReportThreshold = %d, want %d from $SUNOMI_REPORT_THRESHOLD", got, want)
	}
	if got, want := cfg.Moderation.ReportsPerHour, 4; got != want {
		t.Errorf("Moderation.ReportsPerHour = %d, want %d from $SUNOMI_REPORTS_PER_HOUR", got, want)
	}
	if !cfg.Classifier.FailClosed {
		t.Error("Classifier.FailClosed = false, want true from $SUNOMI_CLASSIFIER_FAIL_CLOSED")
	}
	if got, want := cfg.PublicURL, "https://sunomi.example"; got != want {
		t.Errorf("PublicURL = %q, want the command line's %q over the environment's", got, want)
	}
	if !cfg.TLS {
		t.Error("TLS = false, want true for an https public URL")
	}
	if got, want := strings.Join(s.Coordinators, ","), "http://127.0.0.1:7000"; got != want {
		t.Errorf("Coordinators = %q, want %q", got, want)
	}
}

// TestFarmClientCertificate: the service calls the farm with the client
// certificate of $SUNOMI_FARM_TLS_* (its own --tls-cert is for HTTPS), and
// without one talks to a farm run with --insecure-dev.
func TestFarmClientCertificate(t *testing.T) {
	deploymentEnv(t)
	s, err := parse(t, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.FarmTLS != nil {
		t.Errorf("farm TLS %v without any --farm-tls-* given", s.FarmTLS.Identity())
	}
	files := pkitest.New(t).Files(pki.RoleClient, "api")
	t.Setenv("SUNOMI_FARM_TLS_CA", files.CA)
	t.Setenv("SUNOMI_FARM_TLS_CERT", files.Cert)
	t.Setenv("SUNOMI_FARM_TLS_KEY", files.Key)
	if s, err = parse(t, true); err != nil {
		t.Fatal(err)
	}
	if s.FarmTLS == nil || s.FarmTLS.Identity() != (pki.Identity{Role: pki.RoleClient, Name: "api"}) {
		t.Errorf("farm TLS %v, want the client certificate api from $SUNOMI_FARM_TLS_*", s.FarmTLS)
	}
}

func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	t.Setenv("SUNOMI_REPORT_THRESHOLD", "many")
	_, err := parse(t, false)
	if err == nil || !strings.HasPrefix(err.Error(), "$SUNOMI_REPORT_THRESHOLD: ") {
		t.Fatalf("error %v, want one naming $SUNOMI_REPORT_THRESHOLD", err)
	}
}

// TestServiceFlagsAlone is `sunomi dev`'s case: no deployment flags, so nothing of theirs is
// required, yet every service flag is checked as cmd/api checks it.
func TestServiceFlagsAlone(t *testing.T) {
	s, err := parse(t, false)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if s.DatabaseURL != "" || s.Config.PublicURL != "" || s.TLS != nil {
		t.Errorf("settings %+v, want no database, public URL or TLS", s)
	}
	if s.Config.WebApp == nil || s.Config.Logger == nil {
		t.Error("the web app and the logger are not set")
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"relative public URL", []string{"--public-url", "sunomi.example"}, `--public-url "sunomi.example" must be an absolute http(s) URL`},
		{"bad classifier URL", []string{"--classifier-url", "classifier"}, `--classifier-url "classifier" must be an absolute http(s) URL`},
		{"auto-transcribe without a service", []string{"--auto-transcribe"}, "--auto-transcribe needs a transcription service"},
		{"part under S3's minimum", []string{"--part-size", "1MiB"}, "--part-size must be at least 5MiB"},
		{"bad log level", []string{"--log-level", "loud"}, `--log-level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, false, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestUploadQuotaFlags(t *testing.T) {
	s, err := parse(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if u := s.Config.Uploads; u.DailyBytes != 20<<30 || u.MaxConcurrent != 5 || u.Expiry != 24*time.Hour {
		t.Errorf("defaults: %d bytes a day, %d at once, expiry %s; want 20 GiB, 5, 24h", u.DailyBytes, u.MaxConcurrent, u.Expiry)
	}
	t.Setenv("SUNOMI_UPLOAD_QUOTA_BYTES", "2GiB")
	t.Setenv("SUNOMI_UPLOAD_QUOTA_COUNT", "2")
	t.Setenv("SUNOMI_UPLOAD_EXPIRY", "6h")
	if s, err = parse(t, false); err != nil {
		t.Fatal(err)
	}
	if u := s.Config.Uploads; u.DailyBytes != 2<<30 || u.MaxConcurrent != 2 || u.Expiry != 6*time.Hour {
		t.Errorf("from the environment: %d bytes a day, %d at once, expiry %s; want 2 GiB, 2, 6h", u.DailyBytes, u.MaxConcurrent, u.Expiry)
	}
	for _, args := range [][]string{
		{"--upload-quota-bytes", "0"},
		{"--upload-quota-bytes", "lots"},
		{"--upload-quota-count", "0"},
		{"--upload-expiry", "10m"},
	} {
		if _, err := parse(t, false, args...); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v, want one naming %s", args, err, args[0])
		}
	}
}
