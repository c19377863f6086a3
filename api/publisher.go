package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// The publisher applies a job's state to its video: progress (and the moment it became
// playable) while the job runs, screening each chunk as the farm finishes it (screenPrefix),
// and its outcome when it ends. Every replica learns of a job's progress and end in two ways
// (the relay of a followed job's events, and the reconciliation loop), so several callers may
// hand it the same job at once. Screening and publishing are the expensive parts — read the
// ladder, compare the frame hashes with every removed video's, call the classifier — so a
// caller first claims the video in PostgreSQL: only the claimant screens or publishes, the
// others learn the video is being published (errPublishing) or already is. A claim expires,
// so that a replica that died while publishing leaves the video to another.

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
	classify func(ctx context.Context, videoID string, images []string, p *store.Published) error
	// published starts what a newly published video gets (automatic captions); it must not
	// block.
	published func(videoID string)
	// screened learns each published video as its verdict left it (the metrics); it must not
	// block.
	screened func(store.Video)
	// publicPlayable learns, once per video, how long after its job's submission others than
	// its owner could first watch it (the metrics); it must not block.
	publicPlayable func(time.Duration)
	// claimTTL bounds one publication; past it, another caller may take the video over.
	claimTTL time.Duration
	log      *slog.Logger
}

func newPublisher(db *store.Store, blobs storage.Store, reuploads *reuploads,
	classify func(context.Context, string, []string, *store.Published) error, published func(string),
	claimTTL time.Duration, log *slog.Logger) *publisher {
	return &publisher{db: db, blobs: blobs, reuploads: reuploads, classify: classify,
		published: published, screened: func(store.Video) {}, publicPlayable: func(time.Duration) {}, claimTTL: claimTTL,
		log: log.With("component", "publisher")}
}

// jobChanged applies a job's state to its video. For a finished job it returns errPublishing
// when another caller is publishing the video right now.
func (p *publisher) jobChanged(ctx context.Context, videoID string, job wire.Job) error {
	switch job.State {
	case scheduler.JobSplitting, scheduler.JobEncoding, scheduler.JobStitching:
		playable, err := p.db.MarkProcessing(ctx, videoID, job.PlayableAt)
		if err != nil {
			return err
		}
		if playable {
			p.observePublic(ctx, videoID, job.Created) // public now if its start was screened already
		}
		return p.screenPrefix(ctx, videoID, job)
	case scheduler.JobDone:
		// What the job found wrong in the source reaches the owner with the video.
		if err := p.db.RecordTranscodeWarnings(ctx, videoID, job.Warnings); err != nil {
			return err
		}
		return p.publish(ctx, videoID, job)
	case scheduler.JobFailed, scheduler.JobCanceled:
		changed, err := p.db.MarkFailed(ctx, videoID, failureReason(job))
		if err == nil && changed {
			p.log.Info("video transcoding failed", "video_id", videoID, "job_id", job.ID, "state", job.State)
		}
		return err
	}
	return nil
}

// claimed runs fn while holding the video's publish claim, so that one caller alone screens or
// publishes a video at a time, whatever the number of replicas. It returns errPublishing when
// another caller holds the claim, and nil without running fn for a video no longer in flight
// (published, failed or deleted meanwhile).
func (p *publisher) claimed(ctx context.Context, videoID string, fn func() error) error {
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
	return fn()
}

// publish claims the video, reads its ladder, screens it and marks it ready.
func (p *publisher) publish(ctx context.Context, videoID string, job wire.Job) error {
	return p.claimed(ctx, videoID, func() error { return p.publishClaimed(ctx, videoID, job) })
}

func (p *publisher) publishClaimed(ctx context.Context, videoID string, job wire.Job) error {
	jobID := job.ID
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
		if v, err := p.db.Video(ctx, videoID); err == nil {
			p.screened(v)
			// Public from publication on, unless it already was (observed then).
			if at := v.PublicPlayableAt(); at != nil && v.PublishedAt != nil && !at.Before(*v.PublishedAt) {
				p.publicPlayable(at.Sub(job.Created))
			}
		}
		p.published(videoID)
	}
	return nil
}

// maxFramesPerCheck bounds the thumbnails of newly finished chunks sent to the classifier in
// one request: enough for a few minutes of video at the storyboard's interval, well under
// the 5 MB a Rekognition-style service takes.
const maxFramesPerCheck = 16

// screenPrefix screens the chunks of a video in flight that the farm finished since the last
// look, from the leader's screening prefix: their frame hashes against removed videos', their
// thumbnails with the classifier. A clean prefix lets others watch the video up to its end
// (the first one passes its screening); a match or a label over the hold threshold holds it
// before anyone else has seen a frame. While the job's count of finished chunks has not
// grown past what was screened, nothing is read.
func (p *publisher) screenPrefix(ctx context.Context, videoID string, job wire.Job) error {
	v, err := p.db.Video(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || !v.InFlight() || v.Screening == store.ScreeningHeld || job.ChunksDone <= v.ScreenedChunks {
		return err
	}
	err = p.claimed(ctx, videoID, func() error { return p.screenPrefixClaimed(ctx, v, job.Created) })
	if errors.Is(err, errPublishing) {
		return nil // another replica is screening or publishing it right now
	}
	return err
}

func (p *publisher) screenPrefixClaimed(ctx context.Context, v store.Video, submitted time.Time) error {
	data, err := readSmall(ctx, p.blobs, layout.Ladder(v.ID, layout.ScreeningFile))
	if errors.Is(err, storage.ErrNotFound) {
		return nil // the leader has not published a prefix yet, or the job just ended
	}
	if err != nil {
		return err
	}
	var prefix media.ScreeningPrefix
	if err := json.Unmarshal(data, &prefix); err != nil {
		p.log.Error("unreadable screening prefix; the video waits for its job's end", "video_id", v.ID, "error", err)
		return nil
	}
	if prefix.Chunks <= v.ScreenedChunks {
		return nil
	}
	var pub store.Published
	if prefix.PHash != nil {
		hashes, err := trackHashes(*prefix.PHash)
		if err != nil {
			p.log.Error("unreadable screening prefix; the video waits for its job's end", "video_id", v.ID, "error", err)
			return nil
		}
		partial, err := p.reuploads.holdIfRemoved(ctx, v.ID, hashes, &pub)
		if err != nil {
			return err
		}
		if partial {
			// Frames shared with a removed video, not yet enough to hold it: nothing more is
			// shown to others until later chunks settle it, or the job's end does.
			p.log.Info("screened chunks partly match a removed video; waiting for more", "video_id", v.ID, "chunks", prefix.Chunks)
			return nil
		}
	}
	if pub.HeldReason == "" {
		if err := p.classify(ctx, v.ID, newFrames(prefix.Frames, v.ScreenedSeconds), &pub); err != nil {
			return nil // the next look asks again; the job's end applies FailClosed
		}
	}
	changed, err := p.db.RecordScreenedPrefix(ctx, v.ID, store.ScreenedPrefix{Chunks: prefix.Chunks,
		Seconds: prefix.Seconds, HeldReason: pub.HeldReason, ContentWarnings: pub.ContentWarnings})
	if changed {
		p.log.Info("video screened while transcoding", "video_id", v.ID, "chunks", prefix.Chunks,
			"seconds", prefix.Seconds, "held", pub.HeldReason != "")
		if v.ScreenedAt == nil {
			p.observePublic(ctx, v.ID, submitted) // public now if the farm made it playable already
		}
	}
	return err
}

// observePublic reports a video's public clock (time from its job's submission, to when others
// could first watch it) when it has one; its callers have just made the last of the two
// conditions true (playable, first chunk screened), so each video is observed once.
func (p *publisher) observePublic(ctx context.Context, videoID string, submitted time.Time) {
	v, err := p.db.Video(ctx, videoID)
	if err != nil {
		p.log.Warn("read the video for its public clock", "video_id", videoID, "error", err)
		return
	}
	if at := v.PublicPlayableAt(); at != nil {
		p.publicPlayable(at.Sub(submitted))
	}
}

// newFrames picks the thumbnails from screenedSeconds on (those of the chunks not screened
// yet), at most maxFramesPerCheck spread evenly over them.
func newFrames(frames []media.ImageFile, screenedSeconds float64) []string {
	var fresh []string
	for _, f := range frames {
		if f.Time >= screenedSeconds && !strings.Contains(f.File, "..") {
			fresh = append(fresh, f.File)
		}
	}
	if len(fresh) <= maxFramesPerCheck {
		return fresh
	}
	picked := make([]string, maxFramesPerCheck)
	for i := range picked {
		picked[i] = fresh[i*len(fresh)/maxFramesPerCheck]
	}
	return picked
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
	_ = p.classify(ctx, videoID, publishedImages, pub) // a failure is in pub, as FailClosed says
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
