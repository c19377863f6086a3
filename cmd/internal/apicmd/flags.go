// Package apicmd is the api service's command line, shared by cmd/api and `sunomi dev`: its
// flags, each with the environment variable that stands in for it, checked into an api.Config
// before anything starts, and the HTTP server that runs the service. cmd/api registers every
// flag; `sunomi dev` registers the service flags only, and fills in the storage, the farm and
// the secrets it makes itself.
package apicmd

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sunomi/sunomi/api"
	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/internal/secret"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/web"
)

// envVars stand in for the flags of the same name that the command line leaves unset.
var envVars = map[string]string{
	"http":                   "SUNOMI_HTTP",
	"metrics-addr":           "SUNOMI_METRICS_ADDR",
	"database-url":           "DATABASE_URL",
	"public-url":             "SUNOMI_PUBLIC_URL",
	"max-upload-size":        "SUNOMI_MAX_UPLOAD_SIZE",
	"single-put-limit":       "SUNOMI_SINGLE_PUT_LIMIT",
	"part-size":              "SUNOMI_PART_SIZE",
	"upload-quota-bytes":     "SUNOMI_UPLOAD_QUOTA_BYTES",
	"upload-quota-count":     "SUNOMI_UPLOAD_QUOTA_COUNT",
	"upload-expiry":          "SUNOMI_UPLOAD_EXPIRY",
	"trusted-proxies":        "SUNOMI_TRUSTED_PROXIES",
	"term-policy":            "SUNOMI_TERM_POLICY",
	"report-threshold":       "SUNOMI_REPORT_THRESHOLD",
	"reports-per-hour":       "SUNOMI_REPORTS_PER_HOUR",
	"classifier-url":         "SUNOMI_CLASSIFIER_URL",
	"classifier-fail-closed": "SUNOMI_CLASSIFIER_FAIL_CLOSED",
	"transcription-url":      "SUNOMI_TRANSCRIPTION_URL",
	"transcription-model":    "SUNOMI_TRANSCRIPTION_MODEL",
	"transcription-key":      "SUNOMI_TRANSCRIPTION_KEY",
	"auto-transcribe":        "SUNOMI_AUTO_TRANSCRIBE",
	"github-client-id":       "GITHUB_CLIENT_ID",
	"github-client-secret":   "GITHUB_CLIENT_SECRET",
	"log-level":              "SUNOMI_LOG_LEVEL",
	"segments":               "SUNOMI_SEGMENTS",
	"av1":                    "SUNOMI_AV1",
	"av1-min-views":          "SUNOMI_AV1_MIN_VIEWS",
	"access-token-ttl":       "SUNOMI_ACCESS_TOKEN_TTL",
	"session-ttl":            "SUNOMI_SESSION_TTL",
	"storage":                "SUNOMI_STORAGE",
	"storage-secret":         "SUNOMI_STORAGE_SECRET",
	"coordinator":            "SUNOMI_COORDINATOR",
	"jwt-keys":               "SUNOMI_JWT_KEYS",
	"media-secret":           "SUNOMI_MEDIA_SECRET",
	"tls-cert":               "SUNOMI_TLS_CERT",
	"tls-key":                "SUNOMI_TLS_KEY",
}

// bindEnv binds the flags of fl that envVars names to their variables.
func bindEnv(fl *pflag.FlagSet) {
	for flag, env := range envVars {
		if fl.Lookup(flag) != nil {
			cli.BindEnv(fl, flag, env)
		}
	}
}

// Flags are the api service's flags as given.
type Flags struct {
	http, databaseURL, publicURL string
	metricsAddr                  string
	logLevel                     string
	maxUploadSize                string
	singlePutLimit, partSize     string
	uploadQuotaBytes             string
	uploadQuotaCount             int
	uploadExpiry                 time.Duration
	trustedProxies               string
	termPolicy                   string
	reportThreshold              int
	reportsPerHour               int
	hashMaxDistance              int
	segments                     string
	av1                          string
	av1MinViews                  int64
	classifier                   api.ClassifierConfig
	transcription                api.TranscriptionConfig
	github                       api.GitHubConfig
	accessTokenTTL, sessionTTL   time.Duration
	timeouts                     timeoutFlags

	// The deployment flags, registered by AddDeploymentFlags.
	deployment                bool
	storageURL, storageSecret string
	coordinators              string
	farmTLS                   cli.TLSFlags
	jwtKeys, mediaSecret      string
	tlsCert, tlsKey           string
}

// AddFlags registers the service's flags, with httpAddr the default of --http.
func (f *Flags) AddFlags(fl *pflag.FlagSet, httpAddr string) {
	fl.StringVar(&f.http, "http", httpAddr, "HOST:PORT to serve on (or $SUNOMI_HTTP)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "HOST:PORT to serve Prometheus metrics on at /metrics, apart from --http (or $SUNOMI_METRICS_ADDR; default: not served)")
	fl.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL URL, postgres://user:password@host:5432/db (or $DATABASE_URL; required)")
	fl.StringVar(&f.publicURL, "public-url", "", "where browsers reach the service, e.g. https://sunomi.example (or $SUNOMI_PUBLIC_URL; required with file:// storage or GitHub sign-in)")
	fl.StringVar(&f.maxUploadSize, "max-upload-size", "20GiB", "largest upload accepted, e.g. 20GiB (or $SUNOMI_MAX_UPLOAD_SIZE)")
	fl.StringVar(&f.singlePutLimit, "single-put-limit", "64MiB", "largest file uploaded with one PUT; larger ones go in resumable multipart parts (or $SUNOMI_SINGLE_PUT_LIMIT)")
	fl.StringVar(&f.partSize, "part-size", "16MiB", "multipart part size, at least 5MiB (S3's minimum) (or $SUNOMI_PART_SIZE)")
	fl.StringVar(&f.uploadQuotaBytes, "upload-quota-bytes", "20GiB", "declared upload bytes one user may start in any 24 hours (or $SUNOMI_UPLOAD_QUOTA_BYTES)")
	fl.IntVar(&f.uploadQuotaCount, "upload-quota-count", 5, "uploads one user may have started and not completed (or $SUNOMI_UPLOAD_QUOTA_COUNT)")
	fl.DurationVar(&f.uploadExpiry, "upload-expiry", 24*time.Hour, "uploads not completed this long after they started are deleted, rows and objects (or $SUNOMI_UPLOAD_EXPIRY)")
	fl.StringVar(&f.termPolicy, "term-policy", "", "terms refused or held for review in titles, descriptions, tags and comments: reject:TERM,hold:PHRASE,… (or $SUNOMI_TERM_POLICY)")
	fl.IntVar(&f.reportThreshold, "report-threshold", 3, "weight of open reports, in established independent reporters, that hides a video pending review (or $SUNOMI_REPORT_THRESHOLD)")
	fl.IntVar(&f.reportsPerHour, "reports-per-hour", 10, "reports one user may make in an hour (or $SUNOMI_REPORTS_PER_HOUR)")
	fl.IntVar(&f.hashMaxDistance, "hash-max-distance", 10, "largest Hamming distance (bits of 64) at which an upload's frame matches a removed video's; -1 turns re-upload matching off")
	fl.StringVar(&f.classifier.URL, "classifier-url", "", "moderation classifier webhook: frames in, Rekognition-style moderation labels out (or $SUNOMI_CLASSIFIER_URL)")
	fl.Float64Var(&f.classifier.WarnAt, "classifier-warn-at", 60, "confidence (0-100) from which a classifier label becomes a content warning")
	fl.Float64Var(&f.classifier.HoldAt, "classifier-hold-at", 90, "confidence (0-100) from which a classifier label holds the video for review")
	fl.BoolVar(&f.classifier.FailClosed, "classifier-fail-closed", false, "hold videos for review when the classifier fails, instead of publishing them unchecked (or $SUNOMI_CLASSIFIER_FAIL_CLOSED)")
	fl.StringVar(&f.transcription.URL, "transcription-url", "", "base URL of an OpenAI-compatible speech-to-text service for automatic captions, e.g. http://whisper:8080 or https://api.openai.com (or $SUNOMI_TRANSCRIPTION_URL)")
	fl.StringVar(&f.transcription.Model, "transcription-model", "whisper-1", "model the transcription service runs (or $SUNOMI_TRANSCRIPTION_MODEL)")
	fl.StringVar(&f.transcription.Key, "transcription-key", "", "Bearer key of the transcription service, if it needs one (or $SUNOMI_TRANSCRIPTION_KEY)")
	fl.DurationVar(&f.transcription.Timeout, "transcription-timeout", 10*time.Minute, "longest a transcription may take")
	fl.BoolVar(&f.transcription.Auto, "auto-transcribe", false, "transcribe every video into captions when it is published; needs --transcription-url (or $SUNOMI_AUTO_TRANSCRIBE)")
	fl.StringVar(&f.segments, "segments", string(media.DefaultSegments), "segment container of new videos: fmp4 (CMAF: HLS version 7 and a DASH manifest) or ts (MPEG-TS); existing videos keep theirs (or $SUNOMI_SEGMENTS)")
	fl.StringVar(&f.av1, "av1", string(media.AV1Off), "AV1 rungs beside H.264 (fMP4 videos only): off, all (every new video) or popular (once a video passes --av1-min-views) (or $SUNOMI_AV1)")
	fl.Int64Var(&f.av1MinViews, "av1-min-views", api.DefaultAV1MinViews, "views after which a video gets AV1 rungs under --av1 popular (or $SUNOMI_AV1_MIN_VIEWS)")
	fl.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs or addresses of the reverse proxies whose X-Forwarded-For names the client (or $SUNOMI_TRUSTED_PROXIES)")
	f.github.AddFlags(fl)
	fl.DurationVar(&f.accessTokenTTL, "access-token-ttl", 15*time.Minute, "how long an access token works; the app refreshes it silently (or $SUNOMI_ACCESS_TOKEN_TTL)")
	fl.DurationVar(&f.sessionTTL, "session-ttl", 30*24*time.Hour, "how long a session lasts without being used before its user must sign in again (or $SUNOMI_SESSION_TTL)")
	f.timeouts.add(fl)
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (or $SUNOMI_LOG_LEVEL)")
	bindEnv(fl)
}

// AddDeploymentFlags registers the flags that name the service's blob store, farm, secrets
// and TLS material; `sunomi dev` makes its own and leaves them out.
func (f *Flags) AddDeploymentFlags(fl *pflag.FlagSet) {
	f.deployment = true
	fl.StringVar(&f.storageURL, "storage", "", "blob store shared with the coordinators: file:///dir or s3://bucket?endpoint=HOST:PORT&secure=false (or $SUNOMI_STORAGE; required); S3 credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	fl.StringVar(&f.storageSecret, "storage-secret", "", "HMAC key, at least 16 bytes, signing the upload URLs of file:// storage; every replica needs the same (or $SUNOMI_STORAGE_SECRET; default: derived from the media secret)")
	fl.StringVar(&f.coordinators, "coordinator", "", "comma-separated coordinator URLs, tried in turn (or $SUNOMI_COORDINATOR; required)")
	// --tls-cert is this service's own HTTPS certificate; the farm's client
	// certificate goes by --farm-tls-*.
	f.farmTLS.RegisterPrefixed(fl, "farm-", pki.RoleClient)
	fl.StringVar(&f.jwtKeys, "jwt-keys", "", "access-token signing keys kid:secret,… (strong secrets of 32+ characters, made by `sunomi secret`; the first signs, all verify) (or $SUNOMI_JWT_KEYS; required)")
	fl.StringVar(&f.mediaSecret, "media-secret", "", "strong secret (make one with `sunomi secret`) signing the media URLs of unlisted and private videos (or $SUNOMI_MEDIA_SECRET; required)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate chain: serve HTTPS (with --tls-key) (or $SUNOMI_TLS_CERT)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert (or $SUNOMI_TLS_KEY)")
	bindEnv(fl)
}

// Settings are the flags, checked and parsed.
type Settings struct {
	// Config lacks its store and farm, which are opened after the checks, and, for `sunomi
	// dev`, its blob store and secrets.
	Config api.Config
	HTTP   string
	// MetricsAddr is where ServeMetrics serves the metrics; "" when they are not served.
	MetricsAddr string
	DatabaseURL string // "" when not given
	Level       slog.Level
	Log         *slog.Logger

	// From the deployment flags only.
	StorageURL   string
	StorageOpts  storage.Options
	Coordinators []string
	// FarmTLS is the client certificate the service calls the farm with;
	// nil for a farm run with --insecure-dev.
	FarmTLS *pki.Material
	TLS     *tls.Config
}

// Settings checks the flags before anything is opened, so that a mistake is one line at once.
func (f *Flags) Settings() (Settings, error) {
	var s Settings
	var err error
	if s.Level, err = cli.ParseLogLevel(f.logLevel); err != nil {
		return s, err
	}
	s.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: s.Level}))
	cfg := &s.Config
	cfg.Logger = s.Log
	cfg.WebApp = web.Handler()
	cfg.Docs = web.SwaggerUI()

	if s.HTTP = f.http; s.HTTP == "" {
		return s, errors.New("--http must not be empty: give HOST:PORT, such as :8080")
	}
	// Two port-0 listeners get distinct ports.
	if s.MetricsAddr = f.metricsAddr; s.MetricsAddr == s.HTTP && !strings.HasSuffix(s.HTTP, ":0") {
		return s, errors.New("--metrics-addr must differ from --http: the metrics are never served on the public address")
	}
	s.DatabaseURL = f.databaseURL
	if f.deployment {
		if err := f.deploymentSettings(&s); err != nil {
			return s, err
		}
	}
	if f.publicURL != "" {
		if !isHTTPURL(f.publicURL) {
			return s, fmt.Errorf("--public-url %q must be an absolute http(s) URL such as https://sunomi.example", f.publicURL)
		}
		cfg.PublicURL = strings.TrimRight(f.publicURL, "/")
	}
	if f.deployment {
		if err := f.storageSettings(&s); err != nil {
			return s, err
		}
	}
	if cfg.Uploads.MaxSize, err = cli.ParseBytes(f.maxUploadSize); err != nil {
		return s, fmt.Errorf("--max-upload-size: %w", err)
	}
	if cfg.Uploads.MaxSize == 0 {
		return s, errors.New("--max-upload-size must be more than 0")
	}
	if cfg.Uploads.SinglePutLimit, cfg.Uploads.PartSize, err = cli.ParseUploadParts(f.singlePutLimit, f.partSize); err != nil {
		return s, err
	}
	if err := f.uploadQuotas(&cfg.Uploads); err != nil {
		return s, err
	}
	if err := f.moderation(cfg); err != nil {
		return s, err
	}
	if cfg.TrustedProxies, err = parsePrefixes(f.trustedProxies); err != nil {
		return s, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if cfg.Segments, err = media.ParseSegmentFormat(f.segments); err != nil {
		return s, fmt.Errorf("--segments: %w", err)
	}
	if cfg.AV1.Policy, err = api.ParseAV1Policy(f.av1); err != nil {
		return s, fmt.Errorf("--av1: %w", err)
	}
	if f.av1MinViews < 1 {
		return s, errors.New("--av1-min-views must be at least 1")
	}
	cfg.AV1.MinViews = f.av1MinViews
	if err := f.checkTranscription(); err != nil {
		return s, err
	}
	cfg.Transcription = f.transcription
	if cfg.GitHub, err = f.github.Enabled(); err != nil {
		return s, err
	}
	if f.accessTokenTTL < time.Second || f.sessionTTL <= f.accessTokenTTL {
		return s, errors.New("--access-token-ttl must be at least 1s and shorter than --session-ttl")
	}
	cfg.Auth.TokenTTL, cfg.Auth.SessionTTL = f.accessTokenTTL, f.sessionTTL
	if err := f.timeouts.settings(&cfg.Timeouts); err != nil {
		return s, err
	}
	if f.deployment {
		if cfg.GitHub != nil && cfg.PublicURL == "" {
			return s, errors.New("--public-url (or SUNOMI_PUBLIC_URL) is required for GitHub sign-in: GitHub redirects back to it")
		}
		if s.TLS, err = f.tlsConfig(); err != nil {
			return s, err
		}
	}
	// Behind a proxy that terminates TLS the service speaks plain HTTP, yet browsers reach it
	// over HTTPS: the public URL says so, and HSTS is then right too.
	cfg.TLS = s.TLS != nil || strings.HasPrefix(cfg.PublicURL, "https://")
	return s, nil
}

// deploymentSettings checks the database, the signing keys and the media secret.
func (f *Flags) deploymentSettings(s *Settings) error {
	if s.DatabaseURL == "" {
		return errors.New("no database: pass --database-url postgres://… or set DATABASE_URL")
	}
	if f.jwtKeys == "" {
		return errors.New("no token signing keys: pass --jwt-keys kid:secret or set SUNOMI_JWT_KEYS (every replica needs the same)")
	}
	var err error
	if s.Config.Auth.SigningKeys, err = api.ParseSigningKeys(f.jwtKeys); err != nil {
		return fmt.Errorf("--jwt-keys: %w", err)
	}
	for _, k := range s.Config.Auth.SigningKeys {
		if err := secret.Check(string(k.Secret)); err != nil {
			return fmt.Errorf("--jwt-keys: the secret of key %q is too weak: %w", k.ID, err)
		}
	}
	if len(f.mediaSecret) < 16 {
		return errors.New("--media-secret (or SUNOMI_MEDIA_SECRET) must be at least 16 bytes; every replica needs the same")
	}
	if err := secret.Check(f.mediaSecret); err != nil {
		return fmt.Errorf("--media-secret (or SUNOMI_MEDIA_SECRET) is too weak: %w", err)
	}
	s.Config.MediaSecret = []byte(f.mediaSecret)
	if s.StorageURL = f.storageURL; s.StorageURL == "" {
		return errors.New("no blob store: pass --storage file:///dir or s3://bucket?endpoint=…, the one the coordinators use, or set SUNOMI_STORAGE")
	}
	return nil
}

// storageSettings checks the blob store's public URL and secret, and the farm.
func (f *Flags) storageSettings(s *Settings) error {
	if s.Config.PublicURL == "" && strings.HasPrefix(s.StorageURL, "file:") {
		return errors.New("--public-url (or SUNOMI_PUBLIC_URL) is required with file:// storage: upload URLs point at this service")
	}
	key := []byte(f.storageSecret)
	if len(key) == 0 {
		// Derived rather than the media secret itself: one key, one purpose.
		k := sha256.Sum256([]byte("sunomi-api-blobs:" + f.mediaSecret))
		key = k[:]
	} else if len(key) < storage.MinSecretSize {
		return fmt.Errorf("--storage-secret must be at least %d bytes", storage.MinSecretSize)
	} else if err := secret.Check(f.storageSecret); err != nil {
		return fmt.Errorf("--storage-secret (or SUNOMI_STORAGE_SECRET) is too weak: %w", err)
	}
	s.StorageOpts = storage.Options{PublicURL: s.Config.PublicURL, Secret: key, Logger: s.Log}
	if s.Coordinators = cli.SplitList(f.coordinators); len(s.Coordinators) == 0 {
		return errors.New("no coordinator: pass --coordinator http://HOST:7000,… or set SUNOMI_COORDINATOR")
	}
	var err error
	if s.FarmTLS, err = cluster.LoadTLS(f.farmTLS.Files()); err != nil {
		return fmt.Errorf("--farm-tls-*: %w", err)
	}
	return nil
}

// moderation checks the term policy, the report threshold and the automated checks of
// uploads into cfg.
func (f *Flags) moderation(cfg *api.Config) error {
	var err error
	if cfg.Moderation.TermPolicy, err = api.ParseTermPolicy(f.termPolicy); err != nil {
		return fmt.Errorf("--term-policy: %w", err)
	}
	if f.reportThreshold < 1 {
		return errors.New("--report-threshold must be at least 1")
	}
	if f.reportsPerHour < 1 {
		return errors.New("--reports-per-hour must be at least 1")
	}
	if f.hashMaxDistance == 0 || f.hashMaxDistance < -1 || f.hashMaxDistance > 32 {
		return errors.New("--hash-max-distance must be -1 (off) or 1 to 32: at 32 bits unrelated frames match")
	}
	if f.classifier.URL != "" && !isHTTPURL(f.classifier.URL) {
		return fmt.Errorf("--classifier-url %q must be an absolute http(s) URL", f.classifier.URL)
	}
	if f.classifier.WarnAt <= 0 || f.classifier.HoldAt > 100 || f.classifier.WarnAt > f.classifier.HoldAt {
		return errors.New("--classifier-warn-at and --classifier-hold-at must be confidences with 0 < warn ≤ hold ≤ 100")
	}
	cfg.Moderation.ReportThreshold = f.reportThreshold
	cfg.Moderation.ReportsPerHour = f.reportsPerHour
	cfg.Moderation.HashMaxDistance = f.hashMaxDistance
	cfg.Classifier = f.classifier
	return nil
}

// checkTranscription checks the transcription flags.
func (f *Flags) checkTranscription() error {
	t := f.transcription
	if t.URL != "" {
		if !isHTTPURL(t.URL) {
			return fmt.Errorf("--transcription-url %q must be an absolute http(s) URL such as http://whisper:8080", t.URL)
		}
	} else if t.Auto {
		return errors.New("--auto-transcribe needs a transcription service: pass --transcription-url too")
	}
	if t.Model == "" {
		return errors.New("--transcription-model must not be empty")
	}
	if t.Timeout <= 0 {
		return errors.New("--transcription-timeout must be more than 0")
	}
	return nil
}

// tlsConfig loads --tls-cert and --tls-key: nil when neither is given.
func (f *Flags) tlsConfig() (*tls.Config, error) {
	switch {
	case f.tlsCert != "" && f.tlsKey != "":
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	case f.tlsCert != "" || f.tlsKey != "":
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	return nil, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// parsePrefixes reads comma-separated CIDRs; a bare address is a prefix of itself alone.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range cli.SplitList(s) {
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an address such as 10.0.0.5", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// uploadQuotas reads the per-user upload quotas and the upload expiry into c.
func (f *Flags) uploadQuotas(c *api.UploadsConfig) error {
	var err error
	if c.DailyBytes, err = cli.ParseBytes(f.uploadQuotaBytes); err != nil {
		return fmt.Errorf("--upload-quota-bytes: %w", err)
	}
	switch {
	case c.DailyBytes <= 0:
		return errors.New("--upload-quota-bytes must be more than 0")
	case f.uploadQuotaCount < 1:
		return errors.New("--upload-quota-count must be at least 1")
	case f.uploadExpiry < time.Hour:
		return errors.New("--upload-expiry must be at least 1h: uploads of large files take a while")
	}
	c.MaxConcurrent, c.Expiry = f.uploadQuotaCount, f.uploadExpiry
	return nil
}
