package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/storage/layout"
)

const (
	vttEnglish = "WEBVTT\n\n1\n00:00.500 --> 00:02.000\nHello <b>brave</b> new world\n\n" +
		"00:00:02.000 --> 00:00:04.000 align:start\n<v Narrator>Second line &amp; more</v>\n"
	vttFrench = "WEBVTT - sous-titres\nKind: captions\n\nNOTE une note\n\n00:01.000 --> 00:03.000\nBonjour le monde\n"
)

func TestCanonicalLanguage(t *testing.T) {
	for in, want := range map[string]string{"en": "en", "EN": "en", "pt-br": "pt-BR", "zh-hant-tw": "zh-Hant-TW", "es-419": "es-419", "SGN-be-FR": "sgn-BE-FR"} {
		if got, ok := canonicalLanguage(in); !ok || got != want {
			t.Errorf("canonicalLanguage(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "e", "english", "en_US", "en-", "en-x", "../en", "en/../../x", strings.Repeat("ab-", 20) + "ab"} {
		if got, ok := canonicalLanguage(bad); ok {
			t.Errorf("canonicalLanguage(%q) = %q, accepted", bad, got)
		}
	}
	for _, c := range []struct{ lang, source, want string }{
		{"en", store.CaptionUpload, "English"},
		{"fr", store.CaptionUpload, "Français"},
		{"pt-BR", store.CaptionUpload, "Português (Brasil)"},
		{"de-AT", store.CaptionUpload, "Deutsch (AT)"},
		{"tlh", store.CaptionUpload, "tlh"},
		{"en", store.CaptionTranscription, "English (automatic)"},
		{"und", store.CaptionTranscription, "Automatic"},
	} {
		if got := captionLabel(c.lang, c.source); got != c.want {
			t.Errorf("captionLabel(%q, %q) = %q, want %q", c.lang, c.source, got, c.want)
		}
	}
}

func TestCaptionUploads(t *testing.T) {
	e := newEnv(t)
	owner, other := e.user("owner"), e.user("other")
	id := e.readyVideo(owner, store.Public, "Captioned")

	var en oapi.Caption
	r := e.putVTT(owner.Token, id, "EN", vttEnglish)
	if r.status != http.StatusOK {
		t.Fatalf("PUT en: status %d: %s", r.status, r.body)
	}
	r.decode(t, &en)
	want := oapi.Caption{Language: "en", Label: "English", Source: oapi.CaptionSourceUpload, Url: "/media/" + id + "/subs/en/captions.vtt"}
	if en != want {
		t.Fatalf("PUT en: %+v, want %+v", en, want)
	}
	if !e.blobExists(captionKey(id, "en")) {
		t.Fatal("the caption file was not stored")
	}
	if r := e.putVTT(owner.Token, id, "fr", vttFrench); r.status != http.StatusOK {
		t.Fatalf("PUT fr: status %d: %s", r.status, r.body)
	}
	if got, want := e.captionText(id), "Hello brave new world\nSecond line & more\nBonjour le monde"; got != want {
		t.Fatalf("caption_text %q, want %q", got, want)
	}

	t.Run("anyone lists the tracks", func(t *testing.T) {
		got := e.captions(id, "")
		if len(got) != 2 || got[0].Language != "en" || got[1].Language != "fr" || got[1].Label != "Français" {
			t.Fatalf("tracks %+v", got)
		}
		var v oapi.Video
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, other.Token, nil).decode(t, &v)
		if v.Captions == nil || len(*v.Captions) != 2 || (*v.Captions)[0] != want {
			t.Fatalf("video captions %+v", v.Captions)
		}
		file := get(t, e.URL+got[0].Url, nil)
		if file.status != 200 || !strings.Contains(string(file.body), "Hello <b>brave</b> new world") {
			t.Fatalf("caption file: status %d: %s", file.status, file.body)
		}
	})

	t.Run("replace", func(t *testing.T) {
		r := e.putVTT(owner.Token, id, "en", "WEBVTT\n\n00:00.000 --> 00:01.000\nGoodbye\n")
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := e.captionText(id); got != "Goodbye\nBonjour le monde" {
			t.Fatalf("caption_text %q", got)
		}
		if n := len(e.captions(id, "")); n != 2 {
			t.Fatalf("%d tracks after replacing one, want 2", n)
		}
	})

	t.Run("only the owner changes captions", func(t *testing.T) {
		for _, c := range []struct {
			name, token string
			want        int
		}{{"anonymous", "", http.StatusUnauthorized}, {"another user", other.Token, http.StatusForbidden}} {
			if r := e.putVTT(c.token, id, "de", vttEnglish); r.status != c.want {
				t.Errorf("%s PUT: status %d, want %d", c.name, r.status, c.want)
			}
			if r := e.do("DELETE", "/api/v1/videos/"+id+"/captions/fr", c.token, nil); r.status != c.want {
				t.Errorf("%s DELETE: status %d, want %d", c.name, r.status, c.want)
			}
			if r := e.do("POST", "/api/v1/videos/"+id+"/captions/auto", c.token, nil); r.status != c.want {
				t.Errorf("%s transcribe: status %d, want %d", c.name, r.status, c.want)
			}
		}
		// A moderator may delete videos, not rewrite their captions.
		if r := e.putVTT(e.moderator().Token, id, "de", vttEnglish); r.status != http.StatusForbidden {
			t.Errorf("moderator PUT: status %d", r.status)
		}
		if e.blobExists(captionKey(id, "de")) || len(e.captions(id, "")) != 2 {
			t.Fatal("a refused upload stored something")
		}
	})

	t.Run("invalid files store nothing", func(t *testing.T) {
		cases := []struct {
			name, lang, body string
			status           int
			want             string
		}{
			{"no header", "de", "00:01.000 --> 00:02.000\nHallo\n", 400, "line 1"},
			{"bad timing", "de", "WEBVTT\n\n00:01 --> 00:02.000\nHallo\n", 400, "line 3"},
			{"end before start", "de", "WEBVTT\n\n00:03.000 --> 00:02.000\nHallo\n", 400, "line 3"},
			{"end equals start", "de", "WEBVTT\n\n00:03.000 --> 00:03.000\nHallo\n", 400, "line 3"},
			{"invalid UTF-8", "de", "WEBVTT\n\n00:01.000 --> 00:02.000\nH\xe4llo\n", 400, "UTF-8"},
			{"oversize", "de", "WEBVTT\n\n" + strings.Repeat("00:01.000 --> 00:02.000\nHallo\n\n", maxCaptionBytes/30), 413, "KiB"},
			{"bad language", "deutsch", vttEnglish, 400, "language"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.putVTT(owner.Token, id, c.lang, c.body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				if msg := r.errorBody(t).Message; !strings.Contains(msg, c.want) {
					t.Fatalf("message %q does not mention %q", msg, c.want)
				}
				if e.blobExists(captionKey(id, "de")) || len(e.captions(id, "")) != 2 {
					t.Fatal("a refused upload stored something")
				}
			})
		}
		if got := e.captionText(id); got != "Goodbye\nBonjour le monde" {
			t.Fatalf("caption_text %q", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+id+"/captions/FR", owner.Token, nil)
		if e.blobExists(captionKey(id, "fr")) {
			t.Fatal("the file outlived its track")
		}
		if got := e.captions(id, ""); len(got) != 1 || got[0].Language != "en" {
			t.Fatalf("tracks %+v", got)
		}
		if got := e.captionText(id); got != "Goodbye" {
			t.Fatalf("caption_text %q", got)
		}
		e.must(http.StatusNotFound, "DELETE", "/api/v1/videos/"+id+"/captions/fr", owner.Token, nil)
		if r := get(t, e.URL+"/media/"+id+"/subs/fr/captions.vtt", nil); r.status != http.StatusNotFound {
			t.Fatalf("deleted file: status %d", r.status)
		}
	})

	t.Run("deleting the video deletes its captions", func(t *testing.T) {
		e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+id, owner.Token, nil)
		if e.blobExists(captionKey(id, "en")) {
			t.Fatal("the caption file outlived its video")
		}
		var n int
		if err := e.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM captions WHERE video_id = $1`, id).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d caption rows left (%v)", n, err)
		}
	})
}

func TestCaptionsInHLS(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Captioned")
	plain := get(t, e.URL+"/media/"+id+"/master.m3u8", nil)
	if string(plain.body) != fakeLadder["hls/master.m3u8"] {
		t.Fatalf("the master of a video without captions changed:\n%s", plain.body)
	}
	for lang, body := range map[string]string{"en": vttEnglish, "pt-BR": vttFrench} {
		if r := e.putVTT(owner.Token, id, lang, body); r.status != http.StatusOK {
			t.Fatalf("PUT %s: status %d: %s", lang, r.status, r.body)
		}
	}

	r := get(t, e.URL+"/media/"+id+"/master.m3u8", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/vnd.apple.mpegurl" || r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("master: status %d, type %q, cache %q", r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
	master, err := hls.ParseMasterPlaylist(r.body)
	if err != nil {
		t.Fatalf("%v:\n%s", err, r.body)
	}
	var subs []hls.Rendition
	for _, rend := range master.Renditions {
		if rend.Type == "SUBTITLES" {
			subs = append(subs, rend)
		}
	}
	wantSubs := []hls.Rendition{
		{Type: "SUBTITLES", GroupID: "subs", Name: "English", Language: "en", URI: "subs/en/playlist.m3u8", AutoSelect: true},
		{Type: "SUBTITLES", GroupID: "subs", Name: "Português (Brasil)", Language: "pt-BR", URI: "subs/pt-BR/playlist.m3u8", AutoSelect: true},
	}
	if len(subs) != len(wantSubs) || subs[0] != wantSubs[0] || subs[1] != wantSubs[1] {
		t.Fatalf("subtitle renditions %+v, want %+v", subs, wantSubs)
	}
	if len(master.Renditions) != 3 {
		t.Fatalf("renditions %+v: the audio group went missing", master.Renditions)
	}
	for _, v := range master.Variants {
		if v.Subtitles != "subs" || v.Audio != "audio" || v.Bandwidth != 900000 {
			t.Fatalf("variant %+v", v)
		}
	}

	pl := get(t, e.URL+"/media/"+id+"/subs/pt-BR/playlist.m3u8", nil)
	if pl.status != 200 || pl.header.Get("Content-Type") != "application/vnd.apple.mpegurl" || pl.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("subtitle playlist: status %d, type %q, cache %q: %s", pl.status, pl.header.Get("Content-Type"), pl.header.Get("Cache-Control"), pl.body)
	}
	media, err := hls.ParseMediaPlaylist(pl.body)
	if err != nil {
		t.Fatalf("%v:\n%s", err, pl.body)
	}
	// The fake ladder lasts 6.5 s.
	if len(media.Segments) != 1 || media.Segments[0].URI != "captions.vtt" || media.Segments[0].Duration != 6.5 ||
		media.TargetDuration != 7 || media.Type != hls.PlaylistVOD || !media.Ended {
		t.Fatalf("subtitle playlist %+v:\n%s", media, pl.body)
	}

	vtt := get(t, e.URL+"/media/"+id+"/subs/pt-BR/captions.vtt", nil)
	if vtt.status != 200 || vtt.header.Get("Content-Type") != "text/vtt; charset=utf-8" || vtt.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("captions: status %d, type %q, cache %q", vtt.status, vtt.header.Get("Content-Type"), vtt.header.Get("Cache-Control"))
	}
	wantVTT := "WEBVTT - sous-titres\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\nKind: captions\n\nNOTE une note\n\n00:01.000 --> 00:03.000\nBonjour le monde\n"
	if string(vtt.body) != wantVTT {
		t.Fatalf("captions:\n%s\nwant:\n%s", vtt.body, wantVTT)
	}
	if _, err := hls.ParseWebVTT(vtt.body); err != nil {
		t.Fatalf("the served file is not valid WebVTT: %v", err)
	}

	for _, missing := range []string{"subs/de/playlist.m3u8", "subs/de/captions.vtt", "subs/en/other.vtt", "subs/en_US/captions.vtt", "subs/../captions/en.vtt"} {
		if r := get(t, e.URL+"/media/"+id+"/"+missing, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", missing, r.status)
		}
	}
}

func TestPrivateCaptions(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Private, "Private")
	if r := e.putVTT(owner.Token, id, "en", vttEnglish); r.status != http.StatusOK {
		t.Fatalf("PUT: status %d: %s", r.status, r.body)
	}
	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil).decode(t, &v)
	token := v.Playback.MasterUrl[strings.Index(v.Playback.MasterUrl, "token="):]
	if v.Captions == nil || len(*v.Captions) != 1 || !strings.Contains((*v.Captions)[0].Url, "/subs/en/captions.vtt?token=") {
		t.Fatalf("captions %+v", v.Captions)
	}
	if r := get(t, e.URL+(*v.Captions)[0].Url, nil); r.status != 200 {
		t.Fatalf("the caption URL of the video resource: status %d", r.status)
	}
	// Another user does not see the video, nor its captions.
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/"+id+"/captions", e.user("other").Token, nil)

	master := get(t, e.URL+v.Playback.MasterUrl, nil)
	if want := `URI="subs/en/playlist.m3u8?` + token + `"`; !strings.Contains(string(master.body), want) {
		t.Fatalf("master does not contain %q:\n%s", want, master.body)
	}
	if _, err := hls.ParseMasterPlaylist(master.body); err != nil {
		t.Fatal(err)
	}
	pl := get(t, e.URL+"/media/"+id+"/subs/en/playlist.m3u8?"+token, nil)
	if pl.status != 200 || pl.header.Get("Cache-Control") != "private, max-age=300" || !strings.Contains(string(pl.body), "\ncaptions.vtt?"+token+"\n") {
		t.Fatalf("subtitle playlist: status %d, cache %q:\n%s", pl.status, pl.header.Get("Cache-Control"), pl.body)
	}
	vtt := get(t, e.URL+"/media/"+id+"/subs/en/captions.vtt?"+token, nil)
	if vtt.status != 200 || strings.Contains(string(vtt.body), "token=") || !strings.Contains(string(vtt.body), "\nHello <b>brave</b> new world\n") {
		t.Fatalf("captions: status %d (cue text must not be rewritten as URIs):\n%s", vtt.status, vtt.body)
	}
	for _, f := range []string{"subs/en/playlist.m3u8", "subs/en/captions.vtt"} {
		if r := get(t, e.URL+"/media/"+id+"/"+f, nil); r.status != http.StatusForbidden {
			t.Errorf("%s without a token: status %d", f, r.status)
		}
	}
}

const whisperAnswer = "WEBVTT\n\n00:00.000 --> 00:01.500\nHello from the transcription service\n"

// fakeWhisper speaks OpenAI's transcription protocol and checks what it is sent.
type fakeWhisper struct {
	t   *testing.T
	srv *httptest.Server
	key string

	mu       sync.Mutex
	status   int    // of the answers; 200 unless set
	answer   string // the WebVTT answered
	language string // a Content-Language header, if set
	hang     bool   // answer nothing until the client gives up
	requests []whisperRequest
}

type whisperRequest struct {
	fields map[string]string
	file   []byte
}

func newFakeWhisper(t *testing.T) *fakeWhisper {
	f := &fakeWhisper{t: t, key: "sk-test-key", answer: whisperAnswer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWhisper) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/audio/transcriptions" {
		f.t.Errorf("transcription request: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.key {
		f.t.Errorf("Authorization %q", got)
		http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		f.t.Errorf("not multipart: %v", err)
		http.Error(w, "not multipart", http.StatusBadRequest)
		return
	}
	req := whisperRequest{fields: map[string]string{}}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.t.Errorf("read the form: %v", err)
			return
		}
		data, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			req.file = data
			if p.FileName() == "" {
				f.t.Errorf("the file part has no file name")
			}
		} else {
			req.fields[p.FormName()] = string(data)
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	status, answer, language, hang := f.status, f.answer, f.language, f.hang
	f.mu.Unlock()
	if hang {
		// Read the body to its end: only then does net/http watch the connection and cancel
		// the request's context when the client hangs up. The timer keeps a client that never
		// hangs up from blocking the test server's Close for ever.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
			f.t.Errorf("the client never gave up on a hanging transcription")
		}
		return
	}
	if status != 0 && status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":{"message":"the model is overloaded"}}`)
		return
	}
	w.Header().Set("Content-Type", "text/vtt")
	if language != "" {
		w.Header().Set("Content-Language", language)
	}
	_, _ = io.WriteString(w, answer)
}

func (f *fakeWhisper) set(fn func(f *fakeWhisper)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeWhisper) calls() []whisperRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]whisperRequest(nil), f.requests...)
}

func withWhisper(f *fakeWhisper, auto bool) envOption {
	return withConfig(func(c *Config) {
		c.Transcription = TranscriptionConfig{URL: f.srv.URL + "/", Model: "whisper-test", Key: f.key,
			Timeout: 2 * time.Second, Auto: auto}
	})
}

func TestTranscription(t *testing.T) {
	whisper := newFakeWhisper(t)
	e := newEnv(t, withWhisper(whisper, false))
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Spoken")
	wav := testWAV(1.5)
	e.putSpeech(id, wav)
	auto := "/api/v1/videos/" + id + "/captions/auto"

	t.Run("requested language", func(t *testing.T) {
		var c oapi.Caption
		e.must(http.StatusOK, "POST", auto, owner.Token, map[string]string{"language": "pt-br"}).decode(t, &c)
		want := oapi.Caption{Language: "pt-BR", Label: "Português (Brasil) (automatic)", Source: oapi.CaptionSourceTranscription,
			Url: "/media/" + id + "/subs/pt-BR/captions.vtt"}
		if c != want {
			t.Fatalf("caption %+v, want %+v", c, want)
		}
		calls := whisper.calls()
		if len(calls) != 1 {
			t.Fatalf("%d calls to the service", len(calls))
		}
		got := calls[0]
		if got.fields["model"] != "whisper-test" || got.fields["response_format"] != "vtt" || got.fields["language"] != "pt" {
			t.Errorf("form fields %v", got.fields)
		}
		if !bytes.Equal(got.file, wav) {
			t.Errorf("the service got %d bytes of audio, want the %d of the WAV", len(got.file), len(wav))
		}
		if text := e.captionText(id); text != "Hello from the transcription service" {
			t.Errorf("caption_text %q", text)
		}
	})

	t.Run("unknown language", func(t *testing.T) {
		var c oapi.Caption
		e.must(http.StatusOK, "POST", auto, owner.Token, nil).decode(t, &c)
		if c.Language != "und" || c.Label != "Automatic" {
			t.Fatalf("caption %+v", c)
		}
		if _, ok := whisper.calls()[1].fields["language"]; ok {
			t.Error("a language was sent though none was asked for")
		}
	})

	t.Run("language named by the service", func(t *testing.T) {
		whisper.set(func(f *fakeWhisper) { f.language = "de" })
		defer whisper.set(func(f *fakeWhisper) { f.language = "" })
		var c oapi.Caption
		e.must(http.StatusOK, "POST", auto, owner.Token, map[string]any{}).decode(t, &c)
		if c.Language != "de" || c.Label != "Deutsch (automatic)" {
			t.Fatalf("caption %+v", c)
		}
	})

	tracks := len(e.captions(id, ""))
	failures := []struct {
		name   string
		set    func(f *fakeWhisper)
		status int
	}{
		{"service error", func(f *fakeWhisper) { f.status = http.StatusInternalServerError }, http.StatusServiceUnavailable},
		{"not WebVTT", func(f *fakeWhisper) { f.answer = "Hello there" }, http.StatusServiceUnavailable},
		{"bad timing", func(f *fakeWhisper) { f.answer = "WEBVTT\n\n00:02.000 --> 00:01.000\nx\n" }, http.StatusServiceUnavailable},
		{"timeout", func(f *fakeWhisper) { f.hang = true }, http.StatusServiceUnavailable},
		{"silence", func(f *fakeWhisper) { f.answer = "WEBVTT\n\n" }, http.StatusConflict},
	}
	for _, c := range failures {
		t.Run(c.name, func(t *testing.T) {
			whisper.set(c.set)
			defer whisper.set(func(f *fakeWhisper) { f.status, f.answer, f.hang = 0, whisperAnswer, false })
			r := e.do("POST", auto, owner.Token, map[string]string{"language": "es"})
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if n := len(e.captions(id, "")); n != tracks || e.blobExists(captionKey(id, "es")) {
				t.Fatal("a failed transcription stored something")
			}
		})
	}

	t.Run("no audio", func(t *testing.T) {
		silent := e.readyVideo(owner, store.Public, "Silent")
		r := e.do("POST", "/api/v1/videos/"+silent+"/captions/auto", owner.Token, nil)
		if r.status != http.StatusConflict || !strings.Contains(r.errorBody(t).Message, "no audio") {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})

	t.Run("bad language", func(t *testing.T) {
		e.must(http.StatusBadRequest, "POST", auto, owner.Token, map[string]string{"language": "pt_BR"})
		e.must(http.StatusBadRequest, "POST", auto, owner.Token, map[string]string{"lang": "en"})
	})

	t.Run("metrics", func(t *testing.T) {
		m := e.srv.metrics
		for outcome, least := range map[string]float64{transcriptionSucceeded: 3, transcriptionNoSpeech: 1, transcriptionFailed: 1} {
			if got := testutil.ToFloat64(m.transcriptions.WithLabelValues(outcome)); got < least {
				t.Errorf("transcriptions %s: %v, want at least %v", outcome, got, least)
			}
		}
		if got := testutil.ToFloat64(m.transcriptionsRunning); got != 0 {
			t.Errorf("%v transcriptions still running", got)
		}
	})
}

func TestTranscriptionNotConfigured(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Spoken")
	e.putSpeech(id, testWAV(0.5))
	r := e.do("POST", "/api/v1/videos/"+id+"/captions/auto", owner.Token, nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	// Publishing does nothing either.
	e.srv.afterPublish(id)
	if n := len(e.captions(id, "")); n != 0 {
		t.Fatalf("%d tracks", n)
	}
}

func TestAutoTranscription(t *testing.T) {
	whisper := newFakeWhisper(t)
	e := newEnv(t, withWhisper(whisper, true))
	owner := e.user("owner")

	id := e.publishFake(owner, "Auto", testWAV(1))
	var tracks []oapi.Caption
	eventually(t, 5*time.Second, "automatic captions", func() bool {
		tracks = e.captions(id, "")
		return len(tracks) > 0
	})
	if tracks[0].Language != "und" || tracks[0].Source != oapi.CaptionSourceTranscription {
		t.Fatalf("tracks %+v", tracks)
	}
	if text := e.captionText(id); text != "Hello from the transcription service" {
		t.Errorf("caption_text %q", text)
	}

	t.Run("without audio nothing is asked", func(t *testing.T) {
		before := len(whisper.calls())
		quiet := e.publishFake(owner, "Quiet", nil)
		if _, _, err := e.srv.transcribeVideo(t.Context(), quiet, "", false); !errors.Is(err, errNoAudio) {
			t.Fatalf("error %v, want errNoAudio", err)
		}
		if n := len(whisper.calls()); n != before {
			t.Fatalf("%d calls to the service for a video without audio", n-before)
		}
	})

	t.Run("Close stops a transcription in flight", func(t *testing.T) {
		whisper.set(func(f *fakeWhisper) { f.hang = true })
		before := len(whisper.calls())
		e.srv.transcriber.timeout = time.Hour
		id := e.publishFake(owner, "Long", testWAV(1))
		eventually(t, 5*time.Second, "the transcription request", func() bool { return len(whisper.calls()) > before })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := len(e.captions(id, "")); n != 0 {
			t.Fatalf("%d tracks", n)
		}
	})
}

func TestAutoTranscriptionKeepsOwnerCaptions(t *testing.T) {
	whisper := newFakeWhisper(t)
	whisper.language = "en"
	e := newEnv(t, withWhisper(whisper, false))
	owner := e.user("owner")
	id := e.readyVideo(owner, store.Public, "Owner's")
	e.putSpeech(id, testWAV(1))
	if r := e.putVTT(owner.Token, id, "en", vttEnglish); r.status != http.StatusOK {
		t.Fatalf("PUT: status %d", r.status)
	}
	// What afterPublish runs in the background.
	if _, stored, err := e.srv.transcribeVideo(t.Context(), id, "", false); err != nil || stored {
		t.Fatalf("stored %v, error %v; want the owner's track kept", stored, err)
	}
	if n := len(whisper.calls()); n != 1 {
		t.Fatalf("%d calls to the service", n)
	}
	tracks := e.captions(id, "")
	if len(tracks) != 1 || tracks[0].Source != oapi.CaptionSourceUpload {
		t.Fatalf("tracks %+v: the owner's captions were replaced", tracks)
	}
	if got := get(t, e.URL+tracks[0].Url, nil); !strings.Contains(string(got.body), "brave") {
		t.Fatalf("the owner's file was replaced:\n%s", got.body)
	}
}

// TestCaptionsOnTranscodedVideo runs the real pipeline: its speech track reaches the
// transcription service as 16 kHz mono WAV, its segments start where X-TIMESTAMP-MAP says
// cue time 0 is, and ffprobe, an independent HLS client, finds the subtitle rendition.
func TestCaptionsOnTranscodedVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes a clip on a real farm")
	}
	for _, format := range []media.SegmentFormat{media.SegmentsTS, media.SegmentsFMP4} {
		t.Run(string(format), func(t *testing.T) {
			whisper := newFakeWhisper(t)
			e := newEnv(t, withFarm(1), withWhisper(whisper, true), withConfig(func(c *Config) { c.Segments = format }))
			owner := e.user("owner")
			id := e.upload(owner.Token, "Transcoded", testClip(t)).VideoId
			e.complete(owner.Token, id)
			eventually(t, jobTimeout, "the video to be ready", func() bool { return e.video(id).Status == store.StatusReady })
			eventually(t, 10*time.Second, "automatic captions", func() bool { return len(e.captions(id, "")) == 1 })

			calls := whisper.calls()
			wav := calls[0].file
			if len(wav) < 44 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
				t.Fatalf("the service got %d bytes that are not a WAV file", len(wav))
			}
			channels, rate := binary.LittleEndian.Uint16(wav[22:24]), binary.LittleEndian.Uint32(wav[24:28])
			if channels != 1 || rate != 16000 {
				t.Fatalf("the speech track has %d channels at %d Hz, want mono 16 kHz", channels, rate)
			}
			if seconds := float64(len(wav)-44) / 2 / 16000; math.Abs(seconds-clipSeconds) > 0.5 {
				t.Errorf("the speech track lasts %.2f s, want %d", seconds, clipSeconds)
			}

			// The first segment of every rendition starts at PTS 90000, the MPEGTS of our mapping.
			master := get(t, e.URL+"/media/"+id+"/master.m3u8", nil)
			parsed, err := hls.ParseMasterPlaylist(master.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(parsed.Variants) == 0 || parsed.Variants[0].Subtitles != subtitleGroup {
				t.Fatalf("master without subtitles:\n%s", master.body)
			}
			rung := get(t, e.URL+"/media/"+id+"/"+parsed.Variants[0].URI, nil)
			rungPlaylist, err := hls.ParseMediaPlaylist(rung.body)
			if err != nil {
				t.Fatal(err)
			}
			rungURL := e.URL + "/media/" + id + "/" + path.Dir(parsed.Variants[0].URI) + "/"
			segment := get(t, rungURL+rungPlaylist.Segments[0].URI, nil).body
			if rungPlaylist.Map != "" {
				// fMP4: the segment reads behind its init segment.
				segment = append(get(t, rungURL+rungPlaylist.Map, nil).body, segment...)
			}
			segPath := filepath.Join(t.TempDir(), "first-segment")
			if err := os.WriteFile(segPath, segment, 0o644); err != nil {
				t.Fatal(err)
			}
			if (rungPlaylist.Map != "") != (format == media.SegmentsFMP4) {
				t.Fatalf("rung playlist of a %s ladder with EXT-X-MAP %q", format, rungPlaylist.Map)
			}
			out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "default=nw=1:nk=1", segPath).Output()
			if err != nil {
				t.Fatalf("ffprobe the first segment %s: %v", rungPlaylist.Segments[0].URI, err)
			}
			start, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil || math.Abs(start-1.0) > 0.05 {
				t.Fatalf("the first segment starts at %q s, want 1.000 (PTS 90000) as X-TIMESTAMP-MAP says", out)
			}

			// FFmpeg 5.1's HLS demuxer reads subtitle renditions only when told to be experimental.
			out, err = exec.Command("ffprobe", "-v", "error", "-strict", "experimental", "-show_entries", "stream=codec_type,codec_name",
				"-of", "csv=p=0", e.URL+"/media/"+id+"/master.m3u8").CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe of the master: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "webvtt,subtitle") {
				t.Fatalf("ffprobe finds no WebVTT subtitle stream in the master:\n%s", out)
			}
			if format != media.SegmentsFMP4 {
				return
			}
			// The DASH manifest of the same segments offers the captions too.
			mpd := get(t, e.URL+"/media/"+id+"/"+layout.DASHManifest, nil)
			m, err := hls.ParseDASHManifest(mpd.body)
			if err != nil {
				t.Fatalf("%v:\n%s", err, mpd.body)
			}
			if lang := e.captions(id, "")[0].Language; len(m.Sets) != 3 || m.Sets[2].ContentType != "text" || m.Sets[2].Lang != lang {
				t.Fatalf("DASH manifest sets %+v, want video, audio and the %s captions", m.Sets, lang)
			}
		})
	}
}
