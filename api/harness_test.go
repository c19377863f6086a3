package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/storage"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one API server on a fresh database, local blob storage and (optionally) a real farm.
type env struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	db    *store.Store
	blobs *storage.Local
	farm  *farmtest.Farm // nil unless withFarm
	URL   string
}

type envOption func(*envConfig)

type envConfig struct {
	api    Config
	agents int
	farm   bool
}

// withFarm runs a real one-coordinator farm with the given number of agents on the same
// blob directory as the API.
func withFarm(agents int) envOption {
	return func(c *envConfig) { c.farm, c.agents = true, agents }
}

func withConfig(f func(*Config)) envOption { return func(c *envConfig) { f(&c.api) } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	var ec envConfig
	for _, o := range opts {
		o(&ec)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}

	blobDir := filepath.Join(t.TempDir(), "blobs")
	e := &env{t: t, db: db}
	var farmClient Farm
	if ec.farm {
		e.farm = farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: ec.agents, Storage: "file://" + blobDir})
		farmClient = e.farm.Client()
	} else {
		// No farm: submitting fails as it does when the farm is down.
		farmClient = client.New([]string{"http://" + deadAddr(t)}, farmtest.Token, nil)
	}

	ts := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + ts.Listener.Addr().String()
	e.blobs, err = storage.NewLocal(blobDir, storage.Options{PublicURL: e.URL, Secret: []byte("api-test-blob-secret-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ec.api
	cfg.Store, cfg.Blobs, cfg.Farm = db, e.blobs, farmClient
	cfg.SigningKeys = append(cfg.SigningKeys, SigningKey{ID: "test", Secret: []byte("test-signing-key-0123456789abcdefghij")})
	cfg.MediaSecret = []byte("media-secret-0123456789")
	cfg.PublicURL = e.URL
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = 200 * time.Millisecond
	}
	if cfg.HomeCacheTTL == 0 {
		cfg.HomeCacheTTL = -1 // tests read their writes at once; TestHomeCache turns it on
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = e.srv.Handler()
	ts.Start()
	e.http = ts
	if err := e.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.CloseClientConnections()
		ts.Close()
		_ = e.srv.Close(ctx)
	})
	return e
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorBody decodes the error of a 4xx/5xx and checks its shape.
func (r response) errorBody(t *testing.T) oapi.ErrorDetail {
	t.Helper()
	var e oapi.Error
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body without code or message: %s", r.body)
	}
	return e.Error
}

// do sends a request with an optional token; body is marshalled unless it is []byte or a string.
func (e *env) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, token string, body any) response {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

var userSeq atomic.Int64

// user registers a fresh account and returns its session.
func (e *env) user(prefix string) oapi.Session {
	e.t.Helper()
	// Zero-padded so that a short prefix still makes a valid (3+ character) username.
	name := fmt.Sprintf("%s%03d", prefix, userSeq.Add(1))
	var s oapi.Session
	e.must(http.StatusCreated, "POST", "/api/v1/auth/register", "", map[string]string{
		"username": name, "password": "correct horse battery", "displayName": strings.ToUpper(name),
	}).decode(e.t, &s)
	return s
}

// moderator registers an account and grants it the moderator role, as the operator command does.
func (e *env) moderator() oapi.Session {
	e.t.Helper()
	s := e.user("mod")
	if _, err := e.db.SetRole(context.Background(), s.User.Username, store.RoleModerator); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// upload creates a video whose file is body, uploaded through the presigned URL, but does not
// complete it.
func (e *env) upload(token, title string, body []byte) oapi.UploadCreated {
	e.t.Helper()
	var created oapi.UploadCreated
	e.must(http.StatusCreated, "POST", "/api/v1/uploads", token, map[string]any{
		"title": title, "filename": "clip.mp4", "size": len(body),
	}).decode(e.t, &created)
	if created.Upload.Method != oapi.Put {
		e.t.Fatalf("upload of %d bytes: method %s, want put", len(body), created.Upload.Method)
	}
	req, err := http.NewRequest(http.MethodPut, *created.Upload.Url, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("PUT to the presigned URL: status %d", resp.StatusCode)
	}
	return created
}

// video reads a video row directly, bypassing the API's visibility rules.
func (e *env) video(id string) store.Video {
	e.t.Helper()
	v, err := e.db.Video(context.Background(), id)
	if err != nil {
		e.t.Fatalf("video %s: %v", id, err)
	}
	return v
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
