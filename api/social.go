package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.Decode knows the avatar formats
	_ "image/png"
	"io"
	"math"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	_ "golang.org/x/image/webp"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/retry"
	"github.com/sunomi/sunomi/storage"
)

// Limits of the social features.
const (
	maxComment = 5000
	// A view counts once per viewer per viewWindow.
	viewWindow = 24 * time.Hour
	// maxPosition bounds a resume position (about four months of video): anything larger is
	// a client bug, not a position.
	maxPosition = 1e7
	// Avatars are small images, decoded in full to check them; the side limit bounds the
	// memory a decode takes (4096² RGBA is 64 MiB).
	maxAvatarSize = 2 << 20
	maxAvatarSide = 4096
)

var (
	errNoSuchUser    = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such user"}
	errNoSuchComment = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such comment"}
)

// --- Comments ---

// commentReader is who reads the comments of v: held comments show to their author, the
// video's owner and moderators.
func commentReader(r *http.Request, v store.Video) store.Reader {
	user, ok := caller(r)
	if !ok {
		return store.Reader{}
	}
	return store.Reader{UserID: user.ID, SeesHeld: user.ID == v.OwnerID || user.CanModerate()}
}

// sees reports whether rd may see c.
func sees(rd store.Reader, c store.Comment) bool {
	return !c.Held || c.AuthorID == rd.UserID || rd.SeesHeld
}

func toAPIComment(c store.Comment) oapi.Comment {
	out := oapi.Comment{
		Id:         strconv.FormatInt(c.ID, 10),
		VideoId:    c.VideoID,
		Author:     oapi.Channel{Username: c.AuthorUsername, DisplayName: c.AuthorName},
		Body:       c.Body,
		CreatedAt:  c.CreatedAt,
		UpdatedAt:  c.UpdatedAt,
		Edited:     c.Edited,
		ReplyCount: c.ReplyCount,
	}
	if c.AuthorAvatar != "" {
		out.Author.AvatarUrl = &c.AuthorAvatar
	}
	if c.ParentID != nil {
		p := strconv.FormatInt(*c.ParentID, 10)
		out.ParentId = &p
	}
	if c.Held {
		out.Held = &c.Held
	}
	return out
}

// checkComment validates a comment body, returning it without surrounding white space.
func checkComment(body string) (string, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return "", errField("body", "must not be empty")
	}
	if problem := checkText(body, maxComment, true); problem != "" {
		return "", errField("body", problem)
	}
	return body, nil
}

// screenComment applies the term policy: a rejected body is a 400, a held one is stored held.
func (s *Server) screenComment(body string) (hold bool, err error) {
	rejected, held := s.terms.screenText(map[string]string{"body": body})
	if len(rejected) > 0 {
		return false, errInvalid("the comment breaks this site's rules", rejected)
	}
	return held != "", nil
}

// parentComment loads the top-level comment of video v named by a parentId the caller sent.
func (s *Server) parentComment(r *http.Request, v store.Video, raw string) (store.Comment, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return store.Comment{}, errField("parentId", "is not a comment id")
	}
	reader := commentReader(r, v)
	c, err := s.db.Comment(r.Context(), id, reader)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (c.VideoID != v.ID || !sees(reader, c))) {
		return c, errField("parentId", "is not a comment on this video")
	}
	if err != nil {
		return c, err
	}
	if c.ParentID != nil {
		return c, errField("parentId", "is a reply; replies have no replies of their own, so reply to the comment it answers")
	}
	return c, nil
}

// ListComments lists a video's top-level comments, newest first, or the replies to one of
// them, oldest first.
func (s *Server) ListComments(w http.ResponseWriter, r *http.Request, id oapi.VideoID, params oapi.ListCommentsParams) {
	v, err := s.visibleVideo(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after, limit, err := intPageParams(params.Cursor, params.Limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var parentID *int64
	if params.ParentId != nil {
		parent, err := s.parentComment(r, v, *params.ParentId)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		parentID = &parent.ID
	}
	comments, err := s.db.ListComments(r.Context(), v.ID, parentID, commentReader(r, v), after, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := oapi.CommentPage{Comments: make([]oapi.Comment, 0, min(len(comments), limit))}
	comments, page.NextCursor = trimPage(comments, limit, func(c store.Comment) string { return intCursor(c.CreatedAt, c.ID) })
	for _, c := range comments {
		page.Comments = append(page.Comments, toAPIComment(c))
	}
	// Held comments make the page depend on who asks.
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, page)
}

// CreateComment comments on a video the caller can see, or replies to a top-level comment.
func (s *Server) CreateComment(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.CreateCommentRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := checkComment(req.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.visibleVideo(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := store.NewComment{VideoID: v.ID, AuthorID: user.ID, Body: body}
	if req.ParentId != nil {
		parent, err := s.parentComment(r, v, *req.ParentId)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		n.ParentID = &parent.ID
	}
	if n.Held, err = s.screenComment(body); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.db.CreateComment(r.Context(), n)
	if errors.Is(err, store.ErrNotFound) {
		// The video or the parent was deleted a moment ago.
		err = errNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toAPIComment(c))
}

// commentFor loads a comment for a signed-in caller who wants to change it, with its video;
// errNoSuchComment when the caller may not see it.
func (s *Server) commentFor(r *http.Request, raw string) (store.Comment, store.Video, store.User, error) {
	user, err := requireUser(r)
	if err != nil {
		return store.Comment{}, store.Video{}, user, err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return store.Comment{}, store.Video{}, user, errNoSuchComment
	}
	ctx := r.Context()
	c, err := s.db.Comment(ctx, id, store.Reader{UserID: user.ID})
	if errors.Is(err, store.ErrNotFound) {
		return c, store.Video{}, user, errNoSuchComment
	}
	if err != nil {
		return c, store.Video{}, user, err
	}
	v, err := s.db.Video(ctx, c.VideoID)
	if errors.Is(err, store.ErrNotFound) {
		return c, v, user, errNoSuchComment
	}
	if err != nil {
		return c, v, user, err
	}
	// Authors may always delete what they wrote, even on a video since hidden from them.
	if c.AuthorID != user.ID && (!canView(v, user, true) || !sees(commentReader(r, v), c)) {
		return c, v, user, errNoSuchComment
	}
	return c, v, user, nil
}

// UpdateComment edits a comment (its author only). The term policy applies again: an edit
// that would be held holds the comment, and no edit releases a held one.
func (s *Server) UpdateComment(w http.ResponseWriter, r *http.Request, id oapi.CommentID) {
	if _, err := requireUser(r); err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.UpdateCommentRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := checkComment(req.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, v, user, err := s.commentFor(r, id)
	if err == nil && !canView(v, user, true) {
		err = errNoSuchComment
	}
	if err == nil && c.AuthorID != user.ID {
		err = errForbidden("only the comment's author may edit it")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hold, err := s.screenComment(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if err := s.db.UpdateComment(ctx, c.ID, body, hold); err != nil {
		s.fail(w, r, orNotFound(err, errNoSuchComment))
		return
	}
	if c, err = s.db.Comment(ctx, c.ID, commentReader(r, v)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIComment(c))
}

// DeleteComment deletes a comment and its replies: its author, the video's owner or a
// moderator may.
func (s *Server) DeleteComment(w http.ResponseWriter, r *http.Request, id oapi.CommentID) {
	c, v, user, err := s.commentFor(r, id)
	if err == nil && c.AuthorID != user.ID && v.OwnerID != user.ID && !user.CanModerate() {
		err = errForbidden("only the comment's author, the video's owner or a moderator may delete it")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.db.DeleteComment(r.Context(), c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- Ratings ---

var ratingValues = map[oapi.Rating]int{oapi.Like: store.RatingLike, oapi.Dislike: store.RatingDislike, oapi.None: store.RatingNone}

func ratingName(v int) oapi.Rating {
	switch v {
	case store.RatingLike:
		return oapi.Like
	case store.RatingDislike:
		return oapi.Dislike
	default:
		return oapi.None
	}
}

// RateVideo likes, dislikes or un-rates a video the caller can see.
func (s *Server) RateVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.RatingRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	value, ok := ratingValues[req.Rating]
	if !ok {
		s.fail(w, r, errField("rating", "must be like, dislike or none"))
		return
	}
	v, err := s.visibleVideo(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	likes, dislikes, err := s.db.Rate(r.Context(), user.ID, v.ID, value)
	err = orNotFound(err, errNotFound)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, oapi.RatingState{Likes: likes, Dislikes: dislikes, MyRating: req.Rating})
}

// --- Views and history ---

// viewerHash identifies an anonymous viewer by an HMAC of their address and user agent under
// a salt derived from the media secret, so the views table never holds an address and the
// hash cannot be reversed by trying every IPv4 address without the secret.
func (s *Server) viewerHash(r *http.Request) []byte {
	salt := hmac.New(sha256.New, s.cfg.MediaSecret)
	salt.Write([]byte("sunomi anonymous viewer salt v1"))
	mac := hmac.New(sha256.New, salt.Sum(nil))
	mac.Write([]byte(s.clientIP(r)))
	mac.Write([]byte{0})
	mac.Write([]byte(r.UserAgent()))
	return mac.Sum(nil)
}

// RecordView counts a view once per viewer per 24 h and saves a signed-in viewer's resume
// position. The body is optional.
func (s *Server) RecordView(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	var req oapi.ViewRequest
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			s.fail(w, r, errInvalid("could not read the request body", nil))
			return
		}
		if len(bytes.TrimSpace(data)) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(data))
			if err := decode(w, r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
	}
	if p := req.PositionSeconds; p != nil && (*p < 0 || *p > maxPosition || math.IsNaN(*p)) {
		s.fail(w, r, errField("positionSeconds", "must be a position in the video, in seconds"))
		return
	}
	v, err := s.visibleVideo(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Status != store.StatusReady && v.Status != store.StatusProcessing {
		// Nothing to watch yet (the owner looking at an upload).
		writeJSON(w, http.StatusOK, oapi.ViewResult{Counted: false, Views: v.Views})
		return
	}
	view := store.View{VideoID: v.ID, At: s.now(), Window: viewWindow}
	if user, ok := caller(r); ok {
		view.UserID, view.Position = user.ID, req.PositionSeconds
	} else {
		view.Viewer = s.viewerHash(r)
	}
	counted, views, err := s.db.RecordView(r.Context(), view)
	err = orNotFound(err, errNotFound)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, oapi.ViewResult{Counted: counted, Views: views})
}

// ListHistory lists the videos the caller watched, most recent first, with resume positions.
func (s *Server) ListHistory(w http.ResponseWriter, r *http.Request, params oapi.ListHistoryParams) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after, limit, err := pageParams(params.Cursor, params.Limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries, err := s.db.History(r.Context(), user.ID, user.CanModerate(), after, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := oapi.HistoryPage{Items: make([]oapi.HistoryItem, 0, min(len(entries), limit))}
	entries, page.NextCursor = trimPage(entries, limit, func(e store.HistoryEntry) string {
		return encodeCursor(store.Cursor{Time: e.WatchedAt, ID: e.Video.ID})
	})
	for _, e := range entries {
		page.Items = append(page.Items, oapi.HistoryItem{Video: s.toAPIVideo(r, e.Video), PositionSeconds: e.Position, WatchedAt: e.WatchedAt})
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, page)
}

// --- Channels and subscriptions ---

func (s *Server) channelUser(r *http.Request, username string) (store.User, error) {
	u, err := s.db.UserByUsername(r.Context(), username)
	if errors.Is(err, store.ErrNotFound) {
		return u, errNoSuchUser
	}
	return u, err
}

// GetChannel is a user's public channel page.
func (s *Server) GetChannel(w http.ResponseWriter, r *http.Request, username oapi.Username) {
	u, err := s.channelUser(r, username)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	me, signedIn := caller(r)
	stats, err := s.db.ChannelStats(r.Context(), u.ID, me.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := oapi.ChannelPage{Username: u.Username, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt,
		SubscriberCount: stats.Subscribers, VideoCount: stats.Videos}
	if u.AvatarURL != "" {
		out.AvatarUrl = &u.AvatarURL
	}
	if signedIn {
		out.Subscribed = &stats.Subscribed
		w.Header().Set("Cache-Control", "private, no-cache")
	}
	writeJSON(w, http.StatusOK, out)
}

// ListChannelVideos lists a channel's public, ready videos, newest first.
func (s *Server) ListChannelVideos(w http.ResponseWriter, r *http.Request, username oapi.Username, params oapi.ListChannelVideosParams) {
	u, err := s.channelUser(r, username)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.videoList(r, params.Cursor, params.Limit, publishedAt, func(after *store.Cursor, n int) ([]store.Video, error) {
		return s.db.ListChannel(r.Context(), u.ID, after, n)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// Subscribe subscribes the caller to a channel; subscribing again changes nothing.
func (s *Server) Subscribe(w http.ResponseWriter, r *http.Request, username oapi.Username) {
	s.subscribe(w, r, username, true)
}

// Unsubscribe ends the caller's subscription, if any.
func (s *Server) Unsubscribe(w http.ResponseWriter, r *http.Request, username oapi.Username) {
	s.subscribe(w, r, username, false)
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, username string, on bool) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	channel, err := s.channelUser(r, username)
	if err == nil && on && channel.ID == user.ID {
		err = errInvalid("you cannot subscribe to your own channel", nil)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.db.Subscribe(r.Context(), user.ID, channel.ID, on)
	err = orNotFound(err, errNoSuchUser) // the channel's account was deleted a moment ago
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, oapi.Subscription{Subscribed: on, SubscriberCount: n})
}

// GetFeed lists the newest videos of the channels the caller subscribes to.
func (s *Server) GetFeed(w http.ResponseWriter, r *http.Request, params oapi.GetFeedParams) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.videoList(r, params.Cursor, params.Limit, publishedAt, func(after *store.Cursor, n int) ([]store.Video, error) {
		return s.db.Feed(r.Context(), user.ID, after, n)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, page)
}

// --- Profile ---

// UpdateMe edits the caller's display name.
func (s *Server) UpdateMe(w http.ResponseWriter, r *http.Request) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.UpdateMeRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.DisplayName == nil {
		s.fail(w, r, errInvalid("nothing to change: send displayName", nil))
		return
	}
	name := strings.TrimSpace(*req.DisplayName)
	if name == "" {
		s.fail(w, r, errField("displayName", "must not be empty"))
		return
	}
	if problem := checkText(name, maxDisplayName, false); problem != "" {
		s.fail(w, r, errField("displayName", problem))
		return
	}
	// A name is on every comment and video card at once: nothing to hold, only to refuse.
	if rejected, _ := s.terms.screenText(map[string]string{"displayName": name}); len(rejected) > 0 {
		s.fail(w, r, errInvalid("the display name breaks this site's rules", rejected))
		return
	}
	u, err := s.db.SetDisplayName(r.Context(), user.ID, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIUser(u))
}

// Avatar images: the declared type picks the file extension, and the file name is random, so
// a stored avatar never changes and is served with a year-long Cache-Control.
var (
	avatarExt = map[oapi.AvatarUploadRequestContentType]string{
		oapi.Imagejpeg: ".jpg", oapi.Imagepng: ".png", oapi.Imagewebp: ".webp",
	}
	// avatarFormat is image.DecodeConfig's name of each extension's format.
	avatarFormat = map[string]string{".jpg": "jpeg", ".png": "png", ".webp": "webp"}
	avatarFile   = regexp.MustCompile(`^[A-Za-z0-9_-]{22}\.(jpg|png|webp)$`)
)

const avatarsPath = "/avatars/"

func avatarKey(userID int64, file string) string {
	return "avatars/" + strconv.FormatInt(userID, 10) + "/" + file
}

func avatarURL(userID int64, file string) string {
	return avatarsPath + strconv.FormatInt(userID, 10) + "/" + file
}

// CreateAvatarUpload hands out a presigned PUT for a new avatar image.
func (s *Server) CreateAvatarUpload(w http.ResponseWriter, r *http.Request) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.AvatarUploadRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ext, ok := avatarExt[req.ContentType]
	switch {
	case !ok:
		err = errField("contentType", "must be image/jpeg, image/png or image/webp")
	case req.Size <= 0:
		err = errField("size", "must be the image's size in bytes")
	case req.Size > maxAvatarSize:
		err = &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
			message: fmt.Sprintf("the image is %s; an avatar may be at most %s", formatBytes(req.Size), formatBytes(maxAvatarSize)),
			fields:  map[string]string{"size": "over 2 MiB"}}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	file := base64.RawURLEncoding.EncodeToString(b) + ext
	url, err := s.blobs.PresignPut(r.Context(), avatarKey(user.ID, file), s.cfg.UploadURLTTL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, oapi.AvatarUpload{UploadId: file, Url: url, ExpiresAt: s.now().Add(s.cfg.UploadURLTTL)})
}

// CompleteAvatarUpload checks the uploaded file really is an image of the declared type and
// makes it the caller's avatar; anything else is deleted.
func (s *Server) CompleteAvatarUpload(w http.ResponseWriter, r *http.Request) {
	user, err := requireUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req oapi.AvatarCompleteRequest
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if !avatarFile.MatchString(req.UploadId) {
		s.fail(w, r, errField("uploadId", "is not an uploadId this API returned"))
		return
	}
	ctx := r.Context()
	key := avatarKey(user.ID, req.UploadId)
	info, err := s.blobs.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, errConflict("nothing has been uploaded for this uploadId yet: PUT the image to its URL first"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refuse := func(msg string) {
		if err := s.blobs.Delete(ctx, key); err != nil {
			s.log.Warn("delete a refused avatar", "key", key, "error", err)
		}
		s.fail(w, r, errField("uploadId", msg))
	}
	if info.Size > maxAvatarSize {
		refuse("the image is over 2 MiB")
		return
	}
	rc, err := s.blobs.Get(ctx, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxAvatarSize+1))
	rc.Close()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if problem := checkImage(data, avatarFormat[path.Ext(req.UploadId)]); problem != "" {
		refuse(problem)
		return
	}
	previous, u, err := s.db.SetAvatar(ctx, user.ID, avatarURL(user.ID, req.UploadId))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.cleanAvatars(ctx, user.ID, req.UploadId, previous)
	writeJSON(w, http.StatusOK, toAPIUser(u))
}

// checkImage decodes data in full as an image of format; it returns the problem, or "".
func checkImage(data []byte, format string) string {
	if len(data) > maxAvatarSize {
		return "the image is over 2 MiB"
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "the file is not a JPEG, PNG or WebP image"
	}
	if got != format {
		return fmt.Sprintf("the file is a %s image, not the %s declared", strings.ToUpper(got), strings.ToUpper(format))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide {
		return fmt.Sprintf("the image is %d×%d pixels; an avatar may be at most %d×%d", cfg.Width, cfg.Height, maxAvatarSide, maxAvatarSide)
	}
	// The header alone proves little: a truncated or corrupt image fails here.
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return "the image is damaged: " + err.Error()
	}
	return ""
}

// cleanAvatars deletes the user's previous avatar and uploads abandoned long enough that
// their URLs have expired. Failures only leave garbage behind, so they are logged.
func (s *Server) cleanAvatars(ctx context.Context, userID int64, current, previous string) {
	prefix := avatarsPath + strconv.FormatInt(userID, 10) + "/"
	if file, ok := strings.CutPrefix(previous, prefix); ok && file != current && avatarFile.MatchString(file) {
		if err := s.blobs.Delete(ctx, avatarKey(userID, file)); err != nil {
			s.log.Warn("delete the previous avatar", "user_id", userID, "error", err)
		}
	}
	objects, err := s.blobs.List(ctx, avatarKey(userID, ""))
	if err != nil {
		s.log.Warn("list avatar uploads", "user_id", userID, "error", err)
		return
	}
	for _, o := range objects {
		if path.Base(o.Key) != current && s.now().Sub(o.ModTime) > s.cfg.UploadURLTTL {
			if err := s.blobs.Delete(ctx, o.Key); err != nil {
				s.log.Warn("delete an abandoned avatar upload", "key", o.Key, "error", err)
			}
		}
	}
}

// serveAvatar serves GET /avatars/{userId}/{file}: a user's current avatar only, so uploads
// that were never checked are never served.
func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	notFound := &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such avatar"}
	file := chi.URLParam(r, "file")
	userID, err := strconv.ParseInt(chi.URLParam(r, "userId"), 10, 64)
	if err != nil || !avatarFile.MatchString(file) {
		s.fail(w, r, notFound)
		return
	}
	u, err := s.db.UserByID(r.Context(), userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.AvatarURL != avatarURL(userID, file)) {
		s.fail(w, r, notFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, err := s.blobs.Get(r.Context(), avatarKey(userID, file))
	if errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, notFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "image/"+avatarFormat[path.Ext(file)])
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Access-Control-Allow-Origin", "*")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", time.Time{}, rs)
		return
	}
	_, _ = io.Copy(w, rc)
}

// --- Live counts ---

// countsChannel is the PostgreSQL notification channel on which a trigger (migration 00003)
// announces, with the video id as payload, every change of a video's counts, status,
// visibility or moderation, and its deletion.
const countsChannel = "sunomi_counts"

// countsDebounce is the shortest time between two reloads of one video's counts on a replica:
// a popular video gets many views a second, and its followers need not see each one.
const countsDebounce = 250 * time.Millisecond

// countsUpdate is the state of a video after a change; gone when it was deleted.
type countsUpdate struct {
	video store.Video
	gone  bool
}

// countsHub fans the changes announced on countsChannel out to this replica's WebSockets.
// It reloads a changed video once per countsDebounce however many sockets follow it, and
// ignores videos nobody here follows.
type countsHub struct {
	s *Server

	mu     sync.Mutex
	topics map[string]*countsTopic // by video id; only videos with subscribers
	closed bool
}

type countsTopic struct {
	subs map[chan countsUpdate]struct{}
	// pending is the scheduled reload, nil when none; last is when the latest one started.
	pending *time.Timer
	last    time.Time
}

func newCountsHub(s *Server) *countsHub {
	return &countsHub{s: s, topics: map[string]*countsTopic{}}
}

// subscribe returns a channel of the video's changes. It holds the latest one: a slow socket
// skips intermediate counts, never the last.
func (h *countsHub) subscribe(videoID string) (<-chan countsUpdate, func()) {
	ch := make(chan countsUpdate, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[videoID]
	if t == nil {
		t = &countsTopic{subs: map[chan countsUpdate]struct{}{}}
		h.topics[videoID] = t
	}
	t.subs[ch] = struct{}{}
	return ch, func() { h.unsubscribe(videoID, t, ch) }
}

func (h *countsHub) unsubscribe(videoID string, t *countsTopic, ch chan countsUpdate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(t.subs, ch)
	if len(t.subs) == 0 && h.topics[videoID] == t {
		h.stopLocked(t)
		delete(h.topics, videoID)
	}
}

// stopLocked cancels the topic's pending reload.
func (h *countsHub) stopLocked(t *countsTopic) {
	if t.pending != nil && t.pending.Stop() {
		h.s.wg.Done() // the reload that will not run
	}
	t.pending = nil
}

// changed schedules a reload of the video, unless one is pending already.
func (h *countsHub) changed(videoID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[videoID]
	if h.closed || t == nil || t.pending != nil {
		return
	}
	delay := max(0, countsDebounce-time.Since(t.last))
	// Counted in the server's WaitGroup so that Close waits for a reload in progress.
	h.s.wg.Add(1)
	t.pending = time.AfterFunc(delay, func() {
		defer h.s.wg.Done()
		h.reload(videoID, t)
	})
}

// reload reads the video and hands the result to its subscribers.
func (h *countsHub) reload(videoID string, t *countsTopic) {
	h.mu.Lock()
	t.pending, t.last = nil, time.Now()
	h.mu.Unlock()
	ctx := h.s.life
	v, err := h.s.db.Video(ctx, videoID)
	gone := errors.Is(err, store.ErrNotFound)
	if err != nil && !gone {
		if ctx.Err() == nil {
			h.s.log.Warn("reload the counts of a video", "video_id", videoID, "error", err)
		}
		return
	}
	u := countsUpdate{video: v, gone: gone}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics[videoID] != t {
		return
	}
	for ch := range t.subs {
		select {
		case <-ch: // drop the update the socket has not taken yet
		default:
		}
		ch <- u
	}
}

// close cancels every pending reload; sockets end on the server's life context.
func (h *countsHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, t := range h.topics {
		h.stopLocked(t)
	}
}

// startCounts LISTENs for count changes: the first connection is made here, so that a
// replica that has started hears every change from then on, and a goroutine keeps listening
// (reconnecting with backoff) until Close.
func (s *Server) startCounts(ctx context.Context) {
	l, err := s.db.Listen(ctx, countsChannel)
	if err != nil {
		s.log.Warn("listen for count changes; retrying in the background", "error", err)
		l = nil
	}
	s.wg.Go(func() { s.listenCounts(s.life, l) })
}

func (s *Server) listenCounts(ctx context.Context, l *store.Listener) {
	backoff := retry.NewBackoff(200*time.Millisecond, 10*time.Second)
	defer func() {
		if l != nil {
			l.Close()
		}
	}()
	for ctx.Err() == nil {
		if l == nil {
			var err error
			if l, err = s.db.Listen(ctx, countsChannel); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("listen for count changes", "error", err)
				}
				if !retry.Sleep(ctx, backoff.Next()) {
					return
				}
				continue
			}
			backoff.Reset()
			// Changes made while nobody listened were not heard: refresh every video
			// followed here.
			s.counts.refreshAll()
		}
		id, err := l.Wait(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("count change notifications stopped; reconnecting", "error", err)
			}
			l.Close()
			l = nil
			continue
		}
		s.counts.changed(id)
	}
}

func (h *countsHub) refreshAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.topics))
	for id := range h.topics {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.changed(id)
	}
}

func statsOf(v store.Video) oapi.Stats {
	return oapi.Stats{Views: v.Views, Likes: v.Likes, Dislikes: v.Dislikes, Comments: v.Comments}
}
