package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/storage/layout"
)

// Job submission goes through an outbox. Completing an upload queues the video and records,
// in the same UPDATE, that its job is due (store.MarkUploaded); only then is the farm called.
// What that call cannot do (the farm is down, the API dies) the reconciliation loop does: it
// submits every due video again, with backoff, until the farm has the job. Every try sends
// the video id as the idempotency key, so however many tries, replicas and coordinators take
// part, the farm makes one job per video, and a video is never left without one.

// Completing an upload waits up to submitInlineTimeout for the farm; reconciliation takes over
// from then on, and tries each due video after submitRetryMin, then after twice as long each
// time, up to submitRetryMax. A farm that comes back gets every due video within
// submitRetryMax plus one reconciliation interval.
const (
	submitInlineTimeout = 5 * time.Second
	submitRetryMin      = time.Second
	submitRetryMax      = 10 * time.Second
)

// submitDue submits the job of every video whose submission is due. It stops at the first
// try the farm does not answer: the others wait for the next pass rather than each waiting
// out the same outage.
func (s *Server) submitDue(ctx context.Context) error {
	for {
		id, ok, err := s.db.ClaimSubmission(ctx, submitRetryMin, submitRetryMax)
		if err != nil || !ok {
			return err
		}
		if err := s.submitJob(ctx, id); err != nil {
			return err
		}
	}
}

// submitJob asks the farm for the job of a video whose submission is due, under the video id
// as idempotency key, and records the job. A refusal fails the video with the farm's reason;
// any other error leaves the submission due and is returned.
func (s *Server) submitJob(ctx context.Context, videoID string) error {
	opts, spec := s.jobOptions()
	job, err := s.farm.SubmitJob(ctx, videoID, wire.SubmitJob{Source: layout.Source(videoID), Output: layout.HLS(videoID),
		Options: opts})
	if reason, refused := refusal(err); refused {
		s.log.Warn("the farm refused a job", "video_id", videoID, "error", err)
		_, err := s.db.MarkFailed(ctx, videoID, reason)
		return err
	}
	if err != nil {
		return fmt.Errorf("submit the job of video %s: %w", videoID, err)
	}
	recorded, err := s.db.RecordJob(ctx, videoID, job.ID, spec)
	if err != nil || recorded {
		return err
	}
	// The video was deleted, removed or failed while the farm made its job, or holds another
	// job (a farm that ignores idempotency keys): this one would only spend the farm. Unless
	// the video holds this very job, recorded by another try and finished since: canceling
	// that would undo its work.
	v, err := s.db.Video(ctx, videoID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case v.JobID == job.ID:
		return nil
	}
	if err := s.farm.CancelJob(ctx, job.ID); err != nil && !isJobGone(err) {
		s.log.Warn("cancel a job its video no longer wants", "video_id", videoID, "job_id", job.ID, "error", err)
	}
	return nil
}

// refusal reports whether err is the farm refusing the job for good, and the reason the
// owner reads then. Conflicts and rate limits pass; so do refused credentials, a mistake of
// the API's configuration that must not fail every upload while an operator fixes it.
func refusal(err error) (reason string, refused bool) {
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status < 400 || apiErr.Status >= 500 {
		return "", false
	}
	switch apiErr.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return "", false
	}
	return "the transcoding farm refused this video: " + withoutQueries(apiErr.Message), true
}

// urlQuery matches the query string of a URL, which may carry a signature or a token.
var urlQuery = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#"'<>]*)\?[^\s#"'<>]*`)

// withoutQueries drops the query strings of the URLs in a message a user will read.
func withoutQueries(msg string) string { return urlQuery.ReplaceAllString(msg, "$1") }
