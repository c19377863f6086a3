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
	SubmitJob(ctx context.Context, key string, req wire.SubmitJob) (wire.Job, error)
	Job(ctx context.Context, id string) (wire.Job, error)
	CancelJob(ctx context.Context, id string) error
	AddAV1(ctx context.Context, id string) (wire.Job, error)
	WatchJob(ctx context.Context, id string, fn func(wire.Event) error) error
	Jobs(ctx context.Context) ([]wire.Job, error)
	Agents(ctx context.Context) ([]wire.Agent, error)
	Cluster(ctx context.Context) (wire.Cluster, error)
}

var _ Farm = (*client.Client)(nil)

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
	metrics *metrics

	// transcriber and classifier are nil when their services are not configured.
	transcriber *transcriber
	classifier  *classifier

	// publisher applies jobs' states to their videos, publishing those whose job is done;
	// reuploads matches their frame hashes against those of removed videos.
	publisher *publisher
	reuploads *reuploads

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
		log:   cfg.Logger.With("component", "api"),
		now:   cfg.Now,
	}
	var err error
	if s.metrics, err = newMetrics(cfg.Metrics, cfg.Store, s.log); err != nil {
		return nil, err
	}
	s.farm = countingFarm{Farm: cfg.Farm, jobs: s.metrics.jobs}
	s.life, s.cancel = context.WithCancel(context.Background())
	var matcher *hashMatcher
	if m := cfg.Moderation; m.HashMaxDistance >= 0 {
		matcher = &hashMatcher{maxDistance: m.HashMaxDistance, minFrames: m.HashMinFrames, minFraction: m.HashMinFraction}
	}
	s.classifier = newClassifier(cfg.Classifier, cfg.Blobs, s.log)
	s.reuploads = newReuploads(s.db, s.blobs, matcher, s.log)
	s.publisher = newPublisher(s.db, s.blobs, s.reuploads, s.classifier.classify, s.afterPublish,
		publishClaimTTL+cfg.Classifier.Timeout, s.log)
	s.publisher.screened = s.metrics.observeScreening
	s.publisher.publicPlayable = s.metrics.observePublicPlayable
	s.relay = newRelay(s.farm, s.publisher.jobChanged, cfg.Now, s.log)
	s.counts = newCountsHub(cfg.Store, s.log)
	s.terms = compileTermPolicy(cfg.Moderation.TermPolicy)
	s.transcriber = newTranscriber(cfg.Transcription, cfg.Blobs)
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
	s.wg.Go(func() { s.pruneLoop(s.life) })
	s.wg.Go(func() { s.sweepLoop(s.life) })
	s.wg.Go(func() { s.av1Loop(s.life) })
	s.counts.Start(ctx)
	return nil
}

// Close stops the background work and closes every WebSocket.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	// The parts stop together: each waits for its own work until ctx ends.
	err := errors.Join(s.relay.Close(ctx), s.counts.Close(ctx), s.transcriber.Close(ctx), s.classifier.Close(ctx), waitFor(ctx, &s.wg))
	if ctx.Err() != nil {
		return ctx.Err() // every part that gave up did so for this one reason
	}
	return err
}

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.metrics.middleware, s.recoverer, s.deadlines, s.securityHeaders)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Get("/readyz", s.ready)
	r.Get("/api/v1/openapi.json", serveOpenAPI)
	r.Get("/api/docs", s.serveDocs)
	r.Get("/api/docs/init.js", serveDocsInit)
	r.Get("/api/docs/{file}", s.serveDocsAsset)
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
	s.handle(w, r, func() error {
		if err := s.db.Pool().Ping(r.Context()); err != nil {
			return errUnavailable("the database does not answer")
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
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
