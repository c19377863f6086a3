package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// authorityFixture is a one-node coordinator with certificates from its CA:
// its handler is called with the caller's certificate, as its TLS listener
// would see it.
type authorityFixture struct {
	t     *testing.T
	n     *Node
	store storage.Store
	ca    string
}

func newAuthorityFixture(t *testing.T) *authorityFixture {
	t.Helper()
	ca, m := serverMaterial(t, "c1")
	store, err := storage.NewLocal(t.TempDir(), storage.Options{PublicURL: "http://127.0.0.1:1", Secret: bytes.Repeat([]byte("k"), storage.MinSecretSize)})
	if err != nil {
		t.Fatal(err)
	}
	addrs := testkit.FreeAddrs(t, "127.0.0.1", 3)
	n, err := New(Config{NodeID: "c1", DataDir: t.TempDir(), HTTPAddr: addrs[0], RaftAddr: addrs[1], GossipAddr: addrs[2],
		BootstrapExpect: 1, Store: store, TLS: m, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	deadline := time.Now().Add(20 * time.Second)
	for !n.isLeader() {
		if time.Now().After(deadline) {
			t.Fatal("the coordinator did not become leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &authorityFixture{t: t, n: n, store: store, ca: ca}
}

// call sends body to path with the certificate's identity and decodes a
// 2xx answer into out; it returns the status and the error message.
func (f *authorityFixture) call(cert *x509.Certificate, path string, body, out any) (int, string) {
	f.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	w := httptest.NewRecorder()
	f.n.Handler().ServeHTTP(w, r)
	if w.Code >= 300 {
		var e wire.Error
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		return w.Code, e.Error
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			f.t.Fatalf("%s: %v", path, err)
		}
	}
	return w.Code, ""
}

// leaseSplit submits a job and leases its split to agent a1.
func (f *authorityFixture) leaseSplit(a1 *x509.Certificate) (wire.Job, wire.Assignment) {
	f.t.Helper()
	if err := f.store.Put(context.Background(), "uploads/src", strings.NewReader("src"), 3); err != nil {
		f.t.Fatal(err)
	}
	var j wire.Job
	if status, msg := f.call(certOf(f.t, f.ca, pki.RoleClient, "api"), "/v1/jobs", wire.SubmitJob{Source: "uploads/src"}, &j); status != http.StatusCreated {
		f.t.Fatalf("submit: %d %s", status, msg)
	}
	var lease wire.LeaseResponse
	f.call(a1, "/v1/agent/lease?wait=0s", wire.LeaseRequest{Agent: wire.AgentInfo{ID: "a1", Slots: 1}, Free: 1}, &lease)
	if len(lease.Assignments) != 1 {
		f.t.Fatalf("a1 leased %v, want the split", lease.Assignments)
	}
	return j, lease.Assignments[0]
}

func sha(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// TestAgentCannotReportOnAnotherAgentsAttempt: an agent may neither act as
// another node nor report progress, outputs, completion or failure for
// another agent's attempt, nor keep its lease alive; every such request is
// refused with 403 and changes nothing.
func TestAgentCannotReportOnAnotherAgentsAttempt(t *testing.T) {
	f := newAuthorityFixture(t)
	a1, a2 := certOf(t, f.ca, pki.RoleAgent, "a1"), certOf(t, f.ca, pki.RoleAgent, "a2")
	server := certOf(t, f.ca, pki.RoleServer, "c2")
	j, asg := f.leaseSplit(a1)
	f.call(a2, "/v1/agent/lease?wait=0s", wire.LeaseRequest{Agent: wire.AgentInfo{ID: "a2", Slots: 1}}, nil)
	ref := wire.AttemptRef{Task: asg.Task, Attempt: asg.Attempt}
	before, _ := f.n.fsm.Job(j.ID)

	forged := []struct {
		name   string
		caller *x509.Certificate
		path   string
		body   any
	}{
		{"lease as another node", a2, "/v1/agent/lease?wait=0s", wire.LeaseRequest{Agent: wire.AgentInfo{ID: "a1", Slots: 1}, Free: 1}},
		{"complete as another node", a2, "/v1/agent/complete", wire.Complete{Agent: "a1", AttemptRef: ref, Result: json.RawMessage(`{}`)}},
		{"complete another's attempt", a2, "/v1/agent/complete", wire.Complete{Agent: "a2", AttemptRef: ref, Result: json.RawMessage(`{}`)}},
		{"fail another's attempt", a2, "/v1/agent/fail", wire.Fail{Agent: "a2", AttemptRef: ref, Error: "forged", Permanent: true}},
		{"progress on another's attempt", a2, "/v1/agent/progress", wire.Progress{Agent: "a2", AttemptRef: ref, FramesDone: 1, FramesTotal: 2}},
		{"upload URLs for another's attempt", a2, "/v1/agent/uploads", wire.UploadRequest{Agent: "a2", AttemptRef: ref, Names: []string{"c.nut"}}},
		{"heartbeat for another's attempt", a2, "/v1/agent/heartbeat", wire.Heartbeat{Agent: "a2", Attempts: []wire.AttemptRef{ref}}},
		// A coordinator forwards for any agent, but not onto another's attempt.
		{"server forwarding another agent's complete", server, "/v1/agent/complete", wire.Complete{Agent: "a2", AttemptRef: ref, Result: json.RawMessage(`{}`)}},
	}
	for _, tt := range forged {
		t.Run(tt.name, func(t *testing.T) {
			if status, msg := f.call(tt.caller, tt.path, tt.body, nil); status != http.StatusForbidden || !strings.Contains(msg, "a1") {
				t.Errorf("got %d %q, want 403 naming the attempt's agent a1", status, msg)
			}
			if after, _ := f.n.fsm.Job(j.ID); !reflect.DeepEqual(after, before) {
				t.Errorf("the job changed:\nbefore %+v\n after %+v", before, after)
			}
			if g := f.n.fsm.Granted(ref.Task, ref.Attempt); len(g) > 0 {
				t.Errorf("outputs granted: %v", g)
			}
		})
	}
	if status, msg := f.call(a1, "/v1/agent/progress", wire.Progress{Agent: "a1", AttemptRef: ref, FramesDone: 1, FramesTotal: 2}, nil); status != http.StatusNoContent {
		t.Errorf("a1's own progress: %d %s", status, msg)
	}
}

// TestCompletionMatchesStoredOutputs: a completion is accepted only when it
// reports exactly the granted outputs, each stored with the reported size
// and SHA-256; a refused one leaves the attempt active.
func TestCompletionMatchesStoredOutputs(t *testing.T) {
	f := newAuthorityFixture(t)
	a1 := certOf(t, f.ca, pki.RoleAgent, "a1")
	_, asg := f.leaseSplit(a1)
	ref := wire.AttemptRef{Task: asg.Task, Attempt: asg.Attempt}
	var urls wire.UploadResponse
	if status, msg := f.call(a1, "/v1/agent/uploads", wire.UploadRequest{Agent: "a1", AttemptRef: ref, Names: []string{"c.nut", "d.nut"}}, &urls); status != http.StatusOK {
		t.Fatalf("upload URLs: %d %s", status, msg)
	}
	granted := f.n.fsm.Granted(ref.Task, ref.Attempt)
	if len(granted) != 2 || len(urls.URLs) != 2 {
		t.Fatalf("granted %v with URLs %v, want c.nut and d.nut", granted, urls.URLs)
	}
	for _, g := range granted {
		if want := splitPrefix(asg.Job, asg.Attempt) + g.Name; g.Key != want {
			t.Errorf("output %s granted as %s, want %s (the attempt's own prefix)", g.Name, g.Key, want)
		}
	}
	if err := f.store.Put(context.Background(), granted[0].Key, strings.NewReader("chunk"), 5); err != nil {
		t.Fatal(err)
	}
	c := wire.Object{Name: "c.nut", Size: 5, SHA256: sha("chunk")}
	d := wire.Object{Name: "d.nut", Size: 4, SHA256: sha("more")}
	complete := func(outputs ...wire.Object) (int, string) {
		return f.call(a1, "/v1/agent/complete", wire.Complete{Agent: "a1", AttemptRef: ref, Result: json.RawMessage(`{}`), Outputs: outputs}, nil)
	}
	if status, msg := complete(c, d); status != http.StatusConflict || !strings.Contains(msg, "never uploaded") {
		t.Errorf("complete with d.nut not uploaded: got %d %q, want 409 saying so", status, msg)
	}
	if err := f.store.Put(context.Background(), granted[1].Key, strings.NewReader("more"), 4); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		outputs []wire.Object
		want    int
		wantMsg string
	}{
		{"one not reported", []wire.Object{c}, http.StatusBadRequest, "granted"},
		{"one not granted", []wire.Object{c, d, {Name: "e.nut", Size: 1, SHA256: sha("e")}}, http.StatusBadRequest, "granted"},
		{"wrong size", []wire.Object{{Name: "c.nut", Size: 6, SHA256: c.SHA256}, d}, http.StatusConflict, "bytes"},
		{"wrong checksum", []wire.Object{{Name: "c.nut", Size: 5, SHA256: sha("other")}, d}, http.StatusConflict, "SHA-256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, msg := complete(tt.outputs...); status != tt.want || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got %d %q, want %d mentioning %q", status, msg, tt.want, tt.wantMsg)
			}
			if !f.n.fsm.AttemptActive(ref.Task, ref.Attempt) {
				t.Error("a refused completion ended the attempt")
			}
		})
	}
	if status, msg := complete(d, c); status != http.StatusNoContent {
		t.Fatalf("complete with the stored outputs: %d %s", status, msg)
	}
	if at, _ := f.n.fsm.Attempt(ref.Task, ref.Attempt); at.State != scheduler.StateDone {
		t.Errorf("attempt is %s, want done", at.State)
	}
}

// TestFailReasonLosesURLQueries: a failure report whose text carries a
// presigned URL (an older or hostile agent that does not redact) reaches the
// replicated state without the URL's query string.
func TestFailReasonLosesURLQueries(t *testing.T) {
	f := newAuthorityFixture(t)
	a1 := certOf(t, f.ca, pki.RoleAgent, "a1")
	j, asg := f.leaseSplit(a1)
	reason := `download input: Get "http://minio:9000/b/uploads/src?X-Amz-Credential=AK&X-Amz-Signature=abc123": EOF`
	if status, msg := f.call(a1, "/v1/agent/fail", wire.Fail{Agent: "a1", AttemptRef: wire.AttemptRef{Task: asg.Task, Attempt: asg.Attempt},
		Error: reason, Permanent: true}, nil); status != http.StatusNoContent {
		t.Fatalf("fail: %d %s", status, msg)
	}
	after, _ := f.n.fsm.Job(j.ID)
	b, _ := json.Marshal(jobBody(after))
	if strings.Contains(string(b), "abc123") || strings.Contains(string(b), "X-Amz-Credential") {
		t.Errorf("the job keeps the URL's query: %s", b)
	}
	if !strings.Contains(string(b), "http://minio:9000/b/uploads/src") {
		t.Errorf("the job lost the failure's reason: %s", b)
	}
}
