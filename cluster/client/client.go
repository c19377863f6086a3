// Package client calls the coordinators' HTTP API (the bodies of package
// wire) with failover between coordinators: used by the agents, the API
// service and the sunomi CLI.
package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/retry"
)

// ErrNoCoordinator means no coordinator answered: none is configured, or
// every one refused the connection or said it was unavailable.
var ErrNoCoordinator = errors.New("no coordinator reachable")

// APIError is a 4xx or 5xx answer of a coordinator, with the message of its
// Error body.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// Timeouts of one try against one coordinator. Long-polls and streams set
// their own.
const (
	callTimeout = 30 * time.Second
	// leaseSlack is how long a lease call may take beyond its wait.
	leaseSlack  = 30 * time.Second
	dialTimeout = 5 * time.Second
)

// Client calls the coordinators' HTTP API. It holds a list of coordinator
// base URLs, sends each request to the one that last answered and fails over
// to the next on a connection error or a 503 (a node between leaders or
// shutting down); any node can serve any request because followers forward
// writes to the leader. A Client is safe for concurrent use.
type Client struct {
	hc *http.Client
	// secure is set when the client holds TLS material: every coordinator
	// is then called over HTTPS, whatever scheme its URL names.
	secure bool

	mu sync.Mutex
	// urls are the coordinators' base URLs without a trailing slash.
	urls []string // guarded by mu
	// good indexes urls: the coordinator that answered last, tried first.
	good int // guarded by mu
}

// New returns a client for the coordinators at baseURLs. With TLS material
// (tlsm not nil) it presents the node's certificate and talks only to
// coordinators presenting a server certificate of the same CA, over HTTPS
// whatever the URLs say; without it (a farm run with --insecure-dev) it
// speaks plain HTTP to "http://host:port" or a bare "host:port". hc may be
// nil; a client's overall Timeout, if any, is lifted for long-polls and
// event streams, which bound themselves. A given hc must carry the TLS
// configuration itself (Transport).
func New(baseURLs []string, tlsm *pki.Material, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Transport: Transport(tlsm)}
	}
	c := &Client{hc: hc, secure: tlsm != nil}
	c.SetURLs(baseURLs)
	return c
}

// Transport is the HTTP transport of calls to coordinators: with TLS
// material, mutual TLS that accepts only a server certificate of the farm's
// CA (pki.Material.ClientConfig).
func Transport(tlsm *pki.Material) *http.Transport {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if tlsm != nil {
		t.TLSClientConfig = tlsm.ClientConfig()
		t.ForceAttemptHTTP2 = true
	}
	return t
}

// SetURLs replaces the list of coordinators, as agents learn them from
// gossip. The coordinator that answered last stays first when it is still listed.
func (c *Client) SetURLs(urls []string) {
	var clean []string
	for _, u := range urls {
		if u = normalizeURL(u, c.secure); u != "" && !contains(clean, u) {
			clean = append(clean, u)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	good := 0
	if c.good < len(c.urls) {
		for i, u := range clean {
			if u == c.urls[c.good] {
				good = i
			}
		}
	}
	c.urls, c.good = clean, good
}

// URLs returns the coordinators' base URLs, the one tried first leading.
func (c *Client) URLs() []string {
	urls, start := c.snapshot()
	out := make([]string, 0, len(urls))
	for i := range urls {
		out = append(out, urls[(start+i)%len(urls)])
	}
	return out
}

// normalizeURL trims a coordinator URL and gives it its scheme: https for
// a client with TLS material — an http:// URL learned from gossip or a flag
// must not make it talk in clear to whoever answers there.
func normalizeURL(u string, secure bool) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	if u == "" {
		return ""
	}
	scheme := "http://"
	if secure {
		scheme = "https://"
	}
	if _, rest, ok := strings.Cut(u, "://"); ok {
		if !secure {
			return u
		}
		u = rest
	}
	return scheme + u
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *Client) snapshot() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls, c.good
}

// markGood remembers urls[i] as the coordinator to try first, unless the
// list changed meanwhile.
func (c *Client) markGood(urls []string, i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < len(c.urls) && c.urls[i] == urls[i] {
		c.good = i
	}
}

// request is one API call before it meets a coordinator.
type request struct {
	method string
	path   string // escaped, starting with /
	query  url.Values
	// body returns a fresh reader for every try; nil means no body.
	body        func() (io.Reader, error)
	size        int64 // Content-Length of body; -1 when unknown
	contentType string
	accept      string
	// header holds further headers, sent alike on every try.
	header http.Header
	// timeout bounds one try, reading the response included; 0 means none.
	timeout time.Duration
	hc      *http.Client
}

// cancelBody releases a try's context when the caller closes the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// send tries the coordinators in turn, starting with the one that answered
// last, and returns the first response that is neither a connection error
// nor a 503. Other error statuses come back as *APIError.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	urls, start := c.snapshot()
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no coordinator URL configured", ErrNoCoordinator)
	}
	hc := r.hc
	if hc == nil {
		hc = c.hc
	}
	var lastErr error
	for n := range urls {
		i := (start + n) % len(urls)
		resp, err := c.try(ctx, hc, urls[i], r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			var api *APIError
			if errors.As(err, &api) && api.Status != http.StatusServiceUnavailable {
				c.markGood(urls, i) // it answered
				return nil, err
			}
			if errors.Is(err, errBodyConsumed) {
				break
			}
			lastErr = err
			continue
		}
		c.markGood(urls, i)
		return resp, nil
	}
	return nil, fmt.Errorf("%w (tried %s): %w", ErrNoCoordinator, strings.Join(urls, ", "), lastErr)
}

// errBodyConsumed stops failover when a request body cannot be sent twice.
var errBodyConsumed = errors.New("request body cannot be resent to another coordinator")

func (c *Client) try(ctx context.Context, hc *http.Client, base string, r request) (*http.Response, error) {
	cancel := context.CancelFunc(func() {})
	if r.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
	}
	var body io.Reader
	if r.body != nil {
		var err error
		if body, err = r.body(); err != nil {
			cancel()
			return nil, err
		}
	}
	u := base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("build request %s %s: %w", r.method, r.path, err)
	}
	if body != nil {
		req.ContentLength = r.size
		if r.size == 0 {
			req.Body = http.NoBody
		}
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	for name, values := range r.header {
		req.Header[name] = values
	}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s %s%s: %w", r.method, base, r.path, err)
	}
	if resp.StatusCode >= 400 {
		defer cancel()
		return nil, decodeError(resp)
	}
	resp.Body = cancelBody{resp.Body, cancel}
	return resp, nil
}

// decodeError reads an error response into an *APIError and closes it.
func decodeError(resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := ""
	var e wire.Error
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	} else if s := strings.TrimSpace(string(b)); s != "" && len(s) <= 200 && !strings.ContainsAny(s, "<{") {
		msg = s
	} else {
		msg = strings.ToLower(http.StatusText(resp.StatusCode))
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// call sends in as JSON (unless nil) and decodes the answer into out (unless nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, timeout time.Duration, hc *http.Client, in, out any) error {
	return c.callJSON(ctx, request{method: method, path: path, query: query, timeout: timeout, hc: hc}, in, out)
}

// callJSON is call for a request that needs more than call's arguments.
func (c *Client) callJSON(ctx context.Context, r request, in, out any) error {
	r.accept, r.size = "application/json", -1
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", r.method, r.path, err)
		}
		r.body = func() (io.Reader, error) { return bytes.NewReader(b), nil }
		r.size = int64(len(b))
		r.contentType = "application/json"
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", r.method, r.path, err)
	}
	return nil
}

func jobPath(id string) string { return "/v1/jobs/" + url.PathEscape(id) }

// SubmitJob creates a job (POST /v1/jobs) under an idempotency key: the farm
// creates one job per key and answers a key it has seen with that key's job.
// That is what makes failover safe here: a coordinator that times out or
// answers 503 may have committed the job already, and the next coordinator,
// asked with the same key, returns that job rather than a second one writing
// the same outputs. Callers that retry across calls (the API's outbox) pass
// the same key every time; an empty key gets a random one, which guards the
// failover inside this call only.
func (c *Client) SubmitJob(ctx context.Context, key string, req wire.SubmitJob) (wire.Job, error) {
	if key == "" {
		key = rand.Text()
	}
	var j wire.Job
	err := c.callJSON(ctx, request{method: http.MethodPost, path: "/v1/jobs", timeout: callTimeout,
		header: http.Header{wire.IdempotencyKeyHeader: {key}}}, req, &j)
	return j, err
}

// JobQuery selects a page of GET /v1/jobs (see wire.JobList).
type JobQuery struct {
	// States keeps the jobs in any of these states ("running" stands for
	// splitting, encoding and stitching); empty keeps all.
	States []string
	// Limit is the page size; 0 means the coordinator's default.
	Limit int
	// After is the Next of the previous page; "" starts with the newest.
	After string
}

// ListJobs returns one page of jobs, newest first (GET /v1/jobs).
func (c *Client) ListJobs(ctx context.Context, q JobQuery) (wire.JobList, error) {
	params := url.Values{}
	if len(q.States) > 0 {
		params.Set(wire.JobsStateParam, strings.Join(q.States, ","))
	}
	if q.Limit > 0 {
		params.Set(wire.JobsLimitParam, strconv.Itoa(q.Limit))
	}
	if q.After != "" {
		params.Set(wire.JobsAfterParam, q.After)
	}
	var list wire.JobList
	err := c.call(ctx, http.MethodGet, "/v1/jobs", params, callTimeout, nil, nil, &list)
	return list, err
}

// Jobs returns every job the coordinators still hold, newest first, reading
// the listing page by page (finished jobs leave it a retention after they
// end).
func (c *Client) Jobs(ctx context.Context) ([]wire.Job, error) {
	var all []wire.Job
	q := JobQuery{Limit: wire.MaxJobsLimit}
	for {
		page, err := c.ListJobs(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Jobs...)
		if page.Next == "" {
			return all, nil
		}
		q.After = page.Next
	}
}

// Job returns one job with its tasks (GET /v1/jobs/{id}).
func (c *Client) Job(ctx context.Context, id string) (wire.Job, error) {
	var j wire.Job
	err := c.call(ctx, http.MethodGet, jobPath(id), nil, callTimeout, nil, nil, &j)
	return j, err
}

// CancelJob cancels a job (DELETE /v1/jobs/{id}).
func (c *Client) CancelJob(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, jobPath(id), nil, callTimeout, nil, nil, nil)
}

// AddAV1 gives a done job that has none the AV1 rungs of its ladder
// (POST /v1/jobs/{id}/av1) and returns its AV1 job, which publishes each
// rung into the job's master playlist and DASH manifest as it completes.
func (c *Client) AddAV1(ctx context.Context, id string) (wire.Job, error) {
	var j wire.Job
	err := c.call(ctx, http.MethodPost, jobPath(id)+"/av1", nil, callTimeout, nil, nil, &j)
	return j, err
}

// Agents lists the agents the cluster knows (GET /v1/agents).
func (c *Client) Agents(ctx context.Context) ([]wire.Agent, error) {
	var as []wire.Agent
	err := c.call(ctx, http.MethodGet, "/v1/agents", nil, callTimeout, nil, nil, &as)
	return as, err
}

// Cluster describes the Raft cluster as the answering node sees it (GET /v1/cluster).
func (c *Client) Cluster(ctx context.Context) (wire.Cluster, error) {
	var cl wire.Cluster
	err := c.call(ctx, http.MethodGet, "/v1/cluster", nil, callTimeout, nil, nil, &cl)
	return cl, err
}

// Upload stores size bytes of r under key in the coordinators' storage
// (PUT /v1/uploads/{key}); keys go under "uploads/". When r is an
// io.ReadSeeker the upload can fail over to another coordinator; otherwise
// only the first coordinator is tried once the body has been read.
func (c *Client) Upload(ctx context.Context, key string, r io.Reader, size int64) error {
	var segs []string
	for _, s := range strings.Split(key, "/") {
		segs = append(segs, url.PathEscape(s))
	}
	req := request{method: http.MethodPut, path: "/v1/uploads/" + strings.Join(segs, "/"), size: size,
		contentType: "application/octet-stream", accept: "application/json", hc: c.noTimeout(0)}
	var start int64 = -1
	if s, ok := r.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			start = pos
		}
	}
	used := false
	req.body = func() (io.Reader, error) {
		if used {
			if start < 0 {
				return nil, errBodyConsumed
			}
			if _, err := r.(io.Seeker).Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("rewind upload body: %w", err)
			}
		}
		used = true
		// Hide Close: the transport closes a failed request's body, and a
		// failover must still be able to rewind and resend it.
		return struct{ io.Reader }{r}, nil
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

// noTimeout returns the client's HTTP client with its overall Timeout raised
// to at least d (0: removed), for calls that bound themselves.
func (c *Client) noTimeout(d time.Duration) *http.Client {
	if c.hc.Timeout == 0 || (d > 0 && c.hc.Timeout >= d) {
		return c.hc
	}
	cp := *c.hc
	cp.Timeout = d
	return &cp
}

// WatchJob follows a job's server-sent events (GET /v1/jobs/{id}/events),
// calling fn for each, until the job reaches a final state (done, failed,
// canceled), fn returns an error, or ctx is done. A dropped stream is
// reconnected with backoff; a 4xx answer (no such job, bad token) ends the watch.
func (c *Client) WatchJob(ctx context.Context, id string, fn func(wire.Event) error) error {
	hc := c.noTimeout(0)
	wait := retry.NewBackoff(250*time.Millisecond, 5*time.Second)
	for {
		finished, connected, err := c.watchOnce(ctx, hc, id, fn)
		if finished || ctx.Err() != nil {
			if err == nil && !finished {
				err = ctx.Err()
			}
			return err
		}
		if errors.Is(err, errCallback) {
			return errors.Unwrap(err)
		}
		var api *APIError
		if errors.As(err, &api) && api.Status >= 400 && api.Status < 500 {
			return fmt.Errorf("watch job %s: %w", id, err)
		}
		if connected {
			wait.Reset()
		}
		if !retry.Sleep(ctx, wait.Next()) {
			return ctx.Err()
		}
	}
}

// errCallback wraps an error returned by WatchJob's fn.
var errCallback = errors.New("watch callback")

type callbackError struct{ err error }

func (e callbackError) Error() string        { return e.err.Error() }
func (e callbackError) Unwrap() error        { return e.err }
func (e callbackError) Is(target error) bool { return target == errCallback }

// watchOnce reads one event stream until it ends. finished reports a final
// job state; connected that the stream was established.
func (c *Client) watchOnce(ctx context.Context, hc *http.Client, id string, fn func(wire.Event) error) (finished, connected bool, err error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: jobPath(id) + "/events", accept: "text/event-stream", size: -1, hc: hc})
	if err != nil {
		return false, false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(data) == 0 {
				continue
			}
			var ev wire.Event
			payload := strings.Join(data, "\n")
			data = data[:0]
			if err := json.Unmarshal([]byte(payload), &ev); err != nil {
				return false, true, fmt.Errorf("decode event of job %s: %w", id, err)
			}
			if err := fn(ev); err != nil {
				return false, true, callbackError{err}
			}
			if ev.Job.State.Finished() {
				return true, true, nil
			}
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		default:
			// Comments (": keepalive"), event:, id: and retry: fields carry nothing we use.
		}
	}
	if err := sc.Err(); err != nil {
		return false, true, fmt.Errorf("read events of job %s: %w", id, err)
	}
	return false, true, fmt.Errorf("events of job %s: stream ended", id)
}

// The agent protocol.

// Lease long-polls for up to req.Free tasks (POST /v1/agent/lease?wait=…):
// the coordinator answers as soon as it has work, or with no assignments
// when wait runs out.
func (c *Client) Lease(ctx context.Context, req wire.LeaseRequest, wait time.Duration) (wire.LeaseResponse, error) {
	var resp wire.LeaseResponse
	q := url.Values{"wait": {wait.String()}}
	timeout := wait + leaseSlack
	err := c.call(ctx, http.MethodPost, "/v1/agent/lease", q, timeout, c.noTimeout(timeout), req, &resp)
	return resp, err
}

// Heartbeat keeps the agent's leases alive (POST /v1/agent/heartbeat) and
// learns which attempts to abandon.
func (c *Client) Heartbeat(ctx context.Context, hb wire.Heartbeat) (wire.HeartbeatResponse, error) {
	var resp wire.HeartbeatResponse
	err := c.call(ctx, http.MethodPost, "/v1/agent/heartbeat", nil, callTimeout, nil, hb, &resp)
	return resp, err
}

// Progress reports frames done (POST /v1/agent/progress).
func (c *Client) Progress(ctx context.Context, p wire.Progress) error {
	return c.call(ctx, http.MethodPost, "/v1/agent/progress", nil, callTimeout, nil, p, nil)
}

// UploadURLs asks for presigned PUT URLs for an attempt's outputs (POST /v1/agent/uploads).
func (c *Client) UploadURLs(ctx context.Context, req wire.UploadRequest) (wire.UploadResponse, error) {
	var resp wire.UploadResponse
	err := c.call(ctx, http.MethodPost, "/v1/agent/uploads", nil, callTimeout, nil, req, &resp)
	return resp, err
}

// Head reports a running split's head (POST /v1/agent/head).
func (c *Client) Head(ctx context.Context, req wire.SplitHead) error {
	return c.call(ctx, http.MethodPost, "/v1/agent/head", nil, callTimeout, nil, req, nil)
}

// Complete commits an attempt's result and outputs (POST /v1/agent/complete).
func (c *Client) Complete(ctx context.Context, req wire.Complete) error {
	return c.call(ctx, http.MethodPost, "/v1/agent/complete", nil, callTimeout, nil, req, nil)
}

// Fail reports a failed attempt (POST /v1/agent/fail).
func (c *Client) Fail(ctx context.Context, req wire.Fail) error {
	return c.call(ctx, http.MethodPost, "/v1/agent/fail", nil, callTimeout, nil, req, nil)
}
