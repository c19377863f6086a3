package api

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/storage"
)

// Config configures the service; zero values mean the documented defaults. Each part of the
// service has its own group, which sets its own defaults.
type Config struct {
	Store *store.Store
	Blobs storage.Store
	Farm  Farm
	// PublicURL is where browsers reach this service, e.g. https://sunomi.example; OAuth
	// callbacks and redirects are built from it.
	PublicURL string
	// MediaSecret signs the media URLs of unlisted and private videos (at least 16 bytes).
	MediaSecret []byte
	// MediaTTL is how long such a URL works (default 2 h).
	MediaTTL time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix

	Auth          AuthConfig
	Uploads       UploadsConfig
	Moderation    ModerationConfig
	Classifier    ClassifierConfig    // off without a URL
	Transcription TranscriptionConfig // off without a URL
	Timeouts      TimeoutsConfig
	// Segments is the segment container of new videos' ladders ("": the
	// farm's default, fMP4); videos transcoded before keep theirs.
	Segments media.SegmentFormat
	// AV1 says which videos get AV1 rungs beside H.264 (av1.go); default none.
	AV1 AV1Config
	// GitHub enables "sign in with GitHub" when set.
	GitHub *GitHubConfig

	// WebApp, when set, serves the single-page app (package web) on every GET or HEAD outside
	// /api/, /media/ and the other routes.
	WebApp http.Handler
	// Docs, when set, holds the files of Swagger UI that /api/docs loads (swagger-ui-bundle.js
	// and swagger-ui.css; web.SwaggerUI has them from the web build). Without them the page
	// says how to build them.
	Docs fs.FS
	// TLS says the service is reached over HTTPS (it then sends HSTS).
	TLS bool
	// HomeCacheTTL is how long each replica reuses an anonymous GET /api/v1/videos answer
	// (default 1 s; negative: never).
	HomeCacheTTL time.Duration
	// SyncInterval is how often videos in flight are reconciled with the farm, and due job
	// submissions retried (default 5 s).
	SyncInterval time.Duration
	Logger       *slog.Logger
	// Metrics is the registry the service's metrics go on (api/metrics.go); nil keeps them
	// unregistered.
	Metrics prometheus.Registerer
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() error {
	if c.Store == nil || c.Blobs == nil || c.Farm == nil {
		return errors.New("api: a database, a blob store and a farm are required")
	}
	if len(c.MediaSecret) < 16 {
		return errors.New("api: the media signing secret must be at least 16 bytes")
	}
	setDefault(&c.MediaTTL, 2*time.Hour)
	setDefault(&c.SyncInterval, 5*time.Second)
	setDefault(&c.HomeCacheTTL, time.Second)
	if err := c.Auth.defaults(); err != nil {
		return err
	}
	if err := c.Uploads.defaults(); err != nil {
		return err
	}
	c.Moderation.defaults()
	c.Classifier.defaults()
	c.Transcription.defaults()
	c.Timeouts.defaults()
	if err := c.AV1.defaults(); err != nil {
		return err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// AuthConfig configures access tokens and sign-in.
type AuthConfig struct {
	// SigningKeys sign (the first) and verify (all) access tokens; required.
	SigningKeys []SigningKey
	// TokenTTL is how long an access token lives (default 15 min); ending a session also
	// ends its access tokens at once.
	TokenTTL time.Duration
	// SessionTTL is how long a session lives without a refresh (default 30 days).
	SessionTTL time.Duration
	// Login throttling: at most LoginPerIP attempts per client network (an IPv4 address, an
	// IPv6 /64) and LoginPerAccount failed attempts per account from one client network in each
	// LoginWindow (defaults 20, 10, 15 min).
	LoginPerIP      int
	LoginPerAccount int
	LoginWindow     time.Duration
}

func (c *AuthConfig) defaults() error {
	if len(c.SigningKeys) == 0 {
		return errors.New("api: at least one token signing key is required")
	}
	setDefault(&c.TokenTTL, 15*time.Minute)
	setDefault(&c.SessionTTL, 30*24*time.Hour)
	setDefault(&c.LoginPerIP, 20)
	setDefault(&c.LoginPerAccount, 10)
	setDefault(&c.LoginWindow, 15*time.Minute)
	return nil
}

// UploadsConfig configures video uploads.
type UploadsConfig struct {
	// MaxSize caps a declared upload (default 20 GiB).
	MaxSize int64
	// SinglePutLimit is the largest file uploaded with one PUT (default 64 MiB); larger files
	// use multipart uploads of PartSize parts (default 16 MiB, raised when a file would need
	// more than storage.MaxParts).
	SinglePutLimit int64
	PartSize       int64
	// URLTTL is how long presigned upload URLs work (default 1 h); avatar uploads too.
	URLTTL time.Duration
	// Per-user quotas: declared bytes over any 24 hours (default 20 GiB) and uploads started
	// but not completed (default 5).
	DailyBytes    int64
	MaxConcurrent int
	// Expiry deletes uploads not completed this long after they started (default 24 h); the
	// sweep runs every SweepInterval (default 5 min).
	Expiry        time.Duration
	SweepInterval time.Duration
}

func (c *UploadsConfig) defaults() error {
	setDefault(&c.MaxSize, 20<<30)
	setDefault(&c.SinglePutLimit, 64<<20)
	setDefault(&c.PartSize, 16<<20)
	setDefault(&c.URLTTL, time.Hour)
	setDefault(&c.DailyBytes, 20<<30)
	setDefault(&c.MaxConcurrent, 5)
	setDefault(&c.Expiry, 24*time.Hour)
	setDefault(&c.SweepInterval, 5*time.Minute)
	if c.PartSize < storage.MinPartSize {
		return fmt.Errorf("api: the part size must be at least %d bytes (S3's minimum)", storage.MinPartSize)
	}
	return nil
}

// ModerationConfig configures what users may publish and when a video is held for review.
type ModerationConfig struct {
	// TermPolicy rejects or holds titles, descriptions, tags and comments with listed terms.
	TermPolicy []TermRule
	// ReportThreshold is the weight of open reports that holds a video for review, in
	// established reporters with no history (default 3; store.reportWeights has the rule).
	ReportThreshold int
	// ReportsPerHour is how many reports one user may make in an hour (default 10).
	ReportsPerHour int
	// Re-upload matching (phash.go): an upload is held when at least HashMinFrames of its
	// frames are within HashMaxDistance bits of a removed video's frames, covering at least
	// HashMinFraction of the shorter video's frames (defaults 10, 3, 0.3). A negative
	// HashMaxDistance turns matching off.
	HashMaxDistance int
	HashMinFrames   int
	HashMinFraction float64
}

func (c *ModerationConfig) defaults() {
	setDefault(&c.ReportThreshold, 3)
	setDefault(&c.ReportsPerHour, 10)
	setDefault(&c.HashMaxDistance, 10)
	setDefault(&c.HashMinFrames, 3)
	setDefault(&c.HashMinFraction, 0.3)
}

// ClassifierConfig configures the moderation classifier webhook (classifier.go).
type ClassifierConfig struct {
	// URL, when set, is the webhook.
	URL string
	// Labels with a confidence (0–100) of WarnAt or more become content warnings, of HoldAt
	// or more hold the video (defaults 60, 90).
	WarnAt float64
	HoldAt float64
	// A classifier that fails or takes longer than Timeout (default 10 s) holds the video
	// when FailClosed, and lets it through otherwise.
	Timeout    time.Duration
	FailClosed bool
}

func (c *ClassifierConfig) defaults() {
	setDefault(&c.WarnAt, 60)
	setDefault(&c.HoldAt, 90)
	setDefault(&c.Timeout, 10*time.Second)
}

// TranscriptionConfig configures automatic captions (transcribe.go).
type TranscriptionConfig struct {
	// URL, when set, is the base URL of an OpenAI-compatible speech-to-text service
	// (POST {URL}/v1/audio/transcriptions), e.g. http://whisper:8080 or https://api.openai.com;
	// Key is its Bearer key, if it needs one.
	URL string
	Key string
	// Model names the model (default whisper-1).
	Model string
	// Timeout fails a transcription taking longer (default 10 min).
	Timeout time.Duration
	// Auto transcribes every video when it is published; otherwise owners ask for it.
	Auto bool
}

func (c *TranscriptionConfig) defaults() {
	setDefault(&c.Model, "whisper-1")
	setDefault(&c.Timeout, 10*time.Minute)
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
