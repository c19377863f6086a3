package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// The publisher applies a job's state to its video: progress (and the moment it became
// playable) while the job runs, and its outcome when it ends. Every replica learns of a job's
// end in two ways (the relay of a followed job's events, and the reconciliation loop), so
// several callers may hand it the same ended job at once. Publishing a finished job is the
// expensive part — read the ladder, compare the frame hashes with every removed video's,
// call the classifier — so a caller first claims the video in PostgreSQL: only the claimant
// publishes, the others learn the video is being published (errPublishing) or already is.
// A claim expires, so that a replica that died while publishing leaves the video to another.

// publishClaimTTL is how long a publisher may take, beyond the classifier's timeout, before
// another may take the video over: reading the ladder and comparing the frame hashes take
// seconds.
const publishClaimTTL = time.Minute

// errPublishing means another caller holds the video's publish claim: the video is being
// published, and the caller learns the outcome by trying again later.
var errPublishing = errors.New("the video is being published by another replica")

// publisher takes videos whose job ended to ready, with their screening passed or held, or to
// failed, once.
type publisher struct {
	db        *store.Store
	blobs     storage.Store
	reuploads *reuploads
	// classify asks the classifier about the video's frames and applies its labels.
	classify func(ctx context.Context, videoID string, p *store.Published)
	// published starts what a newly published video gets (automatic captions); it must not
	// block.
	published func(videoID string)
	// claimTTL bounds one publication; past it, another caller may take the video over.
	claimTTL time.Duration
	log      *slog.Logger
}

func newPublisher(db *store.Store, blobs storage.Store, reuploads *reuploads,
	classify func(context.Context, string, *store.Published), published func(string),
	claimTTL time.Duration, log *slog.Logger) *publisher {
	return &publisher{db: db, blobs: blobs, reuploads: reuploads, classify: classify,
		published: published, claimTTL: claimTTL, log: log.With("component", "publisher")}
}

// jobChanged applies a job's state to its video. For a finished job it returns errPublishing
// when another caller is publishing the video right now.
func (p *publisher) jobChanged(ctx context.Context, videoID string, job wire.Job) error {
	switch job.State {
	case scheduler.JobSplitting, scheduler.JobEncoding, scheduler.JobStitching:
		return p.db.MarkProcessing(ctx, videoID, job.PlayableAt)
	case scheduler.JobDone:
		return p.publish(ctx, videoID, job.ID)
	case scheduler.JobFailed, scheduler.JobCanceled:
		changed, err := p.db.MarkFailed(ctx, videoID, failureReason(job))
		if err == nil && changed {
			p.log.Info("video transcoding failed", "video_id", videoID, "job_id", job.ID, "state", job.State)
		}
		return err
	}
	return nil
}

// publish claims the video, reads its ladder, screens it and marks it ready. A video no
// longer in flight (published, failed or deleted meanwhile) is left as it is.
func (p *publisher) publish(ctx context.Context, videoID, jobID string) error {
	token := rand.Text()
	switch outcome, err := p.db.ClaimPublish(ctx, videoID, token, p.claimTTL); {
	case err != nil:
		return fmt.Errorf("claim the video: %w", err)
	case outcome == store.ClaimHeld:
		return errPublishing
	case outcome == store.NotInFlight:
		return nil
	}
	defer func() {
		// Released whatever happened: once published the claim means nothing, and after a
		// failure the next attempt need not wait for it to expire. The caller's context may
		// have ended, which is one reason to get here.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := p.db.ReleasePublish(rctx, videoID, token); err != nil {
			p.log.Warn("release the publish claim", "video_id", videoID, "error", err)
		}
	}()
	pub, err := p.readLadder(ctx, videoID)
	if err != nil {
		return fmt.Errorf("read the published ladder: %w", err)
	}
	// Until MarkReady records the checks' verdict (the video's screening), its media reach
	// nobody but its owner and moderators, even while it transcodes: a video the checks hold
	// is never served to anyone else, not even for a moment.
	if err := p.screen(ctx, videoID, &pub); err != nil {
		return fmt.Errorf("screen the published video: %w", err)
	}
	changed, err := p.db.MarkReady(ctx, videoID, pub)
	if err != nil {
		return err
	}
	if changed {
		p.log.Info("video transcoded", "video_id", videoID, "job_id", jobID, "held", pub.HeldReason != "")
		p.published(videoID)
	}
	return nil
}

// screen runs the automated checks on a video about to be published: re-upload matching
// against removed videos, then the classifier. What they conclude goes into pub (a hold
// reason, content warnings). An error means the checks could not run (the database or
// storage failed); the video then stays in flight, to be published on the next attempt
// rather than unchecked.
func (p *publisher) screen(ctx context.Context, videoID string, pub *store.Published) error {
	if err := p.reuploads.check(ctx, videoID, pub); err != nil {
		return err
	}
	p.classify(ctx, videoID, pub)
	return nil
}

// readLadder reads what the farm wrote: the renditions from the master playlist, the duration
// from the renditions' playlists, and whether there is a poster and a storyboard.
func (p *publisher) readLadder(ctx context.Context, videoID string) (store.Published, error) {
	var pub store.Published
	ladder, err := hls.ReadLadder(layout.MasterPlaylist, func(uri string) ([]byte, error) {
		return readSmall(ctx, p.blobs, layout.Ladder(videoID, uri))
	})
	if err != nil {
		return pub, err
	}
	pub.Rungs = []string{}
	for _, v := range ladder.Master.Variants {
		pub.Rungs = append(pub.Rungs, path.Dir(v.URI))
	}
	pub.DurationSeconds = ladder.Duration()
	if _, err := p.blobs.Stat(ctx, layout.Ladder(videoID, layout.PosterFile)); err == nil {
		pub.PosterKey = path.Join(layout.HLSDir, layout.PosterFile)
	}
	if _, err := p.blobs.Stat(ctx, layout.Ladder(videoID, layout.StoryboardVTT)); err == nil {
		pub.StoryboardKey = path.Join(layout.HLSDir, layout.StoryboardVTT)
	}
	return pub, nil
}

// failureReason is what users read, on the video and on its events socket, about a job that
// ended without publishing.
func failureReason(job wire.Job) string {
	switch {
	case job.State == scheduler.JobCanceled:
		return "the transcoding job was canceled"
	case job.Error != "":
		return withoutQueries(job.Error)
	default:
		return "transcoding failed"
	}
}
