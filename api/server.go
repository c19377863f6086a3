// Package api is Sunomi's user-facing service: REST and WebSocket handlers for accounts,
// uploads, videos, playback and live transcoding progress, on PostgreSQL (api/store) and the
// blob store, submitting jobs to the transcoding farm. The contract is api/openapi.yaml; the
// request and response types in api/oapi are generated from it. The service keeps no state of
// its own between requests, so any number of replicas can serve the same users.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/storage"
)

// Farm is the part of the transcoding farm's API the service uses; *client.Client implements it.
type Farm interface {
	SubmitJob(ctx context.Context, req wire.SubmitJob) (wire.Job, error)
	Job(ctx context.Context, id string) (wire.Job, error)
	CancelJob(ctx context.Context, id string) error
	WatchJob(ctx context.Context, id string, fn func(wire.Event) error) error
	Jobs(ctx context.Context) ([]wire.Job, error)
	Agents(ctx context.Context) ([]wire.Agent, error)
	Cluster(ctx context.Context) (wire.Cluster, error)
}

var _ Farm = (*client.Client)(nil)

// Config configures the service; zero values mean the documented defaults.
type Config struct {
	Store *store.Store
	Blobs storage.Store
	Farm  Farm
	// SigningKeys sign (the first) and verify (all) access tokens; required.
	SigningKeys []SigningKey
	// TokenTTL is how long an access token lives (default 24 h).
	TokenTTL time.Duration
	// MediaSecret signs the media URLs of unlisted and private videos (at least 16 bytes).
	MediaSecret []byte
	// MediaTTL is how long such a URL works (default 2 h).
	MediaTTL time.Duration
	// PublicURL is where browsers reach this service, e.g. https://sunomi.example; OAuth
	// callbacks and redirects are built from it.
	PublicURL string
	// MaxUploadSize caps a declared upload (default 20 GiB).
	MaxUploadSize int64
	// SinglePutLimit is the largest file uploaded with one PUT (default 64 MiB); larger files
	// use multipart uploads of PartSize parts (default 16 MiB, raised when a file would need
	// more than storage.MaxParts).
	SinglePutLimit int64
	PartSize       int64
	// UploadURLTTL is how long presigned upload URLs work (default 1 h).
	UploadURLTTL time.Duration
	// Login throttling: at most LoginPerIP attempts per client address and LoginPerAccount
	// failed attempts per account in each LoginWindow (defaults 20, 10, 15 min).
	LoginPerIP      int
	LoginPerAccount int
	LoginWindow     time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// TermPolicy rejects or holds titles, descriptions, tags and comments with listed terms.
	TermPolicy []TermRule
	// ReportThreshold is how many distinct users' open reports hold a video for review
	// (default 3).
	ReportThreshold int
	// Re-upload matching (phash.go): an upload is held when at least HashMinFrames of its
	// frames are within HashMaxDistance bits of a removed video's frames, covering at least
	// HashMinFraction of the shorter video's frames (defaults 10, 3, 0.3). A negative
	// HashMaxDistance turns matching off.
	HashMaxDistance int
	HashMinFrames   int
	HashMinFraction float64
	// ClassifierURL, when set, is the moderation classifier webhook (classifier.go). Labels
	// with a confidence (0–100) of ClassifierWarnAt or more become content warnings, of
	// ClassifierHoldAt or more hold the video (defaults 60, 90). A classifier that fails or
	// takes longer than ClassifierTimeout (default 10 s) holds the video when
	// ClassifierFailClosed, and lets it through otherwise.
	ClassifierURL        string
	ClassifierWarnAt     float64
	ClassifierHoldAt     float64
	ClassifierTimeout    time.Duration
	ClassifierFailClosed bool
	// TranscriptionURL, when set, is the base URL of an OpenAI-compatible speech-to-text
	// service (POST {TranscriptionURL}/v1/audio/transcriptions), e.g. http://whisper:8080 or
	// https://api.openai.com; TranscriptionKey is its Bearer key, if it needs one.
	// TranscriptionModel names the model (default whisper-1); a transcription taking longer
	// than TranscriptionTimeout fails (default 10 min). AutoTranscribe transcribes every
	// video when it is published; otherwise owners ask for it.
	TranscriptionURL     string
	TranscriptionModel   string
	TranscriptionKey     string
	TranscriptionTimeout time.Duration
	AutoTranscribe       bool
	// WebApp, when set, serves the single-page app (package web) on every GET or HEAD outside
	// /api/, /media/ and the other routes.
	WebApp http.Handler
	// GitHub enables "sign in with GitHub" when set.
	GitHub *GitHubConfig
	// TLS says the service is reached over HTTPS (it then sends HSTS).
	TLS bool
	// HomeCacheTTL is how long each replica reuses an anonymous GET /api/v1/videos answer
	// (default 1 s; negative: never).
	HomeCacheTTL time.Duration
	// SyncInterval is how often videos in flight are reconciled with the farm (default 5 s).
	SyncInterval time.Duration
	Logger       *slog.Logger
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() error {
	if c.Store == nil || c.Blobs == nil || c.Farm == nil {
		return errors.New("api: a database, a blob store and a farm are required")
	}
	if len(c.SigningKeys) == 0 {
		return errors.New("api: at least one token signing key is required")
	}
	if len(c.MediaSecret) < 16 {
		return errors.New("api: the media signing secret must be at least 16 bytes")
	}
	setDefault(&c.TokenTTL, 24*time.Hour)
	setDefault(&c.MediaTTL, 2*time.Hour)
	setDefault(&c.MaxUploadSize, 20<<30)
	setDefault(&c.SinglePutLimit, 64<<20)
	setDefault(&c.PartSize, 16<<20)
	setDefault(&c.UploadURLTTL, time.Hour)
	setDefault(&c.LoginPerIP, 20)
	setDefault(&c.LoginPerAccount, 10)
	setDefault(&c.LoginWindow, 15*time.Minute)
	setDefault(&c.SyncInterval, 5*time.Second)
	setDefault(&c.HomeCacheTTL, time.Second)
	setDefault(&c.ReportThreshold, 3)
	setDefault(&c.HashMaxDistance, 10)
	setDefault(&c.HashMinFrames, 3)
	setDefault(&c.HashMinFraction, 0.3)
	setDefault(&c.ClassifierWarnAt, 60)
	setDefault(&c.ClassifierHoldAt, 90)
	setDefault(&c.ClassifierTimeout, 10*time.Second)
	setDefault(&c.TranscriptionModel, "whisper-1")
	setDefault(&c.TranscriptionTimeout, 10*time.Minute)
	if c.PartSize < storage.MinPartSize {
		return fmt.Errorf("api: the part size must be at least %d bytes (S3's minimum)", storage.MinPartSize)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Server serves the API.
type Server struct {
	cfg     Config
	db      *store.Store
	blobs   storage.Store
	farm    Farm
	log     *slog.Logger
	now     func() time.Time
	relay   *relay
	counts  *countsHub // live view, like and comment counts for this replica's sockets
	terms   termPolicy
	handler http.Handler

	// transcriber is nil when no transcription service is configured.
	transcriber *transcriber

	// life ends at Close: background work and every WebSocket stop with it (a hijacked
	// connection outlives http.Server.Shutdown otherwise).
	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ oapi.ServerInterface = (*Server)(nil)

// New builds the service; Start runs its background work.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		db:    cfg.Store,
		blobs: cfg.Blobs,
		farm:  cfg.Farm,
		log:   cfg.Logger.With("component", "api"),
		now:   cfg.Now,
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	s.relay = newRelay(s)
	s.counts = newCountsHub(s)
	s.terms = compileTermPolicy(cfg.TermPolicy)
	s.transcriber = newTranscriber(cfg)
	s.handler = s.routes()
	return s, nil
}

// Handler serves the API, the media and (in local storage mode) the blob upload URLs.
func (s *Server) Handler() http.Handler { return s.handler }

// Start reconciles every video in flight with the farm, then keeps doing so in the background
// until Close. Reconciliation is what guarantees that no video stays queued or processing when
// the API was down as its job ended.
func (s *Server) Start(ctx context.Context) error {
	if err := s.reconcile(ctx); err != nil {
		s.log.Warn("reconcile with the farm", "error", err)
	}
	s.wg.Go(func() { s.syncLoop(s.life) })
	s.startCounts(ctx)
	return nil
}

// Close stops the background work and closes every WebSocket.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	s.relay.close()
	s.counts.close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.securityHeaders)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Get("/readyz", s.ready)
	r.Get("/api/v1/openapi.json", serveOpenAPI)
	r.Get("/api/docs", serveDocs)
	r.Get("/api/docs/init.js", serveDocsInit)
	r.Get("/media/{videoId}/*", s.serveMedia)
	r.Get(avatarsPath+"{userId}/{file}", s.serveAvatar)
	if local, ok := s.blobs.(*storage.Local); ok {
		r.Handle(storage.BlobPath+"*", local.Handler())
	}
	r.Group(func(r chi.Router) {
		if s.cfg.HomeCacheTTL > 0 {
			r.Use(newHomeCache(s.cfg.HomeCacheTTL, s.now).middleware)
		}
		r.Use(s.authenticate)
		oapi.HandlerWithOptions(s, oapi.ChiServerOptions{
			BaseURL:    "/api/v1",
			BaseRouter: r,
			ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
				s.fail(w, r, paramError(err))
			},
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.WebApp != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			!strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/media/") {
			s.cfg.WebApp.ServeHTTP(w, r)
			return
		}
		s.fail(w, r, &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &httpError{status: http.StatusMethodNotAllowed, code: codeInvalid, message: r.Method + " is not allowed on " + r.URL.Path})
	})
	return r
}

// paramError names the query or path parameter the generated wrapper could not parse.
func paramError(err error) *httpError {
	var invalid *oapi.InvalidParamFormatError
	var required *oapi.RequiredParamError
	switch {
	case errors.As(err, &invalid):
		return errField(invalid.ParamName, "has the wrong format")
	case errors.As(err, &required):
		return errField(required.ParamName, "is required")
	default:
		return errInvalid(err.Error(), nil)
	}
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.db.Pool().Ping(r.Context()); err != nil {
		s.fail(w, r, errUnavailable("the database does not answer"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// recoverer turns a handler panic into a 500 that reveals nothing, and logs it.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are sent with every response. The CSP fits the web app: scripts and styles
// from this origin, media from this origin and blob: (hls.js feeds MediaSource), uploads to
// the blob store's origin.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; "+
			"connect-src 'self' https: http:; style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'")
		if s.cfg.TLS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
