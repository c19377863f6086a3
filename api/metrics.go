package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
)

// metrics are the API service's own, on the registry of Config.Metrics. Labels stay bounded:
// chi's route pattern (never the raw path, which holds video and user IDs), the method, the
// status class, and fixed outcome sets. Each replica counts its own requests; dashboards sum
// them. The database gauges (videos by status) read the shared database, so every replica
// reports the same figures: dashboards take their max.
type metrics struct {
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	// websockets are the open WebSocket connections of this replica; a socket's request lasts
	// as long as the socket, so it is counted here rather than in durations.
	websockets prometheus.Gauge
	uploads    *prometheus.CounterVec
	jobs       *prometheus.CounterVec
	screening  *prometheus.CounterVec
	logins     *prometheus.CounterVec
	// transcriptions count automatic captions by outcome; transcriptionsRunning are those
	// waiting on the speech-to-text service now.
	transcriptions        *prometheus.CounterVec
	transcriptionsRunning prometheus.Gauge
	// timeToPlayable is the farm's metric of the same name: the API observes its public
	// audience, the coordinators' leader its owner audience.
	timeToPlayable *prometheus.HistogramVec
}

// Label values of the API's metrics.
const (
	// routeUnmatched is the route of requests no API route matched: the web app's pages and
	// unknown paths.
	routeUnmatched = "unmatched"

	uploadStarted   = "started"
	uploadCompleted = "completed"
	uploadFailed    = "failed"

	jobSubmitted = "submitted"
	jobRefused   = "refused"
	jobError     = "error"

	screeningPassed     = "passed"
	screeningRestricted = "restricted"
	screeningHeld       = "held"

	loginSucceeded = "succeeded"
	loginFailed    = "failed"
	loginThrottled = "throttled"

	transcriptionSucceeded = "succeeded"
	transcriptionNoSpeech  = "no_speech"
	transcriptionFailed    = "failed"
)

var (
	httpMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions}
	videoStatuses = []string{store.StatusUploading, store.StatusQueued, store.StatusProcessing,
		store.StatusReady, store.StatusFailed, store.StatusRemoved}
	// inFlightStatuses are those a video must leave on its own; the age of their oldest video
	// is what tells a stuck pipeline.
	inFlightStatuses = []string{store.StatusQueued, store.StatusProcessing}
)

func newMetrics(reg prometheus.Registerer, db *store.Store, log *slog.Logger) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_api_http_requests_total",
			Help: "HTTP requests answered, by chi route pattern, method and status class (2xx, 4xx, 5xx…)."},
			[]string{"route", "method", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunomi_api_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, WebSockets excepted, by chi route pattern, method and status class.",
			// 1 ms to 33 s: JSON answers sit at the low end, uploads through local storage high.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sunomi_api_http_requests_in_flight", Help: "HTTP requests being answered now, WebSockets excepted."}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sunomi_api_websockets", Help: "Open WebSocket connections (live progress and counts)."}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_api_uploads_total",
			Help: "Uploads started, completed (queued for transcoding) and failed (the stored file does not match what was declared)."},
			[]string{"outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_api_jobs_submitted_total",
			Help: "Transcoding job submissions to the farm: submitted, refused for good (the video fails) or error (retried)."},
			[]string{"outcome"}),
		screening: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_api_screening_total",
			Help: "Published videos by the automated checks' verdict: passed, restricted (content warnings) or held for review."},
			[]string{"outcome"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_api_logins_total",
			Help: "Password sign-ins: succeeded, failed (wrong username or password) or throttled (too many attempts)."},
			[]string{"outcome"}),
		transcriptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_api_transcriptions_total",
			Help: "Automatic captions asked of the speech-to-text service: succeeded, no_speech (no audio or nothing said) or failed."},
			[]string{"outcome"}),
		transcriptionsRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sunomi_api_transcriptions_running", Help: "Transcriptions waiting on the speech-to-text service now."}),
		timeToPlayable: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: wire.TimeToPlayableMetric, Help: wire.TimeToPlayableHelp,
			// 0.5 s to 2.3 h, as the leader's owner series.
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 15)}, []string{"audience"}),
	}
	// Series that exist from the start, so rates and alerts see a zero rather than nothing.
	for _, o := range []string{uploadStarted, uploadCompleted, uploadFailed} {
		m.uploads.WithLabelValues(o)
	}
	for _, o := range []string{jobSubmitted, jobRefused, jobError} {
		m.jobs.WithLabelValues(o)
	}
	for _, o := range []string{screeningPassed, screeningRestricted, screeningHeld} {
		m.screening.WithLabelValues(o)
	}
	for _, o := range []string{loginSucceeded, loginFailed, loginThrottled} {
		m.logins.WithLabelValues(o)
	}
	for _, o := range []string{transcriptionSucceeded, transcriptionNoSpeech, transcriptionFailed} {
		m.transcriptions.WithLabelValues(o)
	}
	m.timeToPlayable.WithLabelValues(wire.AudiencePublic)
	collectors := []prometheus.Collector{m.requests, m.durations, m.inFlight, m.websockets,
		m.uploads, m.jobs, m.screening, m.logins, m.transcriptions, m.transcriptionsRunning, m.timeToPlayable,
		newPoolCollector(db), newVideoCollector(db, log)}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// middleware counts and times every request under the route chi matched. It runs first, so
// the recoverer's 500s are counted too.
func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		gauge := m.inFlight
		if socket {
			gauge = m.websockets
		}
		gauge.Inc()
		defer gauge.Dec()
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			// A handler that panics with http.ErrAbortHandler wrote nothing the client reads.
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK // a handler that wrote nothing: net/http answers 200
			}
			labels := prometheus.Labels{"route": routeLabel(r), "method": methodLabel(r.Method), "code": statusClass(status)}
			m.requests.With(labels).Inc()
			if !socket {
				m.durations.With(labels).Observe(time.Since(start).Seconds())
			}
		}()
		next.ServeHTTP(ww, r)
	})
}

// routeLabel is the route pattern chi matched, such as /api/v1/videos/{videoId}.
func routeLabel(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return routeUnmatched
	}
	p := rc.RoutePattern()
	if p == "" || p == "/*" {
		return routeUnmatched
	}
	return p
}

func methodLabel(method string) string {
	for _, m := range httpMethods {
		if m == method {
			return m
		}
	}
	return "other"
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// countUpload counts one step of an upload: started or completed.
func (m *metrics) countUpload(outcome string) { m.uploads.WithLabelValues(outcome).Inc() }

// countUploadCheck counts the outcome of checking a completed upload's file: err is
// finishSource's. Only the client's mistakes (a file that does not match its declaration)
// fail the upload; an internal error leaves it to be completed again.
func (m *metrics) countUploadCheck(err error) error {
	var he *httpError
	if errors.As(err, &he) && he.status < http.StatusInternalServerError {
		m.countUpload(uploadFailed)
	}
	return err
}

// countLogin wraps the body of the sign-in handler, counting what it answered.
func (m *metrics) countLogin(body func() error) func() error {
	return func() error {
		err := body()
		var he *httpError
		switch {
		case err == nil:
			m.logins.WithLabelValues(loginSucceeded).Inc()
		case !errors.As(err, &he):
		case he.status == http.StatusUnauthorized:
			m.logins.WithLabelValues(loginFailed).Inc()
		case he.status == http.StatusTooManyRequests:
			m.logins.WithLabelValues(loginThrottled).Inc()
		}
		return err
	}
}

// observeScreening counts the verdict a video was published with, as its row has it once
// published (a video held while it transcoded stays held whatever the last checks found); the
// publisher calls it when MarkReady changed the video, so a repeated notice is not counted
// twice.
func (m *metrics) observeScreening(v store.Video) {
	outcome := screeningPassed
	switch {
	case v.Screening == store.ScreeningHeld:
		outcome = screeningHeld
	case v.Moderation == store.ModerationRestricted:
		outcome = screeningRestricted
	}
	m.screening.WithLabelValues(outcome).Inc()
}

// observePublicPlayable records a video's time from its job's submission to when others could
// first watch it (see publisher.observePublic).
func (m *metrics) observePublicPlayable(d time.Duration) {
	m.timeToPlayable.WithLabelValues(wire.AudiencePublic).Observe(d.Seconds())
}

// transcribing counts a transcription from its start; the function it returns counts how it
// ended (err nil: captions were made).
func (m *metrics) transcribing() func(err error) {
	m.transcriptionsRunning.Inc()
	return func(err error) {
		m.transcriptionsRunning.Dec()
		outcome := transcriptionSucceeded
		switch {
		case errors.Is(err, errNoAudio), errors.Is(err, errNoSpeech):
			outcome = transcriptionNoSpeech
		case err != nil:
			outcome = transcriptionFailed
		}
		m.transcriptions.WithLabelValues(outcome).Inc()
	}
}

// countingFarm counts the job submissions of the Farm it wraps.
type countingFarm struct {
	Farm
	jobs *prometheus.CounterVec
}

func (f countingFarm) SubmitJob(ctx context.Context, key string, req wire.SubmitJob) (wire.Job, error) {
	job, err := f.Farm.SubmitJob(ctx, key, req)
	outcome := jobSubmitted
	if _, refused := refusal(err); refused {
		outcome = jobRefused
	} else if err != nil {
		outcome = jobError
	}
	f.jobs.WithLabelValues(outcome).Inc()
	return job, err
}

// poolCollector reads the PostgreSQL connection pool's statistics at scrape time.
type poolCollector struct {
	db                                                  *store.Store
	conns, maxConns, acquires, waits, waitTime, cancels *prometheus.Desc
}

func newPoolCollector(db *store.Store) *poolCollector {
	return &poolCollector{db: db,
		conns: prometheus.NewDesc("sunomi_api_db_connections",
			"Connections of the PostgreSQL pool by state: acquired (in use), idle, constructing.", []string{"state"}, nil),
		maxConns: prometheus.NewDesc("sunomi_api_db_max_connections", "Largest size of the PostgreSQL pool.", nil, nil),
		acquires: prometheus.NewDesc("sunomi_api_db_acquires_total", "Connections taken from the PostgreSQL pool.", nil, nil),
		waits: prometheus.NewDesc("sunomi_api_db_acquire_waits_total",
			"Acquires that had to wait for a connection to be freed or opened: a pool too small shows here first.", nil, nil),
		waitTime: prometheus.NewDesc("sunomi_api_db_acquire_wait_seconds_total",
			"Time spent acquiring connections from the PostgreSQL pool.", nil, nil),
		cancels: prometheus.NewDesc("sunomi_api_db_acquire_canceled_total",
			"Acquires whose request ended before a connection came.", nil, nil),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.maxConns, c.acquires, c.waits, c.waitTime, c.cancels} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.db.Pool().Stat()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.conns, float64(st.AcquiredConns()), "acquired")
	gauge(c.conns, float64(st.IdleConns()), "idle")
	gauge(c.conns, float64(st.ConstructingConns()), "constructing")
	gauge(c.maxConns, float64(st.MaxConns()))
	counter(c.acquires, float64(st.AcquireCount()))
	counter(c.waits, float64(st.EmptyAcquireCount()))
	counter(c.waitTime, st.AcquireDuration().Seconds())
	counter(c.cancels, float64(st.CanceledAcquireCount()))
}

// videoCensusTTL is how long one count of the videos serves scrapes: several Prometheus
// servers scraping several replicas cost the database one query a replica per interval.
const videoCensusTTL = 10 * time.Second

// videoCollector counts the videos by status at scrape time, and the age of the oldest video
// in each in-flight status.
type videoCollector struct {
	db          *store.Store
	log         *slog.Logger
	videos, age *prometheus.Desc

	mu     sync.Mutex
	census store.VideoCensus // guarded by mu, with taken
	taken  time.Time
}

func newVideoCollector(db *store.Store, log *slog.Logger) *videoCollector {
	return &videoCollector{db: db, log: log,
		videos: prometheus.NewDesc("sunomi_api_videos", "Videos by status, in the shared database (every replica reports the same).",
			[]string{"status"}, nil),
		age: prometheus.NewDesc("sunomi_api_video_oldest_in_status_seconds",
			"Time since the oldest video queued or processing last changed status: a stuck pipeline shows here.",
			[]string{"status"}, nil),
	}
}

func (c *videoCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.videos
	ch <- c.age
}

func (c *videoCollector) Collect(ch chan<- prometheus.Metric) {
	census, err := c.read()
	if err != nil {
		// The scrape goes on without these series: absent() tells the database is unreachable.
		c.log.Warn("count videos for metrics", "error", err)
		return
	}
	for _, s := range videoStatuses {
		ch <- prometheus.MustNewConstMetric(c.videos, prometheus.GaugeValue, float64(census.Count[s]), s)
	}
	for _, s := range inFlightStatuses {
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, census.OldestAge[s].Seconds(), s)
	}
}

func (c *videoCollector) read() (store.VideoCensus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.taken.IsZero() && time.Since(c.taken) < videoCensusTTL {
		return c.census, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	census, err := c.db.CountVideos(ctx)
	if err != nil {
		return census, err
	}
	c.census, c.taken = census, time.Now()
	return census, nil
}
