package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/api"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/web"
)

// Timeouts of the process's life: connecting to the database at start-up (migrations included),
// and letting requests in flight finish at shutdown (Nomad's kill_timeout is 30 s).
const (
	startTimeout    = time.Minute
	shutdownTimeout = 25 * time.Second
)

type flags struct {
	http, databaseURL         string
	storageURL, storageSecret string
	coordinators              string
	token, tokenFile          string
	jwtKeys, mediaSecret      string
	publicURL                 string
	maxUploadSize             string
	singlePutLimit, partSize  string
	trustedProxies            string
	termPolicy                string
	moderation                moderationFlags
	transcriptionURL          string
	transcriptionModel        string
	transcriptionKey          string
	transcriptionTimeout      time.Duration
	autoTranscribe            bool
	github                    api.GitHubConfig
	tlsCert, tlsKey           string
	logLevel                  string
}

// envVars stand in for the flags the command line leaves unset. Secrets come from the
// environment rather than flags in production (flags show in ps); the cluster token is read by
// cluster.ReadCredentials, from --token, --token-file or $SUNOMI_TOKEN.
var envVars = []struct{ flag, env string }{
	{"http", "SUNOMI_HTTP"},
	{"database-url", "DATABASE_URL"},
	{"storage", "SUNOMI_STORAGE"},
	{"storage-secret", "SUNOMI_STORAGE_SECRET"},
	{"coordinator", "SUNOMI_COORDINATOR"},
	{"jwt-keys", "SUNOMI_JWT_KEYS"},
	{"media-secret", "SUNOMI_MEDIA_SECRET"},
	{"public-url", "SUNOMI_PUBLIC_URL"},
	{"max-upload-size", "SUNOMI_MAX_UPLOAD_SIZE"},
	{"single-put-limit", "SUNOMI_SINGLE_PUT_LIMIT"},
	{"part-size", "SUNOMI_PART_SIZE"},
	{"trusted-proxies", "SUNOMI_TRUSTED_PROXIES"},
	{"term-policy", "SUNOMI_TERM_POLICY"},
	{"report-threshold", "SUNOMI_REPORT_THRESHOLD"},
	{"classifier-url", "SUNOMI_CLASSIFIER_URL"},
	{"classifier-fail-closed", "SUNOMI_CLASSIFIER_FAIL_CLOSED"},
	{"transcription-url", "SUNOMI_TRANSCRIPTION_URL"},
	{"transcription-model", "SUNOMI_TRANSCRIPTION_MODEL"},
	{"transcription-key", "SUNOMI_TRANSCRIPTION_KEY"},
	{"auto-transcribe", "SUNOMI_AUTO_TRANSCRIBE"},
	{"github-client-id", "GITHUB_CLIENT_ID"},
	{"github-client-secret", "GITHUB_CLIENT_SECRET"},
	{"tls-cert", "SUNOMI_TLS_CERT"},
	{"tls-key", "SUNOMI_TLS_KEY"},
	{"log-level", "SUNOMI_LOG_LEVEL"},
}

func newAPICmd() *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:           "api --database-url URL --storage URL --coordinator URL,… --jwt-keys KID:SECRET --media-secret SECRET",
		Short:         "Run Sunomi's API service (REST and WebSocket for the web app)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			s, err := f.settings()
			if err != nil {
				return err
			}
			return run(cmd.Context(), s)
		},
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	fl := cmd.Flags()
	fl.StringVar(&f.http, "http", ":8080", "HOST:PORT to serve on (or $SUNOMI_HTTP)")
	fl.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL URL, postgres://user:password@host:5432/db (or $DATABASE_URL; required)")
	fl.StringVar(&f.storageURL, "storage", "", "blob store shared with the coordinators: file:///dir or s3://bucket?endpoint=HOST:PORT&secure=false (or $SUNOMI_STORAGE; required); S3 credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	fl.StringVar(&f.storageSecret, "storage-secret", "", "HMAC key, at least 16 bytes, signing the upload URLs of file:// storage; every replica needs the same (or $SUNOMI_STORAGE_SECRET; default: derived from the media secret)")
	fl.StringVar(&f.coordinators, "coordinator", "", "comma-separated coordinator URLs, tried in turn (or $SUNOMI_COORDINATOR; required)")
	fl.StringVar(&f.token, "token", "", "cluster token (or $SUNOMI_TOKEN)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the cluster token")
	fl.StringVar(&f.jwtKeys, "jwt-keys", "", "access-token signing keys kid:secret,… (secrets of 32+ characters; the first signs, all verify) (or $SUNOMI_JWT_KEYS; required)")
	fl.StringVar(&f.mediaSecret, "media-secret", "", "secret of 16+ bytes signing the media URLs of unlisted and private videos (or $SUNOMI_MEDIA_SECRET; required)")
	fl.StringVar(&f.publicURL, "public-url", "", "where browsers reach the service, e.g. https://sunomi.example (or $SUNOMI_PUBLIC_URL; required with file:// storage or GitHub sign-in)")
	fl.StringVar(&f.maxUploadSize, "max-upload-size", "20GiB", "largest upload accepted, e.g. 20GiB (or $SUNOMI_MAX_UPLOAD_SIZE)")
	fl.StringVar(&f.singlePutLimit, "single-put-limit", "64MiB", "largest file uploaded with one PUT; larger ones go in resumable multipart parts (or $SUNOMI_SINGLE_PUT_LIMIT)")
	fl.StringVar(&f.partSize, "part-size", "16MiB", "multipart part size, at least 5MiB (S3's minimum) (or $SUNOMI_PART_SIZE)")
	fl.StringVar(&f.termPolicy, "term-policy", "", "terms refused or held for review in titles, descriptions, tags and comments: reject:TERM,hold:PHRASE,… (or $SUNOMI_TERM_POLICY)")
	fl.IntVar(&f.moderation.reportThreshold, "report-threshold", 3, "distinct users whose reports hide a video pending review (or $SUNOMI_REPORT_THRESHOLD)")
	fl.IntVar(&f.moderation.hashMaxDistance, "hash-max-distance", 10, "largest Hamming distance (bits of 64) at which an upload's frame matches a removed video's; -1 turns re-upload matching off")
	fl.StringVar(&f.moderation.classifierURL, "classifier-url", "", "moderation classifier webhook: frames in, Rekognition-style moderation labels out (or $SUNOMI_CLASSIFIER_URL)")
	fl.Float64Var(&f.moderation.classifierWarnAt, "classifier-warn-at", 60, "confidence (0-100) from which a classifier label becomes a content warning")
	fl.Float64Var(&f.moderation.classifierHoldAt, "classifier-hold-at", 90, "confidence (0-100) from which a classifier label holds the video for review")
	fl.BoolVar(&f.moderation.classifierFailClosed, "classifier-fail-closed", false, "hold videos for review when the classifier fails, instead of publishing them unchecked (or $SUNOMI_CLASSIFIER_FAIL_CLOSED)")
	fl.StringVar(&f.transcriptionURL, "transcription-url", "", "base URL of an OpenAI-compatible speech-to-text service for automatic captions, e.g. http://whisper:8080 or https://api.openai.com (or $SUNOMI_TRANSCRIPTION_URL)")
	fl.StringVar(&f.transcriptionModel, "transcription-model", "whisper-1", "model the transcription service runs (or $SUNOMI_TRANSCRIPTION_MODEL)")
	fl.StringVar(&f.transcriptionKey, "transcription-key", "", "Bearer key of the transcription service, if it needs one (or $SUNOMI_TRANSCRIPTION_KEY)")
	fl.DurationVar(&f.transcriptionTimeout, "transcription-timeout", 10*time.Minute, "longest a transcription may take")
	fl.BoolVar(&f.autoTranscribe, "auto-transcribe", false, "transcribe every video into captions when it is published; needs --transcription-url (or $SUNOMI_AUTO_TRANSCRIBE)")
	fl.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs or addresses of the reverse proxies whose X-Forwarded-For names the client (or $SUNOMI_TRUSTED_PROXIES)")
	f.github.AddFlags(fl)
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate chain: serve HTTPS (with --tls-key) (or $SUNOMI_TLS_CERT)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert (or $SUNOMI_TLS_KEY)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (or $SUNOMI_LOG_LEVEL)")
	return cmd
}

// applyEnv sets every flag of envVars that the command line left unset from its environment
// variable, through the flag's own parser.
func applyEnv(cmd *cobra.Command) error {
	fl := cmd.Flags()
	for _, v := range envVars {
		if fl.Changed(v.flag) {
			continue
		}
		if val := os.Getenv(v.env); val != "" {
			if err := fl.Set(v.flag, val); err != nil {
				return fmt.Errorf("$%s: %w", v.env, err)
			}
		}
	}
	return nil
}

// settings are the flags, checked and parsed: everything run needs.
type settings struct {
	cfg          api.Config // without its store, blob store and farm, which run opens
	http         string
	databaseURL  string
	storageURL   string
	storageOpts  storage.Options
	coordinators []string
	token        string
	tls          *tls.Config
	log          *slog.Logger
}

// settings checks the flags before anything is opened, so that a mistake is one line at once.
func (f flags) settings() (settings, error) {
	var s settings
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return s, fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	s.cfg.Logger = s.log

	if s.http = f.http; s.http == "" {
		return s, errors.New("--http must not be empty: give HOST:PORT, such as :8080")
	}
	if s.databaseURL = f.databaseURL; s.databaseURL == "" {
		return s, errors.New("no database: pass --database-url postgres://… or set DATABASE_URL")
	}
	var err error
	if f.jwtKeys == "" {
		return s, errors.New("no token signing keys: pass --jwt-keys kid:secret or set SUNOMI_JWT_KEYS (every replica needs the same)")
	}
	if s.cfg.SigningKeys, err = api.ParseSigningKeys(f.jwtKeys); err != nil {
		return s, fmt.Errorf("--jwt-keys: %w", err)
	}
	if len(f.mediaSecret) < 16 {
		return s, errors.New("--media-secret (or SUNOMI_MEDIA_SECRET) must be at least 16 bytes; every replica needs the same")
	}
	s.cfg.MediaSecret = []byte(f.mediaSecret)

	if s.storageURL = f.storageURL; s.storageURL == "" {
		return s, errors.New("no blob store: pass --storage file:///dir or s3://bucket?endpoint=…, the one the coordinators use, or set SUNOMI_STORAGE")
	}
	local := strings.HasPrefix(s.storageURL, "file:")
	if f.publicURL != "" {
		u, err := url.Parse(f.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("--public-url %q must be an absolute http(s) URL such as https://sunomi.example", f.publicURL)
		}
		s.cfg.PublicURL = strings.TrimRight(f.publicURL, "/")
	} else if local {
		return s, errors.New("--public-url (or SUNOMI_PUBLIC_URL) is required with file:// storage: upload URLs point at this service")
	}
	secret := []byte(f.storageSecret)
	if len(secret) == 0 {
		// Derived rather than the media secret itself: one key, one purpose.
		k := sha256.Sum256([]byte("sunomi-api-blobs:" + f.mediaSecret))
		secret = k[:]
	} else if len(secret) < storage.MinSecretSize {
		return s, fmt.Errorf("--storage-secret must be at least %d bytes", storage.MinSecretSize)
	}
	s.storageOpts = storage.Options{PublicURL: s.cfg.PublicURL, Secret: secret, Logger: s.log}

	if s.coordinators = splitList(f.coordinators); len(s.coordinators) == 0 {
		return s, errors.New("no coordinator: pass --coordinator http://HOST:7000,… or set SUNOMI_COORDINATOR")
	}
	creds, err := cluster.ReadCredentials(cluster.CredentialSources{Token: f.token, TokenFile: f.tokenFile})
	if err != nil {
		return s, err
	}
	s.token = creds.Token

	if s.cfg.MaxUploadSize, err = cli.ParseBytes(f.maxUploadSize); err != nil {
		return s, fmt.Errorf("--max-upload-size: %w", err)
	}
	if s.cfg.MaxUploadSize == 0 {
		return s, errors.New("--max-upload-size must be more than 0")
	}
	if s.cfg.SinglePutLimit, s.cfg.PartSize, err = cli.ParseUploadParts(f.singlePutLimit, f.partSize); err != nil {
		return s, err
	}
	if s.cfg.TermPolicy, err = api.ParseTermPolicy(f.termPolicy); err != nil {
		return s, fmt.Errorf("--term-policy: %w", err)
	}
	if err := f.moderation.apply(&s.cfg); err != nil {
		return s, err
	}
	if s.cfg.TrustedProxies, err = parsePrefixes(f.trustedProxies); err != nil {
		return s, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if err := f.transcription(&s.cfg); err != nil {
		return s, err
	}

	if s.cfg.GitHub, err = f.github.Enabled(); err != nil {
		return s, err
	}
	if s.cfg.GitHub != nil && s.cfg.PublicURL == "" {
		return s, errors.New("--public-url (or SUNOMI_PUBLIC_URL) is required for GitHub sign-in: GitHub redirects back to it")
	}

	switch {
	case f.tlsCert != "" && f.tlsKey != "":
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return s, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case f.tlsCert != "" || f.tlsKey != "":
		return s, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	// Behind a proxy that terminates TLS the service speaks plain HTTP, yet browsers reach it
	// over HTTPS: the public URL says so, and HSTS is then right too.
	s.cfg.TLS = s.tls != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")
	return s, nil
}

// transcription checks the transcription flags into cfg.
func (f flags) transcription(cfg *api.Config) error {
	if f.transcriptionURL != "" {
		u, err := url.Parse(f.transcriptionURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--transcription-url %q must be an absolute http(s) URL such as http://whisper:8080", f.transcriptionURL)
		}
	} else if f.autoTranscribe {
		return errors.New("--auto-transcribe needs a transcription service: pass --transcription-url too")
	}
	if f.transcriptionModel == "" {
		return errors.New("--transcription-model must not be empty")
	}
	if f.transcriptionTimeout <= 0 {
		return errors.New("--transcription-timeout must be more than 0")
	}
	cfg.TranscriptionURL = f.transcriptionURL
	cfg.TranscriptionModel = f.transcriptionModel
	cfg.TranscriptionKey = f.transcriptionKey
	cfg.TranscriptionTimeout = f.transcriptionTimeout
	cfg.AutoTranscribe = f.autoTranscribe
	return nil
}

// moderationFlags are the report threshold and the automated checks of uploads.
type moderationFlags struct {
	reportThreshold                    int
	hashMaxDistance                    int
	classifierURL                      string
	classifierWarnAt, classifierHoldAt float64
	classifierFailClosed               bool
}

// apply checks the moderation flags into cfg.
func (m moderationFlags) apply(cfg *api.Config) error {
	if m.reportThreshold < 1 {
		return errors.New("--report-threshold must be at least 1")
	}
	if m.hashMaxDistance == 0 || m.hashMaxDistance < -1 || m.hashMaxDistance > 32 {
		return errors.New("--hash-max-distance must be -1 (off) or 1 to 32: at 32 bits unrelated frames match")
	}
	if m.classifierURL != "" {
		u, err := url.Parse(m.classifierURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--classifier-url %q must be an absolute http(s) URL", m.classifierURL)
		}
	}
	if m.classifierWarnAt <= 0 || m.classifierHoldAt > 100 || m.classifierWarnAt > m.classifierHoldAt {
		return errors.New("--classifier-warn-at and --classifier-hold-at must be confidences with 0 < warn ≤ hold ≤ 100")
	}
	cfg.ReportThreshold = m.reportThreshold
	cfg.HashMaxDistance = m.hashMaxDistance
	cfg.ClassifierURL = m.classifierURL
	cfg.ClassifierWarnAt, cfg.ClassifierHoldAt = m.classifierWarnAt, m.classifierHoldAt
	cfg.ClassifierFailClosed = m.classifierFailClosed
	return nil
}

func run(ctx context.Context, s settings) error {
	log := s.log
	// Listening first makes a taken port the first error, before the database is touched.
	ln, err := net.Listen("tcp", s.http)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.http, err)
	}
	defer ln.Close()

	openCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	db, err := store.Open(openCtx, s.databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(openCtx, log); err != nil {
		return err
	}
	blobs, err := storage.Open(s.storageURL, s.storageOpts)
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	cfg := s.cfg
	cfg.Store, cfg.Blobs, cfg.Farm = db, blobs, client.New(s.coordinators, s.token, nil)
	cfg.WebApp = web.Handler()
	srv, err := api.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}

	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 10 * time.Second,
		// No read or write timeout: uploads and media responses may take long, and WebSockets
		// live for the whole transcode. Idle keep-alive connections are closed.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() {
		if s.tls != nil {
			served <- hs.ServeTLS(ln, "", "")
		} else {
			served <- hs.Serve(ln)
		}
	}()
	log.Info("api listening", "addr", ln.Addr().String(), "tls", s.tls != nil, "public_url", cfg.PublicURL,
		"coordinators", strings.Join(s.coordinators, ","))

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-served:
		serveErr = fmt.Errorf("serve http: %w", serveErr)
	}
	stopCtx, cancelStop := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelStop()
	errs := []error{serveErr}
	if err := hs.Shutdown(stopCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop http: %w", err))
	}
	if err := srv.Close(stopCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop api: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("api stopped")
	return nil
}

func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parsePrefixes reads comma-separated CIDRs; a bare address is a prefix of itself alone.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range splitList(s) {
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
