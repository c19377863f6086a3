package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// A transcriber turns a video's audio into WebVTT captions through any service that speaks
// OpenAI's speech-to-text protocol (POST /v1/audio/transcriptions, multipart/form-data with the
// audio file and a model name): OpenAI itself, or a self-hosted whisper.cpp, faster-whisper or
// LocalAI server. The input is the 16 kHz mono WAV the pipeline publishes next to the HLS
// output, which is what Whisper models resample everything to anyway.

// maxTranscriptions bounds the transcriptions one API replica runs at once: a transcription
// service is usually one GPU, and a burst of published videos must queue here rather than pile
// onto it.
const maxTranscriptions = 2

// transcriber calls the transcription service with a video's published audio. It lives until
// Close, which ends the transcriptions it runs in the background.
type transcriber struct {
	endpoint string // {base}/v1/audio/transcriptions
	model    string
	key      string
	timeout  time.Duration
	client   *http.Client
	slots    chan struct{}
	blobs    storage.Store

	// life ends at Close; wg counts the background transcriptions. mu orders a transcription
	// starting against Close: none starts once closed is set.
	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// newTranscriber returns nil when no transcription service is configured. It reads the audio
// from blobs.
func newTranscriber(cfg TranscriptionConfig, blobs storage.Store) *transcriber {
	if cfg.URL == "" {
		return nil
	}
	t := &transcriber{
		endpoint: strings.TrimRight(cfg.URL, "/") + "/v1/audio/transcriptions",
		model:    cfg.Model,
		key:      cfg.Key,
		timeout:  cfg.Timeout,
		client:   &http.Client{},
		slots:    make(chan struct{}, maxTranscriptions),
		blobs:    blobs,
	}
	t.life, t.cancel = context.WithCancel(context.Background())
	return t
}

// inBackground runs fn with a context that Close cancels, unless Close has begun already.
func (t *transcriber) inBackground(fn func(ctx context.Context)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.wg.Go(func() { fn(t.life) })
}

// Close cancels the transcriptions running in the background and waits for them until ctx
// ends. A nil transcriber (none configured) has nothing to close.
func (t *transcriber) Close(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	err := waitFor(ctx, &t.wg)
	t.client.CloseIdleConnections()
	return err
}

// transcription is what the service answered.
type transcription struct {
	vtt []byte
	// language is the spoken language when the service said (a Content-Language header);
	// usually "" for WebVTT answers.
	language string
}

// errTranscription is wrapped by every failure of the service: it is down, slow, refused the
// request or answered something that is not WebVTT.
var errTranscription = errors.New("the transcription service failed")

// transcribeVideo sends the video's published WAV and returns the service's WebVTT;
// errNoAudio when the video has none. language, when not "", is the spoken language as an
// ISO 639-1 code.
func (t *transcriber) transcribeVideo(ctx context.Context, videoID, language string) (transcription, error) {
	audio, err := t.blobs.Get(ctx, layout.Ladder(videoID, layout.SpeechFile))
	if errors.Is(err, storage.ErrNotFound) {
		return transcription{}, errNoAudio
	}
	if err != nil {
		return transcription{}, err
	}
	defer audio.Close()
	return t.transcribe(ctx, audio, language)
}

// transcribe sends the WAV read from audio and returns the service's WebVTT. The audio is
// streamed into the request body as it is read, never held in memory: an hour of 16 kHz
// audio is 115 MB.
func (t *transcriber) transcribe(ctx context.Context, audio io.Reader, language string) (transcription, error) {
	select {
	case t.slots <- struct{}{}:
		defer func() { <-t.slots }()
	case <-ctx.Done():
		return transcription{}, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()

	pr, pw := io.Pipe()
	form := multipart.NewWriter(pw)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		pw.CloseWithError(writeTranscriptionForm(form, audio, t.model, language))
	}()
	// The writer must be done with audio before the caller closes it, whatever happened.
	defer func() { pr.Close(); <-wrote }()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, pr)
	if err != nil {
		return transcription{}, fmt.Errorf("%w: %v", errTranscription, err)
	}
	req.Header.Set("Content-Type", form.FormDataContentType())
	req.Header.Set("Accept", "text/vtt, application/json;q=0.5")
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return transcription{}, fmt.Errorf("%w: no answer within %s", errTranscription, t.timeout)
		}
		return transcription{}, fmt.Errorf("%w: %v", errTranscription, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCaptionBytes+1))
	if err != nil {
		return transcription{}, fmt.Errorf("%w: read the answer: %v", errTranscription, err)
	}
	if resp.StatusCode != http.StatusOK {
		return transcription{}, fmt.Errorf("%w: HTTP %d: %s", errTranscription, resp.StatusCode, serviceMessage(body))
	}
	if len(body) > maxCaptionBytes {
		return transcription{}, fmt.Errorf("%w: the captions are over %d KiB", errTranscription, maxCaptionBytes>>10)
	}
	out := transcription{vtt: body, language: strings.TrimSpace(strings.Split(resp.Header.Get("Content-Language"), ",")[0])}
	// Some compatible servers wrap every answer in JSON, as OpenAI does for the json formats.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		var wrapped struct {
			Text     string `json:"text"`
			Language string `json:"language"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return transcription{}, fmt.Errorf("%w: the JSON answer does not decode: %v", errTranscription, err)
		}
		out.vtt = []byte(wrapped.Text)
		if wrapped.Language != "" {
			out.language = wrapped.Language
		}
	}
	return out, nil
}

func writeTranscriptionForm(form *multipart.Writer, audio io.Reader, model, language string) error {
	// The small fields come first, so a server reading the form as a stream knows what to do
	// with the file before it arrives.
	fields := [][2]string{{"model", model}, {"response_format", "vtt"}}
	if language != "" {
		fields = append(fields, [2]string{"language", language})
	}
	for _, f := range fields {
		if err := form.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="audio.wav"`)
	h.Set("Content-Type", "audio/wav")
	part, err := form.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, audio); err != nil {
		return fmt.Errorf("read the audio: %w", err)
	}
	return form.Close()
}

// serviceMessage is the gist of an error answer, for the log: OpenAI's {"error":{"message"}}
// or the start of the body.
func serviceMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
