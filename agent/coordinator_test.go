package agent

// A fake coordinator that speaks the agent protocol of cluster/wire, for the
// agent's unit tests: a queue of assignments handed out by long-poll,
// heartbeats that can ask for attempts to be abandoned, presigned-style
// upload and download URLs it serves itself, and a log of reports.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/pkitest"
)

// testAgentID is the node the agents of these tests run as, and the name in
// their certificate.
const testAgentID = "agent-1"

// report is a Complete or a Fail the coordinator received.
type report struct {
	complete *wire.Complete
	fail     *wire.Fail
	at       time.Time
}

func (r report) ref() wire.AttemptRef {
	if r.complete != nil {
		return r.complete.AttemptRef
	}
	return r.fail.AttemptRef
}

func (r report) String() string {
	if r.complete != nil {
		return fmt.Sprintf("complete %s/%d", r.complete.Task, r.complete.Attempt)
	}
	return fmt.Sprintf("fail %s/%d: %s (permanent %v)", r.fail.Task, r.fail.Attempt, r.fail.Error, r.fail.Permanent)
}

type fakeCoordinator struct {
	t       *testing.T
	srv     *httptest.Server
	reports chan report
	// agentTLS is the material of an agent of this coordinator's farm.
	agentTLS *pki.Material

	mu         sync.Mutex
	pending    []wire.Assignment
	kick       chan struct{} // closed when pending grows
	leases     []wire.LeaseRequest
	heartbeats []wire.Heartbeat
	progress   []wire.Progress
	abandon    map[wire.AttemptRef]bool
	files      map[string]string    // name → local file served at /files/name
	gets       map[string]time.Time // first GET of each /files/ name
	objects    map[string][]byte    // uploaded: task/attempt/name
	putErrors  int                  // PUTs still to refuse with a 503
	heads      []headReport
	puts       map[string]int // PUTs of each object
	held       map[string]*heldFile
}

// heldFile is a served file whose first bytes go out at once and the rest
// only once released: a download that stops halfway for a while.
type heldFile struct {
	first    int64
	released chan struct{}
	// broken: once released, the download breaks instead, and every later
	// GET is refused.
	broken bool
}

// headReport is a split's head as the fake received it, with the head's
// first output as stored at that moment.
type headReport struct {
	head   wire.SplitHead
	stored []byte
	at     time.Time
}

func newFakeCoordinator(t *testing.T) *fakeCoordinator {
	t.Helper()
	f := &fakeCoordinator{
		t:       t,
		reports: make(chan report, 100),
		kick:    make(chan struct{}),
		abandon: map[wire.AttemptRef]bool{},
		files:   map[string]string{},
		gets:    map[string]time.Time{},
		objects: map[string][]byte{},
		puts:    map[string]int{},
		held:    map[string]*heldFile{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/agent/lease", f.lease)
	mux.HandleFunc("POST /v1/agent/heartbeat", f.heartbeat)
	mux.HandleFunc("POST /v1/agent/progress", func(w http.ResponseWriter, r *http.Request) {
		var p wire.Progress
		if f.decode(w, r, &p) {
			f.mu.Lock()
			f.progress = append(f.progress, p)
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /v1/agent/uploads", f.uploadURLs)
	mux.HandleFunc("POST /v1/agent/complete", func(w http.ResponseWriter, r *http.Request) {
		var c wire.Complete
		if f.decode(w, r, &c) {
			f.reports <- report{complete: &c, at: time.Now()}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /v1/agent/head", func(w http.ResponseWriter, r *http.Request) {
		var h wire.SplitHead
		if f.decode(w, r, &h) {
			var stored []byte
			if len(h.Outputs) > 0 {
				stored, _ = f.object(h.AttemptRef, h.Outputs[0].Name)
			}
			f.mu.Lock()
			f.heads = append(f.heads, headReport{head: h, stored: stored, at: time.Now()})
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /v1/agent/fail", func(w http.ResponseWriter, r *http.Request) {
		var fl wire.Fail
		if f.decode(w, r, &fl) {
			f.reports <- report{fail: &fl, at: time.Now()}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("GET /files/{name...}", f.serveFile)
	mux.HandleFunc("GET /objects/{key...}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		b, ok := f.objects[r.PathValue("key")]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("PUT /objects/{key...}", f.put)
	// The fake speaks mutual TLS as a coordinator does: a server
	// certificate of the farm's CA, and the agent's certificate required.
	ca := pkitest.New(t)
	f.agentTLS = ca.Material(pki.RoleAgent, testAgentID)
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := pki.PeerIdentity(*r.TLS, pki.RoleAgent); err != nil || id.Name != testAgentID {
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(wire.Error{Error: fmt.Sprintf("caller %v is not agent %s: %v", id, testAgentID, err)})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	f.srv.TLS = ca.Material(pki.RoleServer, "c1").ServerConfig()
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCoordinator) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.t.Errorf("%s: malformed body: %v", r.URL.Path, err)
		w.WriteHeader(http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// add queues assignments for the next leases.
func (f *fakeCoordinator) add(as ...wire.Assignment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, as...)
	close(f.kick)
	f.kick = make(chan struct{})
}

func (f *fakeCoordinator) lease(w http.ResponseWriter, r *http.Request) {
	var req wire.LeaseRequest
	if !f.decode(w, r, &req) {
		return
	}
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil {
		f.t.Errorf("lease wait %q: %v", r.URL.Query().Get("wait"), err)
	}
	f.mu.Lock()
	f.leases = append(f.leases, req)
	f.mu.Unlock()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		n := min(req.Free, len(f.pending))
		granted := f.pending[:n:n]
		f.pending = f.pending[n:]
		kick := f.kick
		f.mu.Unlock()
		if n > 0 {
			writeJSON(w, wire.LeaseResponse{Assignments: granted})
			return
		}
		select {
		case <-kick:
		case <-timer.C:
			writeJSON(w, wire.LeaseResponse{Assignments: []wire.Assignment{}})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeCoordinator) heartbeat(w http.ResponseWriter, r *http.Request) {
	var hb wire.Heartbeat
	if !f.decode(w, r, &hb) {
		return
	}
	f.mu.Lock()
	f.heartbeats = append(f.heartbeats, hb)
	resp := wire.HeartbeatResponse{Abandon: []wire.AttemptRef{}}
	for _, ref := range hb.Attempts {
		if f.abandon[ref] {
			resp.Abandon = append(resp.Abandon, ref)
		}
	}
	f.mu.Unlock()
	writeJSON(w, resp)
}

func (f *fakeCoordinator) uploadURLs(w http.ResponseWriter, r *http.Request) {
	var req wire.UploadRequest
	if !f.decode(w, r, &req) {
		return
	}
	resp := wire.UploadResponse{URLs: map[string]string{}}
	for _, name := range req.Names {
		resp.URLs[name] = fmt.Sprintf("%s/objects/%s/%d/%s?sig=x", f.srv.URL, req.Task, req.Attempt, name)
	}
	writeJSON(w, resp)
}

func (f *fakeCoordinator) put(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.ContentLength != int64(len(b)) {
		f.t.Errorf("PUT %s: Content-Length %d, body %d bytes", r.URL.Path, r.ContentLength, len(b))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.putErrors > 0 {
		f.putErrors--
		http.Error(w, "slow down", http.StatusServiceUnavailable)
		return
	}
	f.objects[r.PathValue("key")] = b
	f.puts[r.PathValue("key")]++
	w.WriteHeader(http.StatusOK)
}

func (f *fakeCoordinator) serveFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f.mu.Lock()
	path, ok := f.files[name]
	if _, seen := f.gets[name]; !seen {
		f.gets[name] = time.Now()
	}
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	h := f.held[name]
	f.mu.Unlock()
	if h != nil {
		h.serve(w, r, path)
		return
	}
	http.ServeFile(w, r, path)
}

// hold serves the file name's first bytes at once and the rest only once
// release is called; with broken, release breaks the download instead and
// every later GET of it gets a 403.
func (f *fakeCoordinator) hold(name string, first int64, broken bool) (release func()) {
	h := &heldFile{first: first, released: make(chan struct{}), broken: broken}
	f.mu.Lock()
	f.held[name] = h
	f.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(h.released) }) }
}

func (h *heldFile) serve(w http.ResponseWriter, r *http.Request, path string) {
	select {
	case <-h.released:
		if h.broken {
			http.Error(w, "Request has expired", http.StatusForbidden)
			return
		}
	default:
	}
	file, err := os.Open(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(st.Size()))
	if _, err := io.CopyN(w, file, h.first); err != nil {
		return
	}
	w.(http.Flusher).Flush()
	select {
	case <-h.released:
	case <-r.Context().Done():
		return
	}
	if h.broken {
		panic(http.ErrAbortHandler) // the connection breaks mid-body
	}
	_, _ = io.Copy(w, file)
}

// fileURL serves a local file and returns its URL.
func (f *fakeCoordinator) fileURL(name, path string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[name] = path
	return f.srv.URL + "/files/" + name
}

// objectURL is the download URL of an uploaded object.
func (f *fakeCoordinator) objectURL(ref wire.AttemptRef, name string) string {
	return fmt.Sprintf("%s/objects/%s/%d/%s", f.srv.URL, ref.Task, ref.Attempt, name)
}

func (f *fakeCoordinator) object(ref wire.AttemptRef, name string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[fmt.Sprintf("%s/%d/%s", ref.Task, ref.Attempt, name)]
	return b, ok
}

func (f *fakeCoordinator) setAbandon(ref wire.AttemptRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abandon[ref] = true
}

func (f *fakeCoordinator) firstGet(name string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.gets[name]
	return at, ok
}

func (f *fakeCoordinator) heartbeatsSoFar() []wire.Heartbeat {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.Heartbeat(nil), f.heartbeats...)
}

func (f *fakeCoordinator) progressOf(ref wire.AttemptRef) []wire.Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ps []wire.Progress
	for _, p := range f.progress {
		if p.AttemptRef == ref {
			ps = append(ps, p)
		}
	}
	return ps
}

func (f *fakeCoordinator) leasesSoFar() []wire.LeaseRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.LeaseRequest(nil), f.leases...)
}

// next waits for the next report.
func (f *fakeCoordinator) next(t *testing.T, timeout time.Duration) report {
	t.Helper()
	select {
	case r := <-f.reports:
		return r
	case <-time.After(timeout):
		t.Fatalf("no report within %s", timeout)
		return report{}
	}
}

// noReport checks that nothing is reported for d.
func (f *fakeCoordinator) noReport(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case r := <-f.reports:
		t.Fatalf("unexpected report %s", r)
	case <-time.After(d):
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// started records the task processes the agent starts.
type started struct {
	mu   sync.Mutex
	pids map[wire.AttemptRef]int
	at   map[wire.AttemptRef]time.Time
}

func (s *started) record(ref wire.AttemptRef, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids[ref] = pid
	s.at[ref] = time.Now()
}

func (s *started) pid(ref wire.AttemptRef) (int, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid, ok := s.pids[ref]
	return pid, s.at[ref], ok
}

// running is an agent under test.
type running struct {
	agent   *Agent
	started *started
	cancel  context.CancelFunc
	done    chan struct{} // closed when Run returned err
	err     error
}

// stop cancels the agent's context and waits for Run to return.
func (r *running) stop(t *testing.T, timeout time.Duration) error {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %s of cancel", timeout)
		return nil
	}
}

// startAgent runs an agent against f with test-friendly intervals; edit
// adjusts its config.
func startAgent(t *testing.T, f *fakeCoordinator, edit func(*Config)) *running {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		NodeID:       testAgentID,
		DataDir:      t.TempDir(),
		Slots:        1,
		Encoders:     []string{"libx264"},
		Coordinators: []string{f.srv.URL},
		TLS:          f.agentTLS,
		Version:      "test",
		LeaseWait:    300 * time.Millisecond,
		Heartbeat:    50 * time.Millisecond,
		Executable:   exe,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &started{pids: map[wire.AttemptRef]int{}, at: map[wire.AttemptRef]time.Time{}}
	a.onStart = s.record
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{agent: a, started: s, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = a.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(time.Minute):
			t.Error("agent did not stop within a minute")
		}
	})
	return r
}

// jsonOf marshals v or fails the test.
func jsonOf(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
