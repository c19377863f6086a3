package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// The API learns how jobs end in two ways: the WebSocket relay sees the farm's events as they
// happen, and this loop asks the farm about every video still queued or processing, at
// start-up and then every SyncInterval. The loop alone guarantees that no video stays in
// flight forever (the API may have been down when its job ended); the relay makes it fast.
// Every replica runs both, and both hand what they learn to the publisher, whose claim makes
// one of them alone publish a finished video. The same loop first submits the jobs that are
// due (outbox.go), so that a video queued while the farm was down gets its job.

// reconcilePage is how many videos in flight a round reads at once.
const reconcilePage = 100

func (s *Server) syncLoop(ctx context.Context) {
	s.every(ctx, s.cfg.SyncInterval, "reconcile with the farm", s.reconcile)
}

// reconcile submits the jobs that are due, then brings every video in flight up to date with
// its job. A video another caller is publishing is left to it.
func (s *Server) reconcile(ctx context.Context) error {
	var errs []error
	if err := s.submitDue(ctx); err != nil {
		errs = append(errs, err)
	}
	for after := ""; ; {
		// A page at a time: a round that stops early (no coordinator answers) reads one page,
		// not every video in flight.
		videos, err := s.db.InFlight(ctx, after, reconcilePage)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, v := range videos {
			job, err := s.farm.Job(ctx, v.JobID)
			if errors.Is(err, client.ErrNoCoordinator) {
				// No coordinator answers: asking about the other videos would only spend a
				// refused connection (or a timeout) on each, every round, until the farm is back.
				return errors.Join(append(errs, err)...)
			}
			if isJobGone(err) {
				// The farm forgot the job (its state was wiped): the video can never finish.
				job, err = lostJob(v.JobID), nil
			}
			if err == nil {
				err = s.publisher.jobChanged(ctx, v.ID, job)
			}
			if err != nil && !errors.Is(err, errPublishing) {
				errs = append(errs, fmt.Errorf("video %s: %w", v.ID, err))
			}
		}
		if len(videos) < reconcilePage {
			break
		}
		after = videos[len(videos)-1].ID
	}
	return errors.Join(errs...)
}

// lostJob is what a job the farm no longer knows amounts to.
func lostJob(id string) wire.Job {
	return wire.Job{ID: id, State: scheduler.JobFailed, Error: "the transcoding farm lost this job; please upload the video again"}
}

// isJobGone reports whether the farm answered that the job does not exist.
func isJobGone(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}
