package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// Limits on what a video's owner writes.
const (
	maxTitle       = 100
	maxDescription = 5000
	maxTags        = 15
	maxTag         = 30
	defaultLimit   = 24
)

// newVideoID returns 11 URL-safe characters (64 random bits), short enough for a shareable URL.
func newVideoID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// canView reports whether user may see the video. Everyone sees public and unlisted videos
// that are being transcoded or are ready, unless held for review or removed; their owner and
// moderators see everything. Every listing, search, feed and media URL applies the same rule.
func canView(v store.Video, user store.User, signedIn bool) bool {
	if signedIn && (user.ID == v.OwnerID || user.CanModerate()) {
		return true
	}
	if v.Hidden() {
		return false
	}
	switch v.Status {
	case store.StatusUploading, store.StatusFailed:
		return false
	}
	return v.Visibility == store.Public || v.Visibility == store.Unlisted
}

// visibleVideo loads a video the caller may see; errNotFound otherwise.
func (s *Server) visibleVideo(r *http.Request, id string) (store.Video, error) {
	v, err := s.db.Video(r.Context(), id)
	return v, viewable(r, v, err)
}

// viewable is the error of loading v (err) for the caller: errNotFound also when the caller may
// not see it, so that private ids cannot be probed.
func viewable(r *http.Request, v store.Video, err error) error {
	if err != nil {
		return orNotFound(err, errNotFound)
	}
	if user, signedIn := caller(r); !canView(v, user, signedIn) {
		return errNotFound
	}
	return nil
}

// ownedVideo loads a video the caller may change: its owner's, or anyone's for a moderator
// when moderators are allowed.
func (s *Server) ownedVideo(r *http.Request, id string, moderatorsToo bool) (store.Video, store.User, error) {
	user, err := requireUser(r)
	if err != nil {
		return store.Video{}, user, err
	}
	v, err := s.visibleVideo(r, id)
	if err != nil {
		return v, user, err
	}
	if v.OwnerID != user.ID && !(moderatorsToo && user.CanModerate()) {
		return v, user, errForbidden("only the video's owner may do this")
	}
	return v, user, nil
}

// ListVideos lists public, ready videos, newest first.
func (s *Server) ListVideos(w http.ResponseWriter, r *http.Request, params oapi.ListVideosParams) {
	s.handle(w, r, func() error {
		page, err := s.videoList(r, params.Cursor, params.Limit, publishedAt, s.db.ListPublic)
		if err != nil {
			return err
		}
		// Anyone may cache the anonymous home page for a moment; it changes as videos publish.
		if _, signedIn := caller(r); !signedIn {
			w.Header().Set("Cache-Control", "public, max-age=5")
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	})
}

// ListMyVideos lists the caller's own videos in every status.
func (s *Server) ListMyVideos(w http.ResponseWriter, r *http.Request, params oapi.ListMyVideosParams) {
	s.handle(w, r, func() error {
		return s.callerVideoList(w, r, params.Cursor, params.Limit, createdAt, s.db.ListByOwner)
	})
}

// callerVideoList answers a page of a list of videos that is the signed-in caller's own:
// fetch gets the rows for the caller's id.
func (s *Server) callerVideoList(w http.ResponseWriter, r *http.Request, cursor *string, limit *int, sortTime func(store.Video) time.Time,
	fetch func(ctx context.Context, userID int64, after *store.Cursor, n int) ([]store.Video, error)) error {
	user, err := requireUser(r)
	if err != nil {
		return err
	}
	page, err := s.videoList(r, cursor, limit, sortTime, func(ctx context.Context, after *store.Cursor, n int) ([]store.Video, error) {
		return fetch(ctx, user.ID, after, n)
	})
	if err != nil {
		return err
	}
	writePrivateJSON(w, page)
	return nil
}

// videoList reads one page of a list of videos ordered by sortTime: fetch gets the rows
// after the cursor, n of them at most.
func (s *Server) videoList(r *http.Request, cursor *string, limit *int, sortTime func(store.Video) time.Time,
	fetch func(ctx context.Context, after *store.Cursor, n int) ([]store.Video, error)) (oapi.VideoPage, error) {
	videos, next, err := readPage(r.Context(), pageParams, cursor, limit, fetch, func(v store.Video) string {
		return encodeCursor(store.Cursor{Time: sortTime(v), ID: v.ID})
	})
	if err != nil {
		return oapi.VideoPage{}, err
	}
	page := oapi.VideoPage{Videos: make([]oapi.Video, 0, len(videos)), NextCursor: next}
	for _, v := range videos {
		page.Videos = append(page.Videos, s.toAPIVideo(r, v))
	}
	return page, nil
}

// The sort keys of video lists: publication for public lists, creation for the owner's own.
func publishedAt(v store.Video) time.Time { return *v.PublishedAt }
func createdAt(v store.Video) time.Time   { return v.CreatedAt }

// GetVideo returns one video.
func (s *Server) GetVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		user, signedIn := caller(r)
		v, watch, err := s.db.VideoToWatch(r.Context(), id, user.ID)
		if err := viewable(r, v, err); err != nil {
			return err
		}
		out := s.toAPIVideo(r, v)
		// What only the watch page needs: the caller's rating and the caption tracks.
		if signedIn {
			rating := ratingName(watch.Rating)
			out.MyRating = &rating
		}
		captions := s.toAPICaptions(r, v, watch.Captions)
		out.Captions = &captions
		if err := s.addTranscodeWarnings(r, v, &out); err != nil {
			return err
		}
		writePrivateJSON(w, out)
		return nil
	})
}

// UpdateVideo edits title, description, tags or visibility (the owner only).
func (s *Server) UpdateVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		var req oapi.UpdateVideoRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		if _, _, err := s.ownedVideo(r, id, false); err != nil {
			return err
		}
		patch, err := validatePatch(req)
		if err != nil {
			return err
		}
		text := map[string]string{}
		if patch.Title != nil {
			text["title"] = *patch.Title
		}
		if patch.Description != nil {
			text["description"] = *patch.Description
		}
		if patch.Tags != nil {
			text["tags"] = strings.Join(*patch.Tags, " ")
		}
		rejected, hold := s.terms.screenText(text)
		if len(rejected) > 0 {
			return errInvalid("some fields break this site's rules", rejected)
		}
		v, err := s.db.UpdateVideo(r.Context(), id, patch)
		err = orNotFound(err, errNotFound)
		if err == nil && hold != "" {
			if _, err = s.db.Hold(r.Context(), id, hold); err == nil {
				v, err = s.db.Video(r.Context(), id)
			}
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.toAPIVideo(r, v))
		return nil
	})
}

func validatePatch(req oapi.UpdateVideoRequest) (store.VideoPatch, error) {
	fields := map[string]string{}
	var p store.VideoPatch
	if req.Title == nil && req.Description == nil && req.Tags == nil && req.Visibility == nil {
		return p, errInvalid("nothing to change: send title, description, tags or visibility", nil)
	}
	if req.Title != nil {
		t := strings.TrimSpace(*req.Title)
		checkTitle(t, fields)
		p.Title = &t
	}
	if req.Description != nil {
		if problem := checkText(*req.Description, maxDescription, true); problem != "" {
			fields["description"] = problem
		}
		p.Description = req.Description
	}
	if req.Tags != nil {
		tags := normaliseTags(*req.Tags, fields)
		p.Tags = &tags
	}
	if req.Visibility != nil {
		vis := string(*req.Visibility)
		if !validVisibility(vis) {
			fields["visibility"] = "must be public, unlisted or private"
		}
		p.Visibility = &vis
	}
	if len(fields) > 0 {
		return p, errInvalid("some fields are invalid", fields)
	}
	return p, nil
}

func checkTitle(t string, fields map[string]string) {
	if t == "" {
		fields["title"] = "must not be empty"
	} else if problem := checkText(t, maxTitle, false); problem != "" {
		fields["title"] = problem
	}
}

func validVisibility(v string) bool {
	return v == store.Public || v == store.Unlisted || v == store.Private
}

// normaliseTags trims, lower-cases and de-duplicates tags, recording problems in fields.
func normaliseTags(tags []string, fields map[string]string) []string {
	if len(tags) > maxTags {
		fields["tags"] = "at most 15 tags"
		return nil
	}
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			fields["tags"] = "tags must not be empty"
			return nil
		}
		if problem := checkText(t, maxTag, false); problem != "" {
			fields["tags"] = "each tag " + problem
			return nil
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// DeleteVideo cancels the video's job, deletes every stored object of it, then its rows. The
// row goes last so that a storage failure leaves a video the owner can delete again rather
// than orphaned objects nobody can find.
func (s *Server) DeleteVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		v, _, err := s.ownedVideo(r, id, true)
		if err != nil {
			return err
		}
		ctx := r.Context()
		// Followers learn "removed" before the job is canceled; otherwise the cancellation
		// reaches them first, as "failed".
		s.relay.videoGone(v.ID)
		if v.JobID != "" && v.InFlight() {
			if err := s.farm.CancelJob(ctx, v.JobID); err != nil && !isJobGone(err) {
				s.log.Warn("cancel job of deleted video", "video_id", v.ID, "job_id", v.JobID, "error", err)
				return errUnavailable("the transcoding farm could not cancel this video's job; try again")
			}
		}
		if err := s.cancelAV1Job(ctx, v); err != nil {
			s.log.Warn("cancel AV1 job of deleted video", "video_id", v.ID, "error", err)
			return errUnavailable("the transcoding farm could not cancel this video's AV1 encoding; try again")
		}
		if v.UploadID != "" {
			if mp, ok := s.blobs.(storage.Multipart); ok {
				if err := mp.AbortMultipart(ctx, layout.Source(v.ID), v.UploadID); err != nil && !errors.Is(err, storage.ErrNoSuchUpload) {
					return err
				}
			}
		}
		if err := s.blobs.DeletePrefix(ctx, layout.Video(v.ID)); err != nil {
			return err
		}
		if v.Status == store.StatusUploading {
			// Its single-PUT URL outlives the video: what it writes goes once it expires.
			s.collectUploadURLs(ctx, v)
		}
		if err := s.db.DeleteVideo(ctx, v.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// toAPIVideo renders a video for the caller of r, with playback URLs once it can be played and
// the caller may watch it (before it has passed screening, its owner and moderators only). Its
// screening state is shown to everyone: others can only ever see pending or passed, as a video
// the checks held is hidden from them. Its moderation state is shown to the owner and
// moderators only.
func (s *Server) toAPIVideo(r *http.Request, v store.Video) oapi.Video {
	out := oapi.Video{
		Id:          v.ID,
		Title:       v.Title,
		Description: v.Description,
		Tags:        v.Tags,
		Visibility:  oapi.Visibility(v.Visibility),
		Status:      oapi.VideoStatus(v.Status),
		Owner:       oapi.Channel{Username: v.OwnerUsername, DisplayName: v.OwnerName},
		CreatedAt:   v.CreatedAt,
		UpdatedAt:   v.UpdatedAt,
		PublishedAt: v.PublishedAt,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if v.OwnerAvatar != "" {
		out.Owner.AvatarUrl = &v.OwnerAvatar
	}
	if v.FailureReason != "" {
		out.FailureReason = &v.FailureReason
	}
	if v.DurationSeconds != nil {
		out.DurationSeconds = v.DurationSeconds
	}
	if len(v.Rungs) > 0 {
		out.Rungs = &v.Rungs
	}
	user, signedIn := caller(r)
	whole := ownerOrModerator(v, user, signedIn)
	if v.Playable() && (whole || v.Screened()) {
		out.Playback = s.playback(v, whole)
	}
	if whole {
		out.PlayableAt, out.PublicPlayableAt = v.OwnerPlayableAt(), v.PublicPlayableAt()
		if v.InFlight() {
			out.ScreenedSeconds = &v.ScreenedSeconds
		}
	} else {
		out.PlayableAt = v.PublicPlayableAt()
	}
	screening := oapi.Screening(v.Screening)
	out.Screening = &screening
	out.Stats = oapi.Stats{Views: v.Views, Likes: v.Likes, Dislikes: v.Dislikes, Comments: v.Comments}
	if len(v.ContentWarnings) > 0 {
		out.ContentWarnings = &v.ContentWarnings
	}
	if whole {
		out.Moderation = moderationOf(v)
	}
	return out
}

func moderationOf(v store.Video) *oapi.Moderation {
	m := &oapi.Moderation{State: oapi.ModerationState(v.Moderation)}
	if v.Status == store.StatusRemoved {
		m.State = oapi.ModerationStateRemoved
	}
	if v.HeldReason != "" {
		m.Reason = &v.HeldReason
	}
	return m
}
