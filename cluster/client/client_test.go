package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/scheduler"
)

// deadURL returns the URL of a server that is no longer listening.
func deadURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// counting serves h and counts its requests.
func counting(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestClientFailsOverAndRemembersTheGoodCoordinator(t *testing.T) {
	unavailable, unavailableHits := counting(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, wire.Error{Error: "leadership changed; retry"})
	})
	good, goodHits := counting(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, wire.JobList{Jobs: []wire.Job{{ID: "j1"}}})
	})
	c := client.New([]string{deadURL(t), unavailable.URL, good.URL}, nil, nil)
	for i := range 3 {
		jobs, err := c.Jobs(context.Background())
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if len(jobs) != 1 || jobs[0].ID != "j1" {
			t.Fatalf("call %d: got %+v, want one job j1", i, jobs)
		}
	}
	if got := unavailableHits.Load(); got != 1 {
		t.Errorf("unavailable coordinator got %d requests, want 1 (the good one is remembered)", got)
	}
	if got := goodHits.Load(); got != 3 {
		t.Errorf("good coordinator got %d requests, want 3", got)
	}
	if got := c.URLs()[0]; got != good.URL {
		t.Errorf("first URL is %s, want the good one %s", got, good.URL)
	}
}

func TestClientSetURLsKeepsTheGoodCoordinatorFirst(t *testing.T) {
	good, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, wire.Cluster{NodeID: "c2"})
	})
	dead := deadURL(t)
	c := client.New([]string{dead, good.URL}, nil, nil)
	if _, err := c.Cluster(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.SetURLs([]string{"http://127.0.0.9:1", good.URL + "/", dead})
	if got := c.URLs(); got[0] != good.URL || len(got) != 3 {
		t.Errorf("URLs after SetURLs = %v, want %s first and 3 in all", got, good.URL)
	}
	c.SetURLs([]string{strings.TrimPrefix(good.URL, "http://")})
	if got := c.URLs(); len(got) != 1 || got[0] != good.URL {
		t.Errorf("bare host:port became %v, want [%s]", got, good.URL)
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		urls        func(srv string) []string
		wantStatus  int // 0: no APIError
		wantMessage string
		wantNoCoord bool
	}{
		{
			name: "json error body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusNotFound, wire.Error{Error: `job "x" not found`})
			},
			wantStatus: 404, wantMessage: `job "x" not found`,
		},
		{
			name: "plain text body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "bad token", http.StatusUnauthorized)
			},
			wantStatus: 401, wantMessage: "bad token",
		},
		{
			name: "html body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, "<html><body>oops</body></html>")
			},
			wantStatus: 502, wantMessage: "bad gateway",
		},
		{
			name: "every coordinator unavailable",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusServiceUnavailable, wire.Error{Error: "no leader"})
			},
			urls:       func(srv string) []string { return []string{srv, srv + "/"} },
			wantStatus: 503, wantMessage: "no leader", wantNoCoord: true,
		},
		{
			name:        "no coordinator listening",
			handler:     func(w http.ResponseWriter, r *http.Request) {},
			urls:        func(string) []string { return []string{deadURL(t)} },
			wantNoCoord: true,
		},
		{
			name:        "no coordinator configured",
			handler:     func(w http.ResponseWriter, r *http.Request) {},
			urls:        func(string) []string { return nil },
			wantNoCoord: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := counting(t, tt.handler)
			urls := []string{srv.URL}
			if tt.urls != nil {
				urls = tt.urls(srv.URL)
			}
			_, err := client.New(urls, nil, nil).Job(context.Background(), "x")
			if err == nil {
				t.Fatal("got no error")
			}
			var api *client.APIError
			if gotAPI := errors.As(err, &api); gotAPI != (tt.wantStatus != 0) {
				t.Fatalf("errors.As(%v, *APIError) = %v, want %v", err, gotAPI, tt.wantStatus != 0)
			}
			if api != nil && (api.Status != tt.wantStatus || api.Message != tt.wantMessage) {
				t.Errorf("got APIError{%d, %q}, want {%d, %q}", api.Status, api.Message, tt.wantStatus, tt.wantMessage)
			}
			if got := errors.Is(err, client.ErrNoCoordinator); got != tt.wantNoCoord {
				t.Errorf("errors.Is(%v, ErrNoCoordinator) = %v, want %v", err, got, tt.wantNoCoord)
			}
		})
	}
}

// TestClientCalls checks every call's method, path, certificate and bodies.
func TestClientCalls(t *testing.T) {
	type seen struct {
		method, path, query, caller string
		body                        []byte
	}
	var mu sync.Mutex
	var last seen
	replies := map[string]any{
		"POST /v1/jobs":            wire.Job{ID: "j1", State: scheduler.JobQueued},
		"GET /v1/jobs":             wire.JobList{Jobs: []wire.Job{{ID: "j1"}}, Next: "3"},
		"GET /v1/jobs/a%2Fb":       wire.Job{ID: "a/b"},
		"GET /v1/agents":           []wire.Agent{{ID: "a1", Slots: 2}},
		"GET /v1/cluster":          wire.Cluster{Leader: "c1"},
		"POST /v1/agent/lease":     wire.LeaseResponse{Assignments: []wire.Assignment{{Task: "t", Attempt: 1}}},
		"POST /v1/agent/heartbeat": wire.HeartbeatResponse{Abandon: []wire.AttemptRef{{Task: "t", Attempt: 1}}},
		"POST /v1/agent/uploads":   wire.UploadResponse{URLs: map[string]string{"a.ts": "http://s/a"}},
	}
	ca := pkitest.New(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		id, _ := pki.PeerIdentity(*r.TLS)
		mu.Lock()
		last = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, id.String(), b}
		mu.Unlock()
		if reply, ok := replies[r.Method+" "+r.URL.EscapedPath()]; ok {
			writeJSON(w, http.StatusOK, reply)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = ca.Material(pki.RoleServer, "c1").ServerConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := client.New([]string{srv.URL}, ca.Material(pki.RoleClient, "ops"), nil)
	ctx := context.Background()
	ref := wire.AttemptRef{Task: "t", Attempt: 1}
	tests := []struct {
		name      string
		call      func() (any, error)
		wantCall  string // method and path
		wantQuery string
		wantBody  any // nil: no body
		want      any
	}{
		{"submit", func() (any, error) { return c.SubmitJob(ctx, "video-1", wire.SubmitJob{Source: "uploads/x"}) },
			"POST /v1/jobs", "", wire.SubmitJob{Source: "uploads/x"}, wire.Job{ID: "j1", State: scheduler.JobQueued}},
		{"list jobs", func() (any, error) {
			return c.ListJobs(ctx, client.JobQuery{States: []string{"queued", "running"}, Limit: 5, After: "9"})
		}, "GET /v1/jobs", "after=9&limit=5&state=queued%2Crunning", nil, wire.JobList{Jobs: []wire.Job{{ID: "j1"}}, Next: "3"}},
		{"job escapes its id", func() (any, error) { return c.Job(ctx, "a/b") }, "GET /v1/jobs/a%2Fb", "", nil, wire.Job{ID: "a/b"}},
		{"cancel", func() (any, error) { return nil, c.CancelJob(ctx, "j1") }, "DELETE /v1/jobs/j1", "", nil, nil},
		{"agents", func() (any, error) { return c.Agents(ctx) }, "GET /v1/agents", "", nil, []wire.Agent{{ID: "a1", Slots: 2}}},
		{"cluster", func() (any, error) { return c.Cluster(ctx) }, "GET /v1/cluster", "", nil, wire.Cluster{Leader: "c1"}},
		{"lease", func() (any, error) {
			return c.Lease(ctx, wire.LeaseRequest{Agent: wire.AgentInfo{ID: "a1"}, Free: 2}, 20*time.Second)
		}, "POST /v1/agent/lease", "wait=20s", wire.LeaseRequest{Agent: wire.AgentInfo{ID: "a1"}, Free: 2},
			wire.LeaseResponse{Assignments: []wire.Assignment{{Task: "t", Attempt: 1}}}},
		{"heartbeat", func() (any, error) {
			return c.Heartbeat(ctx, wire.Heartbeat{Agent: "a1", Attempts: []wire.AttemptRef{ref}, Draining: true})
		}, "POST /v1/agent/heartbeat", "", wire.Heartbeat{Agent: "a1", Attempts: []wire.AttemptRef{ref}, Draining: true},
			wire.HeartbeatResponse{Abandon: []wire.AttemptRef{ref}}},
		{"progress", func() (any, error) {
			return nil, c.Progress(ctx, wire.Progress{Agent: "a1", AttemptRef: ref, FramesDone: 3, FramesTotal: 9})
		}, "POST /v1/agent/progress", "", wire.Progress{Agent: "a1", AttemptRef: ref, FramesDone: 3, FramesTotal: 9}, nil},
		{"upload urls", func() (any, error) {
			return c.UploadURLs(ctx, wire.UploadRequest{Agent: "a1", AttemptRef: ref, Names: []string{"a.ts"}})
		}, "POST /v1/agent/uploads", "", wire.UploadRequest{Agent: "a1", AttemptRef: ref, Names: []string{"a.ts"}},
			wire.UploadResponse{URLs: map[string]string{"a.ts": "http://s/a"}}},
		{"complete", func() (any, error) {
			return nil, c.Complete(ctx, wire.Complete{Agent: "a1", AttemptRef: ref, Result: json.RawMessage(`{"n":1}`),
				Outputs: []wire.Object{{Name: "a.ts", Size: 3, SHA256: "ab"}}})
		}, "POST /v1/agent/complete", "", wire.Complete{Agent: "a1", AttemptRef: ref, Result: json.RawMessage(`{"n":1}`),
			Outputs: []wire.Object{{Name: "a.ts", Size: 3, SHA256: "ab"}}}, nil},
		{"fail", func() (any, error) {
			return nil, c.Fail(ctx, wire.Fail{Agent: "a1", AttemptRef: ref, Error: "invalid media", Permanent: true})
		}, "POST /v1/agent/fail", "", wire.Fail{Agent: "a1", AttemptRef: ref, Error: "invalid media", Permanent: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			s := last
			mu.Unlock()
			if call := s.method + " " + s.path; call != tt.wantCall {
				t.Errorf("request %s, want %s", call, tt.wantCall)
			}
			if s.query != tt.wantQuery {
				t.Errorf("query %q, want %q", s.query, tt.wantQuery)
			}
			if s.caller != "client ops" {
				t.Errorf("caller %q, want the client certificate ops", s.caller)
			}
			wantBody := []byte{}
			if tt.wantBody != nil {
				wantBody, _ = json.Marshal(tt.wantBody)
			}
			if !bytes.Equal(s.body, wantBody) {
				t.Errorf("body %s, want %s", s.body, wantBody)
			}
			if tt.want != nil {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				if !bytes.Equal(g, w) {
					t.Errorf("got %s, want %s", g, w)
				}
			}
		})
	}
}

// keyedJobs is the farm's side of idempotent submission, shared by the test's
// coordinators as the replicated state is: one job per key.
type keyedJobs struct {
	mu   sync.Mutex
	jobs map[string]wire.Job // by idempotency key
	seen []string            // the key of every POST /v1/jobs, in order
}

// submit commits the key's job, or finds the one committed before.
func (k *keyedJobs) submit(r *http.Request) wire.Job {
	// Read to the end: the server notices a client that gives up only after the body.
	_, _ = io.Copy(io.Discard, r.Body)
	key := r.Header.Get(wire.IdempotencyKeyHeader)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seen = append(k.seen, key)
	j, ok := k.jobs[key]
	if !ok {
		j = wire.Job{ID: fmt.Sprintf("j%d", len(k.jobs)+1), State: scheduler.JobQueued}
		k.jobs[key] = j
	}
	return j
}

// TestSubmitJobFailoverKeepsTheKey is attack 5 of issue #12 on the client: a
// coordinator commits the job, then times out or answers 503, and the client
// asks the next one. Every try carries the same Idempotency-Key, so the farm
// returns the committed job instead of making a second one.
func TestSubmitJobFailoverKeepsTheKey(t *testing.T) {
	for _, tt := range []struct {
		name string
		// afterCommit is how the first coordinator fails once it has committed.
		afterCommit func(w http.ResponseWriter, r *http.Request)
	}{
		{"times out", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"answers 503", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, wire.Error{Error: "leadership lost"})
		}},
	} {
		for _, key := range []string{"video-1", ""} {
			t.Run(fmt.Sprintf("%s, key %q", tt.name, key), func(t *testing.T) {
				farm := &keyedJobs{jobs: map[string]wire.Job{}}
				failing, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
					farm.submit(r)
					tt.afterCommit(w, r)
				})
				healthy, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, http.StatusCreated, farm.submit(r))
				})
				c := client.New([]string{failing.URL, healthy.URL}, nil, &http.Client{Timeout: 200 * time.Millisecond})
				job, err := c.SubmitJob(context.Background(), key, wire.SubmitJob{Source: "videos/v/source/original"})
				if err != nil {
					t.Fatal(err)
				}
				farm.mu.Lock()
				defer farm.mu.Unlock()
				if len(farm.seen) != 2 {
					t.Fatalf("the farm saw %d submissions, want 2 (one per coordinator)", len(farm.seen))
				}
				if farm.seen[0] == "" || farm.seen[1] != farm.seen[0] || (key != "" && farm.seen[0] != key) {
					t.Errorf("idempotency keys sent %q, want the same non-empty key twice (%q when given)", farm.seen, key)
				}
				if len(farm.jobs) != 1 || job.ID != "j1" {
					t.Errorf("got job %s with %d jobs on the farm, want the one committed job j1", job.ID, len(farm.jobs))
				}
			})
		}
	}
}

func TestLeaseOutlastsTheHTTPClientTimeout(t *testing.T) {
	srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("wait"); r.URL.Path == "/v1/agent/lease" && got != "300ms" {
			t.Errorf("wait = %q, want 300ms", got)
		}
		time.Sleep(300 * time.Millisecond) // the long-poll runs out
		writeJSON(w, http.StatusOK, wire.LeaseResponse{})
	})
	c := client.New([]string{srv.URL}, nil, &http.Client{Timeout: 50 * time.Millisecond})
	if _, err := c.Lease(context.Background(), wire.LeaseRequest{Free: 1}, 300*time.Millisecond); err != nil {
		t.Fatalf("lease with a 50ms client timeout and a 300ms wait: %v", err)
	}
	// Ordinary calls keep the client's own timeout.
	if _, err := c.Jobs(context.Background()); err == nil {
		t.Error("Jobs outlived the client's 50ms timeout")
	}
}

func TestUpload(t *testing.T) {
	type put struct {
		path string
		size int64
		body string
	}
	var mu sync.Mutex
	var puts []put
	unavailable, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // read it all before refusing
		writeJSON(w, http.StatusServiceUnavailable, wire.Error{Error: "shutting down"})
	})
	good, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		puts = append(puts, put{r.URL.EscapedPath(), r.ContentLength, string(b)})
		mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]string{"key": "x"})
	})
	c := client.New([]string{unavailable.URL, good.URL}, nil, nil)
	body := "a source file"
	if err := c.Upload(context.Background(), "uploads/my clip.mp4", strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	want := put{"/v1/uploads/uploads/my%20clip.mp4", int64(len(body)), body}
	if len(puts) != 1 || puts[0] != want {
		t.Fatalf("got puts %+v, want [%+v] (the seekable body replayed to the second coordinator)", puts, want)
	}

	// A file is replayed too when the first coordinator is down: the
	// transport closes a failed request's body, which must not close the file.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	path := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c = client.New([]string{down.URL, good.URL}, nil, nil)
	if err := c.Upload(context.Background(), "uploads/file.mp4", f, int64(len(body))); err != nil {
		t.Fatalf("upload a file with the first coordinator down: %v", err)
	}
	if len(puts) != 2 || puts[1].body != body {
		t.Fatalf("got puts %+v, want the file's content on the second coordinator", puts)
	}

	// A body that cannot be rewound is not sent twice.
	c = client.New([]string{unavailable.URL, good.URL}, nil, nil)
	err = c.Upload(context.Background(), "uploads/pipe", io.MultiReader(strings.NewReader(body)), int64(len(body)))
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != http.StatusServiceUnavailable {
		t.Errorf("unseekable upload to an unavailable coordinator: got %v, want its 503", err)
	}
	if len(puts) != 2 {
		t.Errorf("unseekable body was replayed: %+v", puts)
	}
}

// sse writes events as a coordinator's event stream does.
func sse(w http.ResponseWriter, events ...wire.Event) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ": keepalive\n\n")
	for _, ev := range events {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	w.(http.Flusher).Flush()
}

func TestWatchJob(t *testing.T) {
	ev := func(state scheduler.JobState, done int) wire.Event {
		return wire.Event{Type: "progress", Job: wire.Job{ID: "j1", State: state, ChunksDone: done}}
	}
	t.Run("reconnects until the job finishes", func(t *testing.T) {
		var conns atomic.Int64
		srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/jobs/j1/events" || r.Header.Get("Accept") != "text/event-stream" {
				t.Errorf("got %s with Accept %q", r.URL.Path, r.Header.Get("Accept"))
			}
			switch conns.Add(1) {
			case 1:
				sse(w, ev(scheduler.JobEncoding, 1)) // then the stream drops
			case 2:
				w.WriteHeader(http.StatusBadGateway) // a proxy between restarts
			default:
				sse(w, ev(scheduler.JobEncoding, 2), ev(scheduler.JobDone, 3), ev(scheduler.JobDone, 4))
			}
		})
		var got []int
		err := client.New([]string{srv.URL}, nil, nil).WatchJob(context.Background(), "j1", func(e wire.Event) error {
			got = append(got, e.Job.ChunksDone)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[1 2 3]" {
			t.Errorf("events %v, want [1 2 3] (nothing after the final state)", got)
		}
	})
	t.Run("callback error ends the watch", func(t *testing.T) {
		srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) { sse(w, ev(scheduler.JobEncoding, 1)) })
		stop := errors.New("stop")
		err := client.New([]string{srv.URL}, nil, nil).WatchJob(context.Background(), "j1", func(wire.Event) error { return stop })
		if err != stop {
			t.Errorf("got %v, want the callback's error", err)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		srv, hits := counting(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, wire.Error{Error: `job "j1" not found`})
		})
		err := client.New([]string{srv.URL}, nil, nil).WatchJob(context.Background(), "j1", func(wire.Event) error { return nil })
		var api *client.APIError
		if !errors.As(err, &api) || api.Status != 404 {
			t.Errorf("got %v, want a 404 APIError", err)
		}
		if hits.Load() != 1 {
			t.Errorf("a 404 was retried %d times", hits.Load()-1)
		}
	})
	t.Run("context ends the watch", func(t *testing.T) {
		srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) { sse(w, ev(scheduler.JobEncoding, 1)) })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := client.New([]string{srv.URL}, nil, nil).WatchJob(ctx, "j1", func(wire.Event) error { return nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's deadline", err)
		}
	})
}

// TestJobsReadsEveryPage follows the listing's cursor to its last page.
func TestJobsReadsEveryPage(t *testing.T) {
	pages := map[string]wire.JobList{
		"":  {Jobs: []wire.Job{{ID: "j5"}, {ID: "j4"}}, Next: "4"},
		"4": {Jobs: []wire.Job{{ID: "j3"}, {ID: "j2"}}, Next: "2"},
		"2": {Jobs: []wire.Job{{ID: "j1"}}},
	}
	srv, hits := counting(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get(wire.JobsLimitParam); got != fmt.Sprint(wire.MaxJobsLimit) {
			t.Errorf("limit %q, want the largest page", got)
		}
		writeJSON(w, http.StatusOK, pages[r.URL.Query().Get(wire.JobsAfterParam)])
	})
	jobs, err := client.New([]string{srv.URL}, nil, nil).Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if want := []string{"j5", "j4", "j3", "j2", "j1"}; !slices.Equal(ids, want) {
		t.Errorf("jobs %v, want %v", ids, want)
	}
	if got := hits.Load(); got != 3 {
		t.Errorf("%d requests, want 3 pages", got)
	}
}
