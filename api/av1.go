package api

// AV1 rungs beside H.264 (issue #15). Which videos get them is the operator's policy: "all"
// asks for them in every new video's job; "popular" spends the expensive encodes where the
// viewers are: a video's job is submitted without AV1, and once the video passes MinViews
// views the API records, exactly once across replicas and restarts, that it wants AV1 rungs,
// then asks the farm to add them to the finished ladder. AV1 rungs are fMP4 (CMAF) only: a
// video transcoded to MPEG-TS never gets them.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
)

// AV1Popular is the API's policy beyond the farm's off and all: AV1 rungs once a video is
// popular. The farm only ever sees "all", for the jobs the API decides get them.
const AV1Popular media.AV1Policy = "popular"

// DefaultAV1MinViews is the views after which a video gets AV1 rungs under AV1Popular.
const DefaultAV1MinViews = 1000

// av1Batch is how many videos one pass of the popular sweep requests or sends; a request
// whose sending failed is tried again av1SendLease later.
const (
	av1Batch     = 100
	av1SendLease = time.Minute
)

// AV1Config says which videos get AV1 rungs.
type AV1Config struct {
	// Policy is media.AV1Off ("" too), media.AV1All or AV1Popular.
	Policy media.AV1Policy
	// MinViews is the views after which a video gets AV1 rungs under AV1Popular (default
	// DefaultAV1MinViews).
	MinViews int64
}

func (c *AV1Config) defaults() error {
	var err error
	if c.Policy, err = ParseAV1Policy(string(c.Policy)); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	setDefault(&c.MinViews, DefaultAV1MinViews)
	if c.MinViews < 0 {
		return errors.New("api: the AV1 minimum views must not be negative")
	}
	return nil
}

// ParseAV1Policy checks an AV1 policy named by an operator ("" is off): the farm's, or
// AV1Popular.
func ParseAV1Policy(s string) (media.AV1Policy, error) {
	if p := media.AV1Policy(s); p == AV1Popular {
		return p, nil
	}
	p, err := media.ParseAV1Policy(s)
	if err != nil {
		return "", fmt.Errorf("unknown AV1 policy %q (choose %s, %s or %s)", s, media.AV1Off, media.AV1All, AV1Popular)
	}
	return p, nil
}

// jobOptions are the options of a new video's job, and what the video records of them. The
// job carries AV1 under the policy "all" when its segments are fMP4.
func (s *Server) jobOptions() (wire.JobOptions, store.JobSpec) {
	opts := wire.JobOptions{Segments: string(s.cfg.Segments)}
	// "" is the farm's default; Config.Segments was checked by whoever set it.
	segments, _ := media.ParseSegmentFormat(string(s.cfg.Segments))
	spec := store.JobSpec{Segments: string(segments)}
	if s.cfg.AV1.Policy == media.AV1All && segments == media.SegmentsFMP4 {
		opts.AV1, spec.AV1 = string(media.AV1All), true
	}
	return opts, spec
}

// av1Loop tells the operator what the AV1 policy does with this configuration, and under
// "popular" keeps requesting the AV1 rungs of the videos that pass the minimum views.
func (s *Server) av1Loop(ctx context.Context) {
	policy := s.cfg.AV1.Policy
	if policy == media.AV1Off {
		return
	}
	if segments, _ := media.ParseSegmentFormat(string(s.cfg.Segments)); segments != media.SegmentsFMP4 {
		s.log.Warn("AV1 rungs need fMP4 segments: new videos are transcoded to MPEG-TS and get H.264 only",
			"av1", policy, "segments", segments)
	}
	if policy != AV1Popular {
		return
	}
	s.every(ctx, s.cfg.SyncInterval, "request the AV1 rungs of popular videos", s.requestPopularAV1)
}

// requestPopularAV1 records the AV1 request of every ready fMP4 video that passed the minimum
// views, then sends the recorded requests the farm has not answered yet, each claimed by one
// replica. A request is recorded before it is sent, so one the farm could not take (down) is
// sent on a later pass.
func (s *Server) requestPopularAV1(ctx context.Context) error {
	for {
		due, err := s.db.RequestPopularAV1(ctx, s.cfg.AV1.MinViews, av1Batch)
		if err != nil {
			return err
		}
		for _, r := range due {
			s.log.Info("video passed the AV1 view threshold: AV1 rungs requested", "video_id", r.VideoID, "job_id", r.JobID)
		}
		if len(due) < av1Batch {
			break
		}
	}
	claimed, err := s.db.ClaimAV1Sends(ctx, av1SendLease, av1Batch)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range claimed {
		if err := s.sendAV1Request(ctx, r.JobID); err != nil {
			errs = append(errs, fmt.Errorf("request the AV1 rungs of video %s: %w", r.VideoID, err))
			continue
		}
		if err := s.db.MarkAV1Sent(ctx, r.VideoID); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	return errors.Join(errs...)
}

// sendAV1Request asks the farm to add AV1 rungs to a finished job. A refusal answers the
// request for good: the job has its AV1 job already (an earlier try whose answer was lost),
// or the farm cannot add one (it forgot the job after its retention, or the job is not
// fMP4), which asking again would not change; it is logged. Other errors leave the request
// to a later pass.
func (s *Server) sendAV1Request(ctx context.Context, jobID string) error {
	_, err := s.farm.AddAV1(ctx, jobID)
	reason, refused := refusal(err)
	if !refused {
		return err
	}
	if job, err := s.farm.Job(ctx, jobID); err == nil && job.AV1Job != "" {
		return nil
	}
	s.log.Warn("the farm refused to add AV1 rungs", "job_id", jobID, "reason", reason)
	return nil
}

// cancelAV1Job cancels the AV1 job of a published video whose AV1 rungs the farm is still
// encoding: that job goes on after the video's own job ended, so for a video deleted or
// removed meanwhile it would spend the farm on rungs nobody can watch, until its writes under
// the deleted prefix fail it. (A video in flight needs none of this: canceling its job cancels
// its AV1 job.)
func (s *Server) cancelAV1Job(ctx context.Context, v store.Video) error {
	if v.JobID == "" || v.InFlight() {
		return nil
	}
	sent, err := s.db.AV1Sent(ctx, v.ID)
	if err != nil || !sent {
		return err
	}
	job, err := s.farm.Job(ctx, v.JobID)
	if isJobGone(err) {
		return nil // compacted after its retention: its AV1 job ended long before
	}
	if err != nil || job.AV1Job == "" {
		return err
	}
	av1, err := s.farm.Job(ctx, job.AV1Job)
	if isJobGone(err) || err == nil && av1.State.Finished() {
		return nil
	}
	if err == nil {
		err = s.farm.CancelJob(ctx, job.AV1Job)
	}
	if err != nil && !isJobGone(err) {
		return fmt.Errorf("cancel the AV1 job %s of video %s: %w", job.AV1Job, v.ID, err)
	}
	return nil
}
