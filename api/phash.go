package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/phash"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// Re-upload matching. The pipeline writes phash.json next to a video's HLS output (a
// phash.Track): the 64-bit DCT perceptual hash of one frame every intervalSeconds. Re-encoding, rescaling, a new
// bitrate or light colour changes move a frame's hash by a few bits; unrelated frames differ
// in about half of them. Every published video's hashes are stored; a moderator's removal
// copies them into the reference set (removed_frame_hashes), and each new video is compared
// with every removed one before it is published: a match holds it for review.

// maxFrameHashes bounds what one video stores: 36 hours at a frame every 2 s.
const maxFrameHashes = 1 << 16

// parsePHashes reads phash.json, a phash.Track.
func parsePHashes(data []byte) ([]uint64, error) {
	var track phash.Track
	if err := json.Unmarshal(data, &track); err != nil {
		return nil, fmt.Errorf("phash.json is not a track of frame hashes: %w", err)
	}
	return trackHashes(track)
}

// trackHashes returns a track's hashes, refusing more than a video may have.
func trackHashes(track phash.Track) ([]uint64, error) {
	if len(track.Hashes) > maxFrameHashes {
		return nil, fmt.Errorf("%d frame hashes, more than the %d a video may have", len(track.Hashes), maxFrameHashes)
	}
	out := make([]uint64, len(track.Hashes))
	for i, h := range track.Hashes {
		out[i] = uint64(h)
	}
	return out, nil
}

// hashMatcher decides whether two videos share content from their frame hashes.
//
// The defaults (HashMaxDistance 10, HashMinFrames 3, HashMinFraction 0.3) are chosen so:
//   - distance ≤ 10 of 64 bits: re-encoding at another resolution and bitrate typically moves
//     a DCT hash by 0–6 bits, so 10 leaves room for heavier compression and the up-to-1-s
//     shift of the sampling grid a trimmed upload causes. Unrelated frames differ by 32 ± 4
//     bits; for two random hashes P(distance ≤ 10) ≈ 1e-8 — small, yet thousands of removed
//     videos × hundreds of frames make a few chance pairs likely, hence the next two rules;
//   - at least 3 frames: 6 s of shared footage at the pipeline's 2 s interval, so a single
//     coincident frame (a logo, a title card) never holds a video;
//   - covering 30% of the shorter video: a trimmed re-upload keeps most of its frames
//     matching, an excerpt inside a longer compilation covers much of the removed video, and
//     a pair of long videos sharing a handful of similar frames by chance covers far less.
//     Matches are counted on both sides and the smaller count is used, so a long static shot
//     that matches one frame of the removed video again and again counts once.
//
// Flat frames (black, fades, solid slates) have hashes with almost no bits set (or almost
// all) and would match each other across unrelated videos; they are left out.
type hashMatcher struct {
	maxDistance int
	minFrames   int
	minFraction float64
}

// informativeHash reports whether a frame hash carries enough structure to be compared: a
// median-thresholded DCT hash of a real picture has about half its 63 bits set, a flat one
// none (phash hashes a picture of one colour to 0).
func informativeHash(h uint64) bool {
	n := bits.OnesCount64(h)
	return n >= 8 && n <= 56
}

// match compares the frames of an upload with those of a removed video and returns how many
// frames match (the smaller of the counts on either side) and whether that is a match.
func (m hashMatcher) match(upload, removed []uint64) (int, bool) {
	u, r := informative(upload), informative(removed)
	if len(u) == 0 || len(r) == 0 {
		return 0, false
	}
	hitU, hitR := make([]bool, len(u)), make([]bool, len(r))
	for i, a := range u {
		for j, b := range r {
			if phash.Distance(phash.Hash(a), phash.Hash(b)) <= m.maxDistance {
				hitU[i], hitR[j] = true, true
			}
		}
	}
	n := min(count(hitU), count(hitR))
	need := max(m.minFrames, int(math.Ceil(m.minFraction*float64(min(len(u), len(r))))))
	return n, n >= need
}

func informative(hashes []uint64) []uint64 {
	out := make([]uint64, 0, len(hashes))
	for _, h := range hashes {
		if informativeHash(h) {
			out = append(out, h)
		}
	}
	return out
}

func count(hits []bool) int {
	n := 0
	for _, h := range hits {
		if h {
			n++
		}
	}
	return n
}

// reuploads stores the frame hashes of published videos and matches new ones against those
// of removed videos: the publisher checks every video with it before publishing, and a
// removal makes sure the removed video's hashes are kept as a reference.
type reuploads struct {
	db    *store.Store
	blobs storage.Store
	log   *slog.Logger
	// matcher is nil when matching is turned off; hashes are stored regardless, so that
	// turning it on later covers videos published meanwhile.
	matcher *hashMatcher
}

func newReuploads(db *store.Store, blobs storage.Store, matcher *hashMatcher, log *slog.Logger) *reuploads {
	return &reuploads{db: db, blobs: blobs, matcher: matcher, log: log}
}

// frameHashes reads a video's phash.json: nil without error when the pipeline wrote none
// (an older pipeline, or no video stream).
func (ru *reuploads) frameHashes(ctx context.Context, videoID string) ([]uint64, error) {
	data, err := readSmall(ctx, ru.blobs, layout.Ladder(videoID, layout.PHashFile))
	if errors.Is(err, storage.ErrNotFound) {
		ru.log.Debug("no frame hashes; re-upload matching skipped", "video_id", videoID)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	hashes, err := parsePHashes(data)
	if err != nil {
		// The pipeline wrote something wrong: retrying cannot fix it, and the video must not
		// be stuck for it.
		ru.log.Error("unreadable frame hashes; re-upload matching skipped", "video_id", videoID, "error", err)
		return nil, nil
	}
	return hashes, nil
}

// check stores the video's frame hashes and holds it when they match a removed video's.
func (ru *reuploads) check(ctx context.Context, videoID string, p *store.Published) error {
	hashes, err := ru.frameHashes(ctx, videoID)
	if err != nil || len(hashes) == 0 {
		return err
	}
	if err := ru.db.SaveFrameHashes(ctx, videoID, hashes); err != nil {
		return fmt.Errorf("save frame hashes: %w", err)
	}
	_, err = ru.holdIfRemoved(ctx, videoID, hashes, p)
	return err
}

// holdIfRemoved compares frame hashes of a video (all of it, or the part screened so far)
// with those of every removed video and holds it, in p, on a match. Short of a match, it
// reports whether some of the frames match a removed video's all the same (partial): too few
// to hold the video yet, but a part screened while it transcodes must not be shown to others
// on that evidence — the next chunks may complete the match.
func (ru *reuploads) holdIfRemoved(ctx context.Context, videoID string, hashes []uint64, p *store.Published) (partial bool, err error) {
	if ru.matcher == nil || len(hashes) == 0 {
		return false, nil
	}
	var bestID string
	var best int
	err = ru.db.EachRemovedHashes(ctx, func(id string, ref []uint64) error {
		if id == videoID {
			return nil // its own job's end applied again after a removal
		}
		n, ok := ru.matcher.match(hashes, ref)
		if ok && n > best {
			bestID, best = id, n
		}
		partial = partial || n > 0
		return ctx.Err()
	})
	if err != nil {
		return false, fmt.Errorf("compare with removed videos: %w", err)
	}
	if bestID != "" {
		ru.log.Info("upload matches a removed video; held for review", "video_id", videoID, "removed_video_id", bestID, "frames", best)
		p.HeldReason = joinReasons(p.HeldReason, fmt.Sprintf("matches removed video %s (%d frames)", bestID, best))
		return false, nil
	}
	return partial, nil
}

// remember makes sure a video being removed has its frame hashes stored, reading its
// phash.json when it was published before they were kept, so that the removal has a
// reference to match re-uploads against.
func (ru *reuploads) remember(ctx context.Context, videoID string) error {
	ok, err := ru.db.HasFrameHashes(ctx, videoID)
	if err != nil || ok {
		return err
	}
	hashes, err := ru.frameHashes(ctx, videoID)
	if err != nil || len(hashes) == 0 {
		return err
	}
	return ru.db.SaveFrameHashes(ctx, videoID, hashes)
}
