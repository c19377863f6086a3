package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// The optional classifier webhook: an external service (in production, a thin wrapper around
// AWS Rekognition or a self-hosted model) that looks at a video's frames before it is
// published. It receives
//
//	POST {Config.Classifier.URL}
//	{"videoId": "…", "images": [{"name": "poster.jpg", "contentType": "image/jpeg", "bytes": "<base64>"}, …]}
//
// and answers in the shape of Rekognition's DetectModerationLabels:
//
//	{"ModerationLabels": [{"Name": "Violence", "ParentName": "", "Confidence": 97.5}, …]}
//
// The frames are images the pipeline already made, so nothing is decoded here: while the video
// transcodes, the thumbnails of each chunk as it is screened (a few per request); when its job
// ends, the poster and the storyboard sprite, one request covering a frame of every part of
// the video.

// publishedImages are the files of a finished video's output sent to the classifier.
var publishedImages = []string{layout.PosterFile, layout.StoryboardImage}

// maxClassifierImage skips larger images: Rekognition takes at most 5 MB of image bytes.
const maxClassifierImage = 5 << 20

type classifierImage struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Bytes       []byte `json:"bytes"` // encoding/json writes base64
}

type classifierRequest struct {
	VideoID string            `json:"videoId"`
	Images  []classifierImage `json:"images"`
}

type moderationLabel struct {
	Name       string  `json:"Name"`
	ParentName string  `json:"ParentName"`
	Confidence float64 `json:"Confidence"`
}

type classifierResponse struct {
	ModerationLabels []moderationLabel `json:"ModerationLabels"`
}

// classifier screens a video's frames with the webhook before the video is published.
type classifier struct {
	cfg    ClassifierConfig
	blobs  storage.Store // where the frames are
	client *http.Client
	log    *slog.Logger
}

// newClassifier returns nil when no classifier is configured.
func newClassifier(cfg ClassifierConfig, blobs storage.Store, log *slog.Logger) *classifier {
	if cfg.URL == "" {
		return nil
	}
	return &classifier{cfg: cfg, blobs: blobs, client: &http.Client{}, log: log}
}

// Close releases the connections kept to the webhook; a nil classifier (none configured)
// has none.
func (c *classifier) Close(context.Context) error {
	if c == nil {
		return nil
	}
	c.client.CloseIdleConnections()
	return nil
}

// errNoFrames means the video has neither poster nor storyboard to classify.
var errNoFrames = errors.New("no frames to classify")

// classify asks the classifier about images of a video's output (relative to its HLS prefix)
// and applies its labels to p: those at or above WarnAt become content warnings, those at or
// above HoldAt hold the video. When the classifier fails, the video is held only if
// FailClosed says so; either way it is not lost, the error is logged and returned (a video
// in flight waits for a classifier that answers). A nil classifier (none configured) changes
// nothing.
func (c *classifier) classify(ctx context.Context, videoID string, images []string, p *store.Published) error {
	if c == nil {
		return nil
	}
	labels, err := c.call(ctx, videoID, images)
	if errors.Is(err, errNoFrames) {
		c.log.Debug("no frames for the classifier", "video_id", videoID)
		return nil
	}
	if err != nil {
		if c.cfg.FailClosed {
			c.log.Warn("classifier failed; video held", "video_id", videoID, "error", err)
			p.HeldReason = joinReasons(p.HeldReason, "automated check unavailable")
		} else {
			c.log.Warn("classifier failed; video published unchecked", "video_id", videoID, "error", err)
		}
		return err
	}
	warnings, hold := c.judgeLabels(labels)
	for _, w := range warnings {
		if !slices.Contains(p.ContentWarnings, w) {
			p.ContentWarnings = append(p.ContentWarnings, w)
		}
	}
	if hold != "" {
		c.log.Info("classifier held a video", "video_id", videoID, "reason", hold)
		p.HeldReason = joinReasons(p.HeldReason, hold)
	}
	return nil
}

// judgeLabels turns a classifier's labels into content warnings (label names, at most 10 of
// at most 40 characters, like a moderator's) and a hold reason ("" for none).
func (c *classifier) judgeLabels(labels []moderationLabel) (warnings []string, hold string) {
	var held []string
	for _, l := range labels {
		name := strings.TrimSpace(l.Name)
		if name == "" {
			continue
		}
		if rs := []rune(name); len(rs) > maxLabel {
			name = string(rs[:maxLabel])
		}
		if l.Confidence >= c.cfg.WarnAt && len(warnings) < maxLabels && !slices.Contains(warnings, name) {
			warnings = append(warnings, name)
		}
		if l.Confidence >= c.cfg.HoldAt {
			held = append(held, fmt.Sprintf("%s (%.0f%%)", name, l.Confidence))
		}
	}
	if len(held) > 0 {
		hold = "automated check: " + strings.Join(held, ", ")
	}
	return warnings, hold
}

// call sends images of the video's output and returns the labels, within Timeout.
func (c *classifier) call(ctx context.Context, videoID string, images []string) ([]moderationLabel, error) {
	req := classifierRequest{VideoID: videoID}
	for _, name := range images {
		data, err := c.readImage(ctx, layout.Ladder(videoID, name))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if data == nil {
			c.log.Warn("image too large for the classifier; skipped", "video_id", videoID, "file", name)
			continue
		}
		req.Images = append(req.Images, classifierImage{Name: name, ContentType: "image/jpeg", Bytes: data})
	}
	if len(req.Images) == 0 {
		return nil, errNoFrames
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("call the classifier: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("the classifier answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var out classifierResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("the classifier's answer is not valid JSON: %w", err)
	}
	return out.ModerationLabels, nil
}

// readImage reads one image of the output: nil data when it is over maxClassifierImage.
func (c *classifier) readImage(ctx context.Context, key string) ([]byte, error) {
	rc, err := c.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxClassifierImage+1))
	if err != nil || len(data) > maxClassifierImage {
		return nil, err
	}
	return data, nil
}

// joinReasons adds a hold reason to those already found.
func joinReasons(have, more string) string {
	if have == "" {
		return more
	}
	return have + "; " + more
}
