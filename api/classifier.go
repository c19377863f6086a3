package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
)

// The optional classifier webhook: an external service (in production, a thin wrapper around
// AWS Rekognition or a self-hosted model) that looks at a video's frames before it is
// published. It receives
//
//	POST {ClassifierURL}
//	{"videoId": "…", "images": [{"name": "poster.jpg", "contentType": "image/jpeg", "bytes": "<base64>"}, …]}
//
// and answers in the shape of Rekognition's DetectModerationLabels:
//
//	{"ModerationLabels": [{"Name": "Violence", "ParentName": "", "Confidence": 97.5}, …]}
//
// The frames are the poster and the storyboard sprite the pipeline already made: one request
// covers a frame of every part of the video without decoding anything here.

// classifierImages are the files of a video's output sent to the classifier.
var classifierImages = []string{"poster.jpg", "storyboard.jpg"}

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

// errNoFrames means the video has neither poster nor storyboard to classify.
var errNoFrames = errors.New("no frames to classify")

// classify asks the classifier about a video and applies its labels to p: those at or above
// ClassifierWarnAt become content warnings, those at or above ClassifierHoldAt hold the video.
// When the classifier fails, the video is held only if ClassifierFailClosed says so; either
// way it is not lost, and the error is logged.
func (s *Server) classify(ctx context.Context, videoID string, p *store.Published) {
	if s.cfg.ClassifierURL == "" {
		return
	}
	labels, err := s.callClassifier(ctx, videoID)
	if errors.Is(err, errNoFrames) {
		s.log.Debug("no frames for the classifier", "video_id", videoID)
		return
	}
	if err != nil {
		if s.cfg.ClassifierFailClosed {
			s.log.Warn("classifier failed; video held", "video_id", videoID, "error", err)
			p.HeldReason = joinReasons(p.HeldReason, "automated check unavailable")
		} else {
			s.log.Warn("classifier failed; video published unchecked", "video_id", videoID, "error", err)
		}
		return
	}
	warnings, hold := s.judgeLabels(labels)
	for _, w := range warnings {
		if !slices.Contains(p.ContentWarnings, w) {
			p.ContentWarnings = append(p.ContentWarnings, w)
		}
	}
	if hold != "" {
		s.log.Info("classifier held a video", "video_id", videoID, "reason", hold)
		p.HeldReason = joinReasons(p.HeldReason, hold)
	}
}

// judgeLabels turns a classifier's labels into content warnings (label names, at most 10 of
// at most 40 characters, like a moderator's) and a hold reason ("" for none).
func (s *Server) judgeLabels(labels []moderationLabel) (warnings []string, hold string) {
	var held []string
	for _, l := range labels {
		name := strings.TrimSpace(l.Name)
		if name == "" {
			continue
		}
		if rs := []rune(name); len(rs) > maxLabel {
			name = string(rs[:maxLabel])
		}
		if l.Confidence >= s.cfg.ClassifierWarnAt && len(warnings) < maxLabels && !slices.Contains(warnings, name) {
			warnings = append(warnings, name)
		}
		if l.Confidence >= s.cfg.ClassifierHoldAt {
			held = append(held, fmt.Sprintf("%s (%.0f%%)", name, l.Confidence))
		}
	}
	if len(held) > 0 {
		hold = "automated check: " + strings.Join(held, ", ")
	}
	return warnings, hold
}

// callClassifier sends the video's frames and returns the labels, within ClassifierTimeout.
func (s *Server) callClassifier(ctx context.Context, videoID string) ([]moderationLabel, error) {
	req := classifierRequest{VideoID: videoID}
	for _, name := range classifierImages {
		data, err := s.readImage(ctx, videoKey(videoID, "hls/"+name))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if data == nil {
			s.log.Warn("image too large for the classifier; skipped", "video_id", videoID, "file", name)
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
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ClassifierTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.ClassifierURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
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
func (s *Server) readImage(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.blobs.Get(ctx, key)
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
