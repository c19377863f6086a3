package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/bodydeadline"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// Limits of the HTTP API.
const (
	maxBody      = 4 << 20
	maxLeaseWait = 60 * time.Second
	// Input URLs are handed out with the lease and may wait behind the
	// task before them (prefetch); output URLs are asked for when the task
	// has finished and uploads at once, so they expire sooner: a leaked or
	// stale one opens the attempt's own keys for an hour at most.
	presignTTL    = 6 * time.Hour
	presignPutTTL = time.Hour
)

type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

func (h *httpServer) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		return h.srv.Close()
	}
	return nil
}

func (n *Node) serveHTTP() (*httpServer, error) {
	var tlsConfig *tls.Config
	if n.cfg.TLS != nil {
		// Every caller shows a certificate of the farm's CA before any
		// route runs; which role may call what is decided per route.
		tlsConfig = n.cfg.TLS.ServerConfig()
	}
	return serve(n.cfg.HTTPAddr, n.Handler(), tlsConfig)
}

// httpTimeouts bound how long a caller may hold a request of the coordinator, so that one
// sending its request a byte at a time cannot hold a goroutine and a connection forever. There
// is no server-wide ReadTimeout or WriteTimeout: job event streams and long-polled leases last
// long. Requests without a body (event streams) are never cut.
type httpTimeouts struct {
	readHeader time.Duration // the request's head
	bodyRead   time.Duration // a request body, in full
	// uploadMinRate is the rate an upload body (PUT /v1/uploads/*, /v1/blobs/*) must keep up:
	// each such amount of bytes received adds a second to bodyRead.
	uploadMinRate int64
	idle          time.Duration // a keep-alive connection waiting for its next request
}

var coordinatorTimeouts = httpTimeouts{readHeader: 10 * time.Second, bodyRead: 30 * time.Second,
	uploadMinRate: 64 << 10, idle: 2 * time.Minute}

// serve serves h on addr, over TLS when tlsConfig is set, under coordinatorTimeouts.
func serve(addr string, h http.Handler, tlsConfig *tls.Config) (*httpServer, error) {
	return serveWith(addr, h, tlsConfig, coordinatorTimeouts)
}

func serveWith(addr string, h http.Handler, tlsConfig *tls.Config, t httpTimeouts) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for http on %s: %w", addr, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var minRate int64
		if strings.HasPrefix(r.URL.Path, "/v1/uploads/") || strings.HasPrefix(r.URL.Path, "/v1/blobs/") {
			minRate = t.uploadMinRate
		}
		bodydeadline.Limit(w, r, t.bodyRead, minRate)
		h.ServeHTTP(w, r)
	})
	s := &httpServer{srv: &http.Server{Handler: limited, ReadHeaderTimeout: t.readHeader, IdleTimeout: t.idle}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Handler is the coordinator's HTTP API. Who may call what is decided by
// the caller's certificate role (see identity.go); writes go through Raft, so
// a follower forwards them to the leader.
func (n *Node) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", n.healthz)
	r.Handle("/metrics", promhttp.HandlerFor(n.cfg.Gatherer, promhttp.HandlerOpts{}))
	if b, ok := n.cfg.Store.(interface{ Handler() http.Handler }); ok {
		// Presigned URLs of the local backend carry their own signature.
		r.Handle("/v1/blobs/*", b.Handler())
	}
	r.Group(func(r chi.Router) {
		r.Use(n.identify)
		r.Group(func(r chi.Router) {
			// Operators and the API read the farm and submit or cancel
			// jobs; agents never do.
			r.Use(allow(pki.RoleClient, pki.RoleServer))
			r.Get("/v1/jobs", n.listJobs)
			r.Get("/v1/jobs/{id}", n.getJob)
			r.Get("/v1/jobs/{id}/events", n.jobEvents)
			r.Get("/v1/agents", n.listAgents)
			r.Get("/v1/cluster", n.getCluster)
			r.Put("/v1/uploads/*", n.upload)
			r.With(n.forwardToLeader).Post("/v1/jobs", n.submitJob)
			r.With(n.forwardToLeader).Delete("/v1/jobs/{id}", n.cancelJob)
			r.With(n.forwardToLeader).Post("/v1/jobs/{id}/av1", n.addAV1)
		})
		r.Group(func(r chi.Router) {
			// The agent protocol: each handler also checks that an agent
			// acts only for itself and its own attempts.
			r.Use(allow(pki.RoleAgent, pki.RoleServer), n.forwardToLeader)
			r.Post("/v1/agent/lease", n.lease)
			r.Post("/v1/agent/heartbeat", n.heartbeat)
			r.Post("/v1/agent/progress", n.progress)
			r.Post("/v1/agent/uploads", n.uploadURLs)
			r.Post("/v1/agent/complete", n.complete)
			r.Post("/v1/agent/head", n.splitHead)
			r.Post("/v1/agent/fail", n.fail)
		})
		// Only a coordinator, by its server certificate, may become a voter.
		r.With(allow(pki.RoleServer), n.forwardToLeader).Post("/v1/cluster/join", n.joinCluster)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
	})
	return r
}

func (n *Node) forwardToLeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.isLeader() {
			next.ServeHTTP(w, r)
			return
		}
		leader := n.leaderHTTP()
		if leader == "" {
			writeError(w, http.StatusServiceUnavailable, "no leader elected yet; retry shortly")
			return
		}
		u, err := url.Parse(leader)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "leader address unusable")
			return
		}
		p := &httputil.ReverseProxy{
			// The leader believes the forwarded caller only from this
			// node's server certificate, presented by n.peers.
			Transport: n.peers,
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.SetXForwarded()
				forwardCaller(pr.Out, callerOf(r.Context()))
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				writeError(w, http.StatusServiceUnavailable, "leader unreachable: "+err.Error())
			},
		}
		p.ServeHTTP(w, r)
	})
}

func (n *Node) healthz(w http.ResponseWriter, _ *http.Request) {
	leader := n.leaderHTTP()
	status := http.StatusOK
	if leader == "" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"node": n.cfg.NodeID, "state": n.raft.State().String(), "leader": leader})
}

func (n *Node) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := n.fsm.Job(chi.URLParam(r, "id"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("job %q not found", chi.URLParam(r, "id")))
		return
	}
	writeJSON(w, http.StatusOK, jobBody(j))
}

func (n *Node) listAgents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, bodies(n.fsm.Agents(), agentBody))
}

func (n *Node) getCluster(w http.ResponseWriter, _ *http.Request) {
	stats := n.raft.Stats()
	addr, id := n.raft.LeaderWithID()
	c := wire.Cluster{NodeID: n.cfg.NodeID, State: n.raft.State().String(), Leader: string(id), LeaderHTTP: n.leaderHTTP()}
	fmt.Sscan(stats["term"], &c.Term)
	fmt.Sscan(stats["commit_index"], &c.CommitIndex)
	fmt.Sscan(stats["applied_index"], &c.AppliedIndex)
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			c.Peers = append(c.Peers, wire.Peer{ID: string(s.ID), Address: string(s.Address),
				Suffrage: s.Suffrage.String(), Leader: s.Address == addr})
		}
	}
	writeJSON(w, http.StatusOK, c)
}

// upload stores a client's source file (sunomi jobs submit) under uploads/.
func (n *Node) upload(w http.ResponseWriter, r *http.Request) {
	key := chi.URLParam(r, "*")
	if !strings.HasPrefix(key, "uploads/") || strings.Contains(key, "..") {
		writeError(w, http.StatusBadRequest, "uploads go under uploads/ and may not contain ..")
		return
	}
	if r.ContentLength < 0 {
		writeError(w, http.StatusLengthRequired, "Content-Length is required")
		return
	}
	if err := n.cfg.Store.Put(r.Context(), key, r.Body, r.ContentLength); err != nil {
		writeError(w, http.StatusBadRequest, "store upload: "+err.Error())
		return
	}
	n.metrics.countUpload(r.ContentLength)
	writeJSON(w, http.StatusCreated, map[string]string{"key": key})
}

func (n *Node) submitJob(w http.ResponseWriter, r *http.Request) {
	var req wire.SubmitJob
	if !decode(w, r, &req) {
		return
	}
	if req.Source == "" {
		writeError(w, http.StatusBadRequest, "source is required: the storage key of the uploaded file")
		return
	}
	if _, err := n.cfg.Store.Stat(r.Context(), req.Source); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("source object %q not found in storage", req.Source))
			return
		}
		writeError(w, http.StatusBadGateway, "storage: "+err.Error())
		return
	}
	opts, err := pipelineOptions(req.Options)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	spec, err := json.Marshal(media.SplitSpec{Options: opts})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	id := newID()
	output, err := outputPrefix(req.Output, id)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Each encode attempt gets the encoder resolved for its agent; the
	// split's own choice (on whichever agent split) no longer decides.
	enc := req.Options.Encoder
	if enc == "" {
		enc = media.EncoderAuto
	}
	cmd := scheduler.SubmitJob{ID: id, Source: req.Source, Output: output, Priority: req.Priority, Encoder: enc,
		SplitSpec: spec, SourceInput: req.Source, IdempotencyKey: r.Header.Get(wire.IdempotencyKeyHeader),
		ExclusiveOutput: true, Now: time.Now()}
	res, err := n.apply(r.Context(), scheduler.CmdSubmitJob, cmd)
	if err != nil {
		writeApplyError(w, err)
		return
	}
	status := http.StatusCreated
	if prev, ok := res.(scheduler.ExistingJob); ok {
		id, status = prev.Job, http.StatusOK
	}
	j, _ := n.fsm.Job(id)
	writeJSON(w, status, jobBody(j))
}

func (n *Node) cancelJob(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	now := time.Now()
	if _, err := n.apply(r.Context(), scheduler.CmdCancelJob, scheduler.CancelJob{Job: id, Now: now}); err != nil {
		writeApplyError(w, err)
		return
	}
	j, _ := n.fsm.Job(id)
	n.metrics.observeJob(scheduler.JobCanceled, now.Sub(j.Created))
	writeJSON(w, http.StatusOK, jobBody(j))
}

// jobEvents streams the job as server-sent events: its current state first,
// then after every change, until the job finishes or the client leaves.
func (n *Node) jobEvents(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	j, ok := n.fsm.Job(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("job %q not found", id))
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	sub := n.hub.subscribe(id)
	defer n.hub.unsubscribe(id, sub)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(j wire.Job, typ string) bool {
		b, _ := json.Marshal(wire.Event{Type: typ, Job: j})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		flusher.Flush()
		return !j.State.Finished()
	}
	if !send(jobBody(j), "state") {
		return
	}
	last := j.State
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case j := <-sub:
			typ := "progress"
			if j.State != last {
				typ, last = "state", j.State
			}
			if !send(j, typ) {
				return
			}
		}
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wire.Error{Error: msg})
}

// writeApplyError maps the state machine's errors to HTTP statuses.
func writeApplyError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, scheduler.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, scheduler.ErrAlreadyCommitted), errors.Is(err, scheduler.ErrStaleAttempt), errors.Is(err, scheduler.ErrKeyReused),
		errors.Is(err, scheduler.ErrOutputTaken):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, scheduler.ErrInvalidInput):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotLeader):
		writeError(w, http.StatusServiceUnavailable, "leadership changed; retry")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// newID returns a random job ID; the leader stamps it into the command.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (n *Node) readObject(ctx context.Context, key string) ([]byte, error) {
	rc, err := n.cfg.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxBody))
}
