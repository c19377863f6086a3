package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// The API learns how jobs end in two ways: the WebSocket relay sees the farm's events as they
// happen, and this loop asks the farm about every video still queued or processing, at
// start-up and then every SyncInterval. The loop alone guarantees that no video stays in
// flight forever (the API may have been down when its job ended); the relay makes it fast.
// Every replica runs both; the status updates are conditional, so applying one twice is harmless.

func (s *Server) syncLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.reconcile(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reconcile with the farm", "error", err)
			}
		}
	}
}

// reconcile brings every video in flight up to date with its job.
func (s *Server) reconcile(ctx context.Context) error {
	videos, err := s.db.InFlight(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range videos {
		job, err := s.farm.Job(ctx, v.JobID)
		if isJobGone(err) {
			// The farm forgot the job (its state was wiped): the video can never finish.
			err = s.jobEnded(ctx, v.ID, wire.Job{ID: v.JobID, State: scheduler.JobFailed,
				Error: "the transcoding farm lost this job; please upload the video again"})
		} else if err == nil {
			err = s.jobChanged(ctx, v.ID, job)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("video %s: %w", v.ID, err))
		}
	}
	return errors.Join(errs...)
}

// isJobGone reports whether the farm answered that the job does not exist.
func isJobGone(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}

// jobChanged applies a job's state to its video.
func (s *Server) jobChanged(ctx context.Context, videoID string, job wire.Job) error {
	switch job.State {
	case scheduler.JobSplitting, scheduler.JobEncoding, scheduler.JobStitching:
		return s.db.MarkProcessing(ctx, videoID)
	case scheduler.JobDone, scheduler.JobFailed, scheduler.JobCanceled:
		return s.jobEnded(ctx, videoID, job)
	}
	return nil
}

// jobEnded publishes a video whose job is done, or records why it failed.
func (s *Server) jobEnded(ctx context.Context, videoID string, job wire.Job) error {
	var changed bool
	var err error
	switch job.State {
	case scheduler.JobDone:
		var p store.Published
		if p, err = s.published(ctx, videoID); err != nil {
			return fmt.Errorf("read the published ladder: %w", err)
		}
		// The automated checks run before the video becomes visible, so a video they hold is
		// never public, not even for a moment.
		if err := s.screen(ctx, videoID, &p); err != nil {
			return fmt.Errorf("screen the published video: %w", err)
		}
		changed, err = s.db.MarkReady(ctx, videoID, p)
	default:
		changed, err = s.db.MarkFailed(ctx, videoID, failureReason(job))
	}
	if err == nil && changed {
		s.log.Info("video transcoded", "video_id", videoID, "job_id", job.ID, "state", job.State)
		if job.State == scheduler.JobDone {
			s.afterPublish(videoID)
		}
	}
	return err
}

// published reads what the farm wrote: the renditions from the master playlist, the duration
// from the first rendition's playlist, and whether there is a poster and a storyboard.
func (s *Server) published(ctx context.Context, videoID string) (store.Published, error) {
	var p store.Published
	masterKey := videoKey(videoID, "hls/master.m3u8")
	body, err := s.readSmall(ctx, masterKey)
	if err != nil {
		return p, err
	}
	master, err := hls.ParseMasterPlaylist(body)
	if err != nil {
		return p, fmt.Errorf("%s: %w", masterKey, err)
	}
	p.Rungs = []string{}
	for _, v := range master.Variants {
		p.Rungs = append(p.Rungs, path.Dir(v.URI))
	}
	if len(master.Variants) > 0 {
		mediaKey := videoKey(videoID, "hls/"+master.Variants[0].URI)
		body, err := s.readSmall(ctx, mediaKey)
		if err != nil {
			return p, err
		}
		media, err := hls.ParseMediaPlaylist(body)
		if err != nil {
			return p, fmt.Errorf("%s: %w", mediaKey, err)
		}
		for _, seg := range media.Segments {
			p.DurationSeconds += seg.Duration
		}
	}
	if _, err := s.blobs.Stat(ctx, videoKey(videoID, "hls/poster.jpg")); err == nil {
		p.PosterKey = "hls/poster.jpg"
	}
	if _, err := s.blobs.Stat(ctx, videoKey(videoID, "hls/storyboard.vtt")); err == nil {
		p.StoryboardKey = "hls/storyboard.vtt"
	}
	return p, nil
}

func (s *Server) readSmall(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.blobs.Get(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%s is missing: %w", key, err)
		}
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}

// failureReason is what users read, on the video and on its events socket, about a job that
// ended without publishing.
func failureReason(job wire.Job) string {
	switch {
	case job.State == scheduler.JobCanceled:
		return "the transcoding job was canceled"
	case job.Error != "":
		return job.Error
	default:
		return "transcoding failed"
	}
}
