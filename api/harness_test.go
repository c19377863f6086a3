package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one API server on a fresh database, local blob storage and (optionally) a real farm.
type env struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	db    *store.Store
	blobs storage.Store  // local unless withBlobs
	farm  *farmtest.Farm // nil unless withFarm
	URL   string
}

type envOption func(*envConfig)

type envConfig struct {
	api    Config
	agents int
	farm   bool
	// wrapFarm, when set, stands between the API and the farm's client.
	wrapFarm func(Farm) Farm
	// blobs, when set, is the blob store instead of a local one.
	blobs storage.Store
}

// withFarm runs a real one-coordinator farm with the given number of agents on the same
// blob directory as the API.
func withFarm(agents int) envOption {
	return func(c *envConfig) { c.farm, c.agents = true, agents }
}

func withConfig(f func(*Config)) envOption { return func(c *envConfig) { f(&c.api) } }

// withBlobs serves the API from blobs (MinIO, say) instead of a local directory.
func withBlobs(blobs storage.Store) envOption { return func(c *envConfig) { c.blobs = blobs } }

// withFarmWrapped puts wrap's Farm between the API and the farm's client.
func withFarmWrapped(wrap func(Farm) Farm) envOption {
	return func(c *envConfig) { c.wrapFarm = wrap }
}

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
		farmClient = client.New([]string{"http://" + deadAddr(t)}, nil, nil)
	}
	if ec.wrapFarm != nil {
		farmClient = ec.wrapFarm(farmClient)
	}

	ts := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + ts.Listener.Addr().String()
	e.blobs, err = storage.NewLocal(blobDir, storage.Options{PublicURL: e.URL, Secret: []byte("api-test-blob-secret-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	if ec.blobs != nil {
		e.blobs = ec.blobs
	}
	cfg := ec.api
	cfg.Store, cfg.Blobs, cfg.Farm = db, e.blobs, farmClient
	cfg.Auth.SigningKeys = append(cfg.Auth.SigningKeys, SigningKey{ID: "test", Secret: []byte("test-signing-key-0123456789abcdefghij")})
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
	e.http = ts
	serve(ctx, t, e.srv, ts)
	return e
}

// serve starts srv behind the unstarted test server ts, and stops both when the test ends.
func serve(ctx context.Context, tb testing.TB, srv *Server, ts *httptest.Server) {
	tb.Helper()
	ts.Config.Handler = srv.Handler()
	ts.Start()
	if err := srv.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.CloseClientConnections()
		ts.Close()
		_ = srv.Close(ctx)
	})
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(tb testing.TB) string {
	tb.Helper()
	return testkit.FreeAddr(tb, "127.0.0.1")
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
	return e.send(e.request(method, path, body), token)
}

// request is a request to the API (or to an absolute URL) with body, JSON-typed when there is
// one: nil sends none, []byte and strings go as they are, anything else is marshalled.
func (e *env) request(method, path string, body any) *http.Request {
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
	return req
}

// send sends req as token unless it is "".
func (e *env) send(req *http.Request, token string) response {
	e.t.Helper()
	resp, data := roundTrip(e.t, http.DefaultClient, req, token)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// roundTrip sends req through c, as token unless it is "", and returns the response with its
// body read and closed.
func roundTrip(t testing.TB, c *http.Client, req *http.Request, token string) (*http.Response, []byte) {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
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
	put(e.t, *created.Upload.Url, "", body)
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
	testkit.WaitFor(t, timeout, what, cond)
}

// Files of a tiny published ladder, as the farm writes them.
var fakeLadder = map[string]string{
	"hls/master.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n" +
		"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,URI=\"audio/playlist.m3u8\"\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"audio\"\n360p/playlist.m3u8\n",
	"hls/360p/playlist.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
		"#EXTINF:4.000,\nc0_a1_0.ts\n#EXTINF:2.500,\nc0_a1_1.ts\n#EXT-X-ENDLIST\n",
	"hls/audio/playlist.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
		"#EXTINF:4.000,\na_0.ts\n#EXTINF:2.500,\na_1.ts\n#EXT-X-ENDLIST\n",
	"hls/360p/c0_a1_0.ts": strings.Repeat("G", 188*10),
	"hls/360p/c0_a1_1.ts": strings.Repeat("G", 188*5),
	"hls/poster.jpg":      "\xff\xd8\xff\xe0jpeg",
	"hls/storyboard.vtt":  "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n",
}

// readyVideo makes a published video of owner directly in the database and storage, as if the
// farm had transcoded it.
func (e *env) readyVideo(owner oapi.Session, visibility, title string) string {
	e.t.Helper()
	ctx := context.Background()
	ownerID, _ := strconv.ParseInt(owner.User.Id, 10, 64)
	id := newVideoID()
	if err := e.db.CreateVideo(ctx, store.NewVideo{ID: id, OwnerID: ownerID, Title: title, Visibility: visibility,
		SourceFilename: "x.mp4", SourceSize: 1}); err != nil {
		e.t.Fatal(err)
	}
	for rel, body := range fakeLadder {
		if err := e.blobs.Put(ctx, layout.Video(id)+rel, strings.NewReader(body), int64(len(body))); err != nil {
			e.t.Fatal(err)
		}
	}
	e.queueWithJob(id, "job-"+id)
	p, err := e.srv.publisher.readLadder(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if ok, err := e.db.MarkReady(ctx, id, p); err != nil || !ok {
		e.t.Fatalf("MarkReady: %v %v", ok, err)
	}
	return id
}

// put PUTs body to a presigned upload URL, with contentType unless it is "" (an avatar's URL
// signs it), and expects it stored.
func put(t *testing.T, url, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, msg := roundTrip(t, http.DefaultClient, req, "")
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: status %d: %s", url, resp.StatusCode, msg)
	}
}

// fastUser makes an account directly in the database with a token, skipping the password
// hash that makes registration slow on purpose.
func (e *env) fastUser(name string) oapi.Session {
	e.t.Helper()
	u, err := e.db.CreateUser(context.Background(), store.User{Username: name, DisplayName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	_, refreshHash := newSecret()
	sessionID, err := e.db.CreateSession(context.Background(), u.ID, refreshHash, e.srv.cfg.Auth.SessionTTL, store.Device{})
	if err != nil {
		e.t.Fatal(err)
	}
	token, exp, err := e.srv.issueToken(u.ID, sessionID)
	if err != nil {
		e.t.Fatal(err)
	}
	return oapi.Session{Token: token, ExpiresAt: exp, User: toAPIUser(u)}
}

// apiVideo GETs a video as token.
func (e *env) apiVideo(id, token string) oapi.Video {
	e.t.Helper()
	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, token, nil).decode(e.t, &v)
	return v
}

// comments GETs a page of comments at path as token.
func (e *env) comments(path, token string) oapi.CommentPage {
	e.t.Helper()
	var p oapi.CommentPage
	e.must(http.StatusOK, "GET", path, token, nil).decode(e.t, &p)
	return p
}

// commentIDs are the ids of a page's comments, in order.
func commentIDs(p oapi.CommentPage) []string {
	return mapped(p.Comments, func(c oapi.Comment) string { return c.Id })
}

// mapped is f of each item, in order: what a test compares of a page's items.
func mapped[T, U any](items []T, f func(T) U) []U {
	out := make([]U, len(items))
	for i, item := range items {
		out[i] = f(item)
	}
	return out
}

// sqlCount runs a count query directly.
func (e *env) sqlCount(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// equal reports whether a and b hold the same strings in the same order.
func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// contains reports whether s holds v.
func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ptr points at a copy of v, for the optional fields of requests.
func ptr[T any](v T) *T { return &v }

// view posts a view with the given User-Agent ("" for Go's); body is nil (no body), a string
// sent as it is, or a value sent as JSON.
func (e *env) view(id, token, userAgent string, body any) (oapi.ViewResult, response) {
	e.t.Helper()
	return e.viewFrom("", id, token, userAgent, body)
}

// viewFrom is view from the loopback address from ("": the default, 127.0.0.1).
func (e *env) viewFrom(from, id, token, userAgent string, body any) (oapi.ViewResult, response) {
	e.t.Helper()
	req := e.request("POST", "/api/v1/videos/"+id+"/views", body)
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	c := http.DefaultClient
	if from != "" {
		c = clientFrom(from)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, data := roundTrip(e.t, c, req, "")
	r := response{status: resp.StatusCode, header: resp.Header, body: data}
	var out oapi.ViewResult
	if r.status == http.StatusOK {
		r.decode(e.t, &out)
	}
	return out, r
}

// pngImage is a w×h PNG.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegImage is a w×h JPEG.
func jpegImage(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadAvatar asks for an upload URL, PUTs data there and completes it, expecting status.
func (e *env) uploadAvatar(token, contentType string, data []byte, status int) (oapi.AvatarUpload, response) {
	e.t.Helper()
	var up oapi.AvatarUpload
	e.must(http.StatusOK, "POST", "/api/v1/me/avatar", token, map[string]any{"contentType": contentType, "size": len(data)}).decode(e.t, &up)
	put(e.t, up.Url, contentType, data)
	return up, e.must(status, "POST", "/api/v1/me/avatar/complete", token, map[string]any{"uploadId": up.UploadId})
}

// countsSocket follows a video's events at base (an API replica's URL).
func countsSocket(t *testing.T, ctx context.Context, base, id, token string) *socket {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/videos/" + id + "/events"
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	s := &socket{t: t, conn: conn}
	s.auth(ctx, token)
	return s
}

// waitCounts reads events until one carries counts that satisfy ok.
func (s *socket) waitCounts(ctx context.Context, what string, ok func(oapi.Stats) bool) oapi.ProgressEvent {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		var ev oapi.ProgressEvent
		if err := wsjson.Read(ctx, s.conn, &ev); err != nil {
			s.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ev.Counts != nil && ok(*ev.Counts) {
			return ev
		}
	}
}

// userID is the database id of the session's user.
func userID(t *testing.T, s oapi.Session) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s.User.Id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// jobEndedVideo makes a video of owner whose job has just finished: the row queued with its
// job, and in storage the files the farm wrote (the fake ladder plus extra).
func (e *env) jobEndedVideo(owner oapi.Session, title string, extra map[string]string) string {
	e.t.Helper()
	ctx := context.Background()
	ownerID, _ := strconv.ParseInt(owner.User.Id, 10, 64)
	id := newVideoID()
	if err := e.db.CreateVideo(ctx, store.NewVideo{ID: id, OwnerID: ownerID, Title: title, Visibility: store.Public,
		SourceFilename: "x.mp4", SourceSize: 1}); err != nil {
		e.t.Fatal(err)
	}
	for _, files := range []map[string]string{fakeLadder, extra} {
		for rel, body := range files {
			e.putBlob(layout.Video(id)+rel, body)
		}
	}
	e.queueWithJob(id, "job-"+id)
	return id
}

// queueWithJob takes an uploading video to queued with its job recorded, as completing its
// upload does when the farm answers.
func (e *env) queueWithJob(id, jobID string) {
	e.t.Helper()
	ctx := context.Background()
	if ok, err := e.db.MarkUploaded(ctx, id, submitInlineTimeout); err != nil || !ok {
		e.t.Fatalf("MarkUploaded %s: %v %v", id, ok, err)
	}
	if ok, err := e.db.RecordJob(ctx, id, jobID, store.JobSpec{Segments: string(media.SegmentsFMP4)}); err != nil || !ok {
		e.t.Fatalf("RecordJob %s: %v %v", id, ok, err)
	}
}

// doneJob is the end of the video's job, as the farm reports it.
func doneJob(id string) wire.Job { return wire.Job{ID: "job-" + id, State: scheduler.JobDone} }

// publishVideo takes a video through the API's real publishing path: a video whose job has
// just ended (jobEndedVideo), then the job's end applied as the relay or the reconciliation
// would, which runs the automated checks.
func (e *env) publishVideo(owner oapi.Session, title string, extra map[string]string) string {
	e.t.Helper()
	id := e.jobEndedVideo(owner, title, extra)
	if err := e.srv.publisher.jobChanged(context.Background(), id, doneJob(id)); err != nil {
		e.t.Fatalf("job end of %s: %v", id, err)
	}
	if v := e.video(id); v.Status != store.StatusReady {
		e.t.Fatalf("video %s is %s after its job ended, want ready", id, v.Status)
	}
	return id
}

// putBlob stores body under key in the blob store.
func (e *env) putBlob(key, body string) {
	e.t.Helper()
	if err := e.blobs.Put(context.Background(), key, strings.NewReader(body), int64(len(body))); err != nil {
		e.t.Fatal(err)
	}
}

// decide posts a moderator's decision and returns the video after it.
func (e *env) decide(mod oapi.Session, id string, body map[string]any) oapi.Video {
	e.t.Helper()
	var v oapi.Video
	e.must(http.StatusOK, "POST", "/api/v1/moderation/videos/"+id+"/decision", mod.Token, body).decode(e.t, &v)
	return v
}

// report reports a video and returns the report.
func (e *env) report(reporter oapi.Session, targetType, id, reason string) oapi.Report {
	e.t.Helper()
	var rp oapi.Report
	e.must(http.StatusCreated, "POST", "/api/v1/reports", reporter.Token, map[string]any{
		"targetType": targetType, "targetId": id, "reason": reason,
	}).decode(e.t, &rp)
	return rp
}

// hold holds a video as an automated check would.
func (e *env) hold(id, reason string) {
	e.t.Helper()
	if ok, err := e.db.Hold(context.Background(), id, reason); err != nil || !ok {
		e.t.Fatalf("hold %s: %v %v", id, ok, err)
	}
}

// transcodeAndWait uploads a file through the API, completes it, and waits until the farm's
// job has ended and the video is published.
func (e *env) transcodeAndWait(token, title, file string) store.Video {
	e.t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		e.t.Fatal(err)
	}
	id := e.upload(token, title, body).VideoId
	e.complete(token, id)
	var v store.Video
	eventually(e.t, jobTimeout, title+" to be published", func() bool {
		v = e.video(id)
		return !v.InFlight()
	})
	if v.Status != store.StatusReady {
		e.t.Fatalf("%s: status %s (%s), want ready", title, v.Status, v.FailureReason)
	}
	return v
}

// searchVideo is what a test seeds beyond the title; zero fields keep readyVideo's values
// (published now, no views).
type searchVideo struct {
	title, description, captions string
	tags                         []string
	age                          time.Duration // published this long ago
	views, likes                 int64
	duration                     float64
	visibility                   string // default public
}

// seedSearch publishes a video through readyVideo, then sets what search reads directly, as
// the social, caption and moderation features would.
func (e *env) seedSearch(owner oapi.Session, sv searchVideo) string {
	e.t.Helper()
	if sv.visibility == "" {
		sv.visibility = store.Public
	}
	if sv.tags == nil {
		sv.tags = []string{}
	}
	if sv.duration == 0 {
		sv.duration = 300
	}
	id := e.readyVideo(owner, sv.visibility, sv.title)
	_, err := e.db.Pool().Exec(context.Background(), `
		UPDATE videos SET description = $2, tags = $3, caption_text = $4,
			published_at = now() - $5::bigint * interval '1 microsecond',
			view_count = $6, like_count = $7, duration_seconds = $8
		WHERE id = $1`, id, sv.description, sv.tags, sv.captions, sv.age.Microseconds(), sv.views, sv.likes, sv.duration)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// search runs a search as token (anonymous when "") and returns the page.
func (e *env) search(token string, params url.Values) oapi.VideoPage {
	e.t.Helper()
	var page oapi.VideoPage
	e.must(http.StatusOK, "GET", "/api/v1/search?"+params.Encode(), token, nil).decode(e.t, &page)
	return page
}

// allPages GETs path (its query has the limit, and any filter) as token, following the
// cursors to the end, and returns every page in order; more than maxPages fails the test.
func allPages[P any](e *env, path, token string, maxPages int, nextCursor func(P) *string) []P {
	e.t.Helper()
	var pages []P
	cursor := ""
	for range maxPages {
		var page P
		e.must(http.StatusOK, "GET", path+cursor, token, nil).decode(e.t, &page)
		pages = append(pages, page)
		next := nextCursor(page)
		if next == nil {
			return pages
		}
		cursor = "&cursor=" + *next
	}
	e.t.Fatalf("%s: more than %d pages", path, maxPages)
	return nil
}

// searchAll follows the cursors to the end and returns every id in order.
func (e *env) searchAll(token string, params url.Values) []string {
	e.t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			e.t.Fatalf("search %v: more than 100 pages", params)
		}
		page := e.search(token, params)
		for _, v := range page.Videos {
			ids = append(ids, v.Id)
		}
		if page.NextCursor == nil {
			return ids
		}
		params.Set("cursor", *page.NextCursor)
	}
}

// searchArgs are query parameters from key, value pairs.
func searchArgs(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// searchTitles are the titles of a page's videos, in order.
func searchTitles(page oapi.VideoPage) []string {
	return mapped(page.Videos, func(v oapi.Video) string { return v.Title })
}

// putVTT uploads a caption file as the web app does.
func (e *env) putVTT(token, videoID, lang, body string) response {
	e.t.Helper()
	req := e.request(http.MethodPut, "/api/v1/videos/"+videoID+"/captions/"+lang, body)
	req.Header.Set("Content-Type", "text/vtt")
	return e.send(req, token)
}

// captionText is the text of the video's captions that search reads (videos.caption_text).
func (e *env) captionText(videoID string) string {
	e.t.Helper()
	var text string
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT caption_text FROM videos WHERE id = $1`, videoID).Scan(&text); err != nil {
		e.t.Fatal(err)
	}
	return text
}

// captions lists the video's caption tracks as token.
func (e *env) captions(videoID, token string) []oapi.Caption {
	e.t.Helper()
	var list oapi.CaptionList
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+videoID+"/captions", token, nil).decode(e.t, &list)
	return list.Captions
}

// blobExists reports whether the blob store holds key.
func (e *env) blobExists(key string) bool {
	e.t.Helper()
	_, err := e.blobs.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

// testWAV is a 16 kHz mono 16-bit PCM WAV of a 440 Hz tone, like the pipeline's speech track.
func testWAV(seconds float64) []byte {
	const rate = 16000
	n := int(seconds * rate)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, le, []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)})
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*n))
	for i := range n {
		_ = binary.Write(&b, le, int16(8000*math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	return b.Bytes()
}

// putSpeech stores wav as the video's speech track, where the pipeline publishes it.
func (e *env) putSpeech(videoID string, wav []byte) {
	e.t.Helper()
	if err := e.blobs.Put(context.Background(), layout.Ladder(videoID, layout.SpeechFile), bytes.NewReader(wav), int64(len(wav))); err != nil {
		e.t.Fatal(err)
	}
}

// publishFake makes a video whose job has just finished with the fake ladder (and speech
// track), as the farm leaves it, for the publisher to publish.
func (e *env) publishFake(owner oapi.Session, title string, wav []byte) string {
	e.t.Helper()
	id := e.readyVideo(owner, store.Public, title) // a video row and the ladder's files
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE videos SET status = 'processing', published_at = NULL WHERE id = $1`, id); err != nil {
		e.t.Fatal(err)
	}
	if wav != nil {
		e.putSpeech(id, wav)
	}
	if err := e.srv.publisher.jobChanged(context.Background(), id, wire.Job{ID: "job-" + id, State: scheduler.JobDone}); err != nil {
		e.t.Fatal(err)
	}
	if v := e.video(id); v.Status != store.StatusReady {
		e.t.Fatalf("status %s after the job ended", v.Status)
	}
	return id
}

// browser is a user agent with a cookie jar that does not follow redirects, so that a test
// sees every hop of the flow.
type browser struct {
	t   *testing.T
	jar *cookiejar.Jar
	c   *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// send makes a request and returns the response with its body read.
func (b *browser) send(method, rawURL, token string) (*http.Response, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return roundTrip(b.t, b.c, req, token)
}

// hop GETs rawURL, which must redirect with 302, and returns where to.
func (b *browser) hop(rawURL string) (*url.URL, *http.Response) {
	b.t.Helper()
	resp, body := b.send(http.MethodGet, rawURL, "")
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("GET %s: status %d, want 302: %s", rawURL, resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		b.t.Fatalf("GET %s: %v", rawURL, err)
	}
	return loc, resp
}

// cookie is the cookie name the browser holds for rawURL, nil when none.
func (b *browser) cookie(rawURL, name string) *http.Cookie {
	u, _ := url.Parse(rawURL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// testClock is a clock a test moves forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// replicaConfig is the configuration of a second API replica on the same database and
// storage. A replica is a process of its own, with metrics of its own.
func (e *env) replicaConfig() Config {
	c := e.srv.cfg
	c.Metrics = nil
	return c
}
