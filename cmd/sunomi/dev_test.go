package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/internal/syncbuf"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/storage/layout"
)

// Deadlines of the end-to-end tests. Starting includes initdb on the first start of a private
// cluster; a transcode of a few seconds of media takes seconds, more on a loaded machine.
const (
	devStartDeadline     = 2 * time.Minute
	devStopDeadline      = time.Minute
	devTranscodeDeadline = 5 * time.Minute
)

// devProcess is a running `sunomi dev`.
type devProcess struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{} // closed when the process has exited
	URL  string        // the URL it says to open, without the trailing slash
}

// openLine is how `sunomi dev` says where to go.
var openLine = regexp.MustCompile(`(?m)^\s+open\s+(http://\S+?)/\s*$`)

// startDev starts `sunomi dev` on a port of the kernel's choosing and waits until it serves
// the API. env is added to an environment without DATABASE_URL or SUNOMI_ variables. The
// process is killed at the end of the test if still running, and its output is logged when the
// test failed.
func startDev(t *testing.T, dataDir string, env ...string) *devProcess {
	t.Helper()
	bin := sunomiBinary(t)
	cmd := exec.Command(bin, "dev", "--http", "127.0.0.1:0", "--data-dir", dataDir)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "SUNOMI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	p := &devProcess{cmd: cmd, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// A group of its own, so that a kill at the end reaches what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if p.running() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of sunomi dev --data-dir %s:\n%s", dataDir, p.out)
		}
	})

	err := testkit.Poll(devStartDeadline, func() (bool, error) {
		if !p.running() {
			return false, testkit.Stop(fmt.Errorf("it exited (%v)", p.cmd.ProcessState))
		}
		if p.URL == "" {
			m := openLine.FindStringSubmatch(p.out.String())
			if m == nil {
				return false, errors.New("it has not said which URL to open")
			}
			p.URL = m[1]
		}
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent, fmt.Errorf("GET /readyz: %s", resp.Status)
	})
	if err != nil {
		t.Fatalf("sunomi dev not ready: %v", err)
	}
	return p
}

func (p *devProcess) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop presses Ctrl-C and checks that everything shuts down cleanly.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(devStopDeadline):
		t.Fatalf("sunomi dev still running %s after Ctrl-C", devStopDeadline)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("sunomi dev exited with %v after Ctrl-C, want status 0", p.cmd.ProcessState)
	}
	if !strings.Contains(p.out.String(), "msg=stopped component=dev") {
		t.Errorf("sunomi dev did not log that it stopped")
	}
}

// call sends a JSON request (body marshalled unless nil), checks the status and decodes the
// answer into out unless it is nil.
func call(t *testing.T, method, url, token string, body any, wantStatus int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, wantStatus, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, data, err)
		}
	}
}

// get fetches url and returns the body, failing the test unless the status is 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, data)
	}
	return data
}

func register(t *testing.T, base, username string) oapi.Session {
	t.Helper()
	var s oapi.Session
	call(t, "POST", base+"/api/v1/auth/register", "", map[string]string{
		"username": username, "password": "correct horse battery staple", "displayName": strings.ToUpper(username),
	}, http.StatusCreated, &s)
	if s.Token == "" || s.User.Username != username {
		t.Fatalf("register %s: got %+v, want a token and the user", username, s)
	}
	return s
}

// TestDevEndToEnd drives the whole platform of `sunomi dev` as the web app does: register,
// upload a clip, follow its transcoding on the WebSocket, and play the result.
func TestDevEndToEnd(t *testing.T) {
	sunomiBinary(t)
	const clipSeconds, clipFPS = 6, 30
	clip := testmedia.Generate(t, testmedia.CFR(clipSeconds, 1280, 720, clipFPS, true))
	source, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	dev := startDev(t, t.TempDir(), "DATABASE_URL="+pgtest.NewDatabase(t))
	base := dev.URL
	session := register(t, base, "alice")

	var created oapi.UploadCreated
	call(t, "POST", base+"/api/v1/uploads", session.Token, map[string]any{
		"title": "Test pattern", "filename": "clip.mp4", "size": len(source),
	}, http.StatusCreated, &created)
	if created.Upload.Method != oapi.Put || created.Upload.Url == nil {
		t.Fatalf("upload of %d bytes: %+v, want one PUT URL", len(source), created.Upload)
	}
	put, err := http.NewRequest(http.MethodPut, *created.Upload.Url, bytes.NewReader(source))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatalf("PUT %s: %v", *created.Upload.Url, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT to the upload URL: status %d", resp.StatusCode)
	}

	// Following before completing sees the whole life of the video: uploading, then the job.
	ctx, cancel := context.WithTimeout(t.Context(), devTranscodeDeadline)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/videos/" + created.VideoId + "/events"
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	defer ws.CloseNow()
	if err := wsjson.Write(ctx, ws, map[string]string{"type": "auth", "token": session.Token}); err != nil {
		t.Fatal(err)
	}
	call(t, "POST", base+"/api/v1/uploads/"+created.VideoId+"/complete", session.Token, nil, http.StatusOK, nil)

	var events []oapi.ProgressEvent
	for {
		var ev oapi.ProgressEvent
		err := wsjson.Read(ctx, ws, &ev)
		if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
			break
		}
		if err != nil {
			t.Fatalf("after %d events %+v: read the progress socket: %v", len(events), events, err)
		}
		t.Logf("event: status %s, overall %.1f%%, chunks %d/%d, playable %v", ev.Status, ev.Progress.Overall,
			ev.ChunksDone, ev.ChunksTotal, ev.Playable)
		events = append(events, ev)
		// The socket stays open after ready, for live counts; the transcoding story ends here.
		if ev.Status == oapi.VideoStatusReady || ev.Status == oapi.VideoStatusFailed {
			break
		}
	}
	var inFlight int
	for _, ev := range events {
		if ev.VideoId != created.VideoId {
			t.Errorf("event for video %q, want %q", ev.VideoId, created.VideoId)
		}
		if ev.Status == oapi.VideoStatusQueued || ev.Status == oapi.VideoStatusProcessing {
			inFlight++
		}
	}
	if inFlight == 0 {
		t.Errorf("no queued or processing event among %d: %+v", len(events), events)
	}
	if len(events) == 0 {
		t.Fatal("the socket closed without an event")
	}
	last := events[len(events)-1]
	if last.Status != oapi.VideoStatusReady || last.Progress.Overall != 100 || !last.Playable {
		errMsg := ""
		if last.Error != nil {
			errMsg = *last.Error
		}
		t.Fatalf("last event: status %s, overall %v, playable %v, error %q; want ready, 100, playable",
			last.Status, last.Progress.Overall, last.Playable, errMsg)
	}

	var video oapi.Video
	call(t, "GET", base+"/api/v1/videos/"+created.VideoId, "", nil, http.StatusOK, &video)
	if video.Status != oapi.VideoStatusReady || video.Playback == nil || video.Playback.MasterUrl == "" {
		t.Fatalf("video %+v: want status ready with a master playlist URL", video)
	}
	if d := video.DurationSeconds; d == nil || math.Abs(*d-clipSeconds) > 0.1 {
		t.Errorf("video duration %v, want %d s", d, clipSeconds)
	}

	masterURL := resolve(t, base+"/", video.Playback.MasterUrl)
	master := string(get(t, masterURL))
	rungURL := resolve(t, masterURL, firstURI(t, master, "#EXT-X-STREAM-INF"))
	rung := string(get(t, rungURL))
	if !strings.Contains(rung, "#EXT-X-ENDLIST") {
		t.Errorf("rung playlist %s has no #EXT-X-ENDLIST once the video is ready:\n%s", rungURL, rung)
	}
	segmentURL := resolve(t, rungURL, firstURI(t, rung, "#EXTINF"))
	// New videos are CMAF by default: a media segment decodes behind its rung's init segment.
	initURI := mapURI.FindStringSubmatch(rung)
	if initURI == nil || !strings.Contains(rung, "#EXT-X-VERSION:7\n") {
		t.Fatalf("rung playlist %s is not a version 7 playlist with an EXT-X-MAP; new videos are fMP4:\n%s", rungURL, rung)
	}
	segment := filepath.Join(t.TempDir(), "segment.mp4")
	if err := os.WriteFile(segment, append(get(t, resolve(t, rungURL, initURI[1])), get(t, segmentURL)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if codec := videoCodec(t, segment); codec != "h264" {
		t.Errorf("segment %s: video codec %q, want h264", segmentURL, codec)
	}
	if msg := decodeErrors(t, segment); msg != "" {
		t.Errorf("decoding segment %s printed %q, want nothing", segmentURL, msg)
	}
	// The whole rung, read over HTTP as a player does.
	if codec := videoCodec(t, rungURL); codec != "h264" {
		t.Errorf("rung %s: video codec %q, want h264", rungURL, codec)
	}
	if d := mediaDuration(t, rungURL); math.Abs(d-clipSeconds) > 1.5/clipFPS {
		t.Errorf("rung %s lasts %.3f s, want %d s within a frame", rungURL, d, clipSeconds)
	}
	// The same segments as DASH, read by libavformat's DASH demuxer over HTTP, token and all.
	manifestURL := strings.Replace(masterURL, "/"+layout.MasterPlaylist, "/"+layout.DASHManifest, 1)
	if codec := videoCodec(t, manifestURL); codec != "h264" {
		t.Errorf("DASH manifest %s: video codec %q, want h264", manifestURL, codec)
	}
	if msg := decodeErrors(t, manifestURL); msg != "" {
		t.Errorf("decoding the DASH manifest %s printed %q, want nothing", manifestURL, msg)
	}
	checkDevMetrics(t, dev)

	dev.stop(t)
}

// metricsLine is where `sunomi dev` says its metrics are.
var metricsLine = regexp.MustCompile(`(?m)^\s+metrics\s+(http://\S+/metrics)\s*$`)

// checkDevMetrics scrapes the API's metrics where `sunomi dev` says they are, after one upload
// that was transcoded and published.
func checkDevMetrics(t *testing.T, dev *devProcess) {
	t.Helper()
	m := metricsLine.FindStringSubmatch(dev.out.String())
	if m == nil {
		t.Fatal("sunomi dev did not say where its metrics are")
	}
	if !strings.HasPrefix(m[1], "http://127.0.0.1:") {
		t.Errorf("metrics at %s, want a loopback address", m[1])
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`sunomi_api_uploads_total{outcome="completed"} 1`,
		`sunomi_api_jobs_submitted_total{outcome="submitted"} 1`,
		`sunomi_api_videos{status="ready"} 1`,
		`sunomi_api_http_requests_total{code="2xx",method="POST",route="/api/v1/uploads/{videoId}/complete"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the API's metrics lack %s", want)
		}
	}
}

// TestDevPrivatePostgres runs `sunomi dev` without DATABASE_URL, so it starts a PostgreSQL
// cluster of its own in the data directory, and restarts it: accounts and sign-ins survive.
func TestDevPrivatePostgres(t *testing.T) {
	sunomiBinary(t)
	// Under root the server runs as the postgres user, which must reach the data directory:
	// t.TempDir's directories are 0700.
	dataDir, err := os.MkdirTemp("", "sunomi-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dataDir) })
	if err := os.Chmod(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}

	dev := startDev(t, dataDir)
	session := register(t, dev.URL, "bob")
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "data", "PG_VERSION")); err != nil {
		t.Errorf("no PostgreSQL cluster in the data directory: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dataDir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("secrets.json has mode %v, want 0600", perm)
	}
	wantDevFarmTLS(t, dataDir, dev.out.String())

	// A second one on the same data directory is refused.
	r := runSunomi(t, "dev", "--http", "127.0.0.1:0", "--data-dir", dataDir)
	wantOneLineFailure(t, r, "another sunomi dev is running")
	dev.stop(t)

	dev = startDev(t, dataDir)
	var me oapi.User
	call(t, "GET", dev.URL+"/api/v1/auth/me", session.Token, nil, http.StatusOK, &me)
	if me.Username != "bob" {
		t.Errorf("after a restart the token from before is %q's, want bob's", me.Username)
	}
	dev.stop(t)
}

// TestDevChecksTheAPIFlags: `sunomi dev` checks the API's flags as cmd/api does (its
// public-URL check, which dev once lacked, and the AV1 policy), before it starts or writes
// anything.
func TestDevChecksTheAPIFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"public URL", []string{"--public-url", "sunomi.example"}, `--public-url "sunomi.example" must be an absolute http(s) URL`},
		{"AV1 policy", []string{"--av1", "sometimes"}, `--av1: unknown AV1 policy "sometimes" (choose off, all or popular)`},
		{"AV1 minimum views", []string{"--av1", "popular", "--av1-min-views", "0"}, "--av1-min-views must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := newDevCmd()
			cmd.SetArgs(append([]string{"--data-dir", dir, "--http", "127.0.0.1:0"}, tc.args...))
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("data directory holds %v (%v), want nothing: the flags are checked first", entries, err)
			}
		})
	}
}

// TestRunTaskIsWired checks that the agents of `sunomi dev` can run their tasks through this
// binary: run-task answers with the task protocol's usage error.
func TestRunTaskIsWired(t *testing.T) {
	r := runSunomi(t, "run-task")
	if code := r.state.ExitCode(); code != 2 {
		t.Errorf("sunomi run-task: exit status %d, want 2 (usage); stderr %q", code, r.stderr)
	}
	if !strings.Contains(r.stderr, "--spec") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("sunomi run-task: stderr %q, want one line about --spec", r.stderr)
	}
}

// resolve resolves ref against base.
func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(r).String()
}

// firstURI returns the URI line that follows the first tag line starting with tag.
// mapURI finds a media playlist's init segment.
var mapURI = regexp.MustCompile(`(?m)^#EXT-X-MAP:URI="([^"]+)"`)

func firstURI(t *testing.T, playlist, tag string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(playlist))
	seen := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, tag):
			seen = true
		case seen && line != "" && !strings.HasPrefix(line, "#"):
			return line
		}
	}
	t.Fatalf("no URI after %s in playlist:\n%s", tag, playlist)
	return ""
}

// ffprobe runs ffprobe on input (a file or URL) and decodes its JSON.
func ffprobe(t *testing.T, input string, out any, args ...string) {
	t.Helper()
	args = append([]string{"-v", "error", "-of", "json"}, args...)
	cmd := exec.Command("ffprobe", append(args, input)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", input, err, stderr.String())
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
}

func videoCodec(t *testing.T, input string) string {
	t.Helper()
	var p struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	ffprobe(t, input, &p, "-select_streams", "v", "-show_entries", "stream=codec_name")
	if len(p.Streams) == 0 {
		return ""
	}
	return p.Streams[0].CodecName
}

func mediaDuration(t *testing.T, input string) float64 {
	t.Helper()
	var p struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	ffprobe(t, input, &p, "-show_entries", "format=duration")
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe %s: duration %q: %v", input, p.Format.Duration, err)
	}
	return d
}

// wantDevFarmTLS checks that `sunomi dev` made its farm's CA and certificates
// in the data directory and that its coordinator runs on them: plain HTTP
// and callers without a certificate are refused.
func wantDevFarmTLS(t *testing.T, dataDir, log string) {
	t.Helper()
	for _, f := range []string{"ca.pem", "ca-key.pem", "dev.pem", "dev-key.pem", "dev-api.pem", "dev-a1.pem", "dev-a1-key.pem"} {
		if _, err := os.Stat(filepath.Join(dataDir, "tls", f)); err != nil {
			t.Errorf("the development farm's TLS material: %v", err)
		}
	}
	m := regexp.MustCompile(`msg="coordinator ready".* http=(\S+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no coordinator address in the log:\n%s", log)
	}
	if resp, err := http.Get("http://" + m[1] + "/v1/jobs"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("the dev coordinator answers plain HTTP with %d", resp.StatusCode)
		}
	}
	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := anonymous.Get("https://" + m[1] + "/v1/jobs"); err == nil {
		resp.Body.Close()
		t.Errorf("the dev coordinator answers a caller without certificate with %d", resp.StatusCode)
	}
}
