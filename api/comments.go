package api

// Comments on videos: one level of replies, held comments visible to their author, the video's owner and moderators.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// maxComment is the longest comment, in characters.
const maxComment = 5000

var errNoSuchComment = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such comment"}

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
	s.handle(w, r, func() error {
		v, err := s.visibleVideo(r, id)
		if err != nil {
			return err
		}
		after, limit, err := intPageParams(params.Cursor, params.Limit)
		if err != nil {
			return err
		}
		var parentID *int64
		if params.ParentId != nil {
			parent, err := s.parentComment(r, v, *params.ParentId)
			if err != nil {
				return err
			}
			parentID = &parent.ID
		}
		comments, err := s.db.ListComments(r.Context(), v.ID, parentID, commentReader(r, v), after, limit+1)
		if err != nil {
			return err
		}
		page := oapi.CommentPage{Comments: make([]oapi.Comment, 0, min(len(comments), limit))}
		comments, page.NextCursor = trimPage(comments, limit, func(c store.Comment) string { return intCursor(c.CreatedAt, c.ID) })
		for _, c := range comments {
			page.Comments = append(page.Comments, toAPIComment(c))
		}
		// Held comments make the page depend on who asks.
		writePrivateJSON(w, page)
		return nil
	})
}

// CreateComment comments on a video the caller can see, or replies to a top-level comment.
func (s *Server) CreateComment(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.CreateCommentRequest](w, r)
		if err != nil {
			return err
		}
		body, err := checkComment(req.Body)
		if err != nil {
			return err
		}
		v, err := s.visibleVideo(r, id)
		if err != nil {
			return err
		}
		n := store.NewComment{VideoID: v.ID, AuthorID: user.ID, Body: body}
		if req.ParentId != nil {
			parent, err := s.parentComment(r, v, *req.ParentId)
			if err != nil {
				return err
			}
			n.ParentID = &parent.ID
		}
		if n.Held, err = s.screenComment(body); err != nil {
			return err
		}
		c, err := s.db.CreateComment(r.Context(), n)
		if errors.Is(err, store.ErrNotFound) {
			// The video or the parent was deleted a moment ago.
			err = errNotFound
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toAPIComment(c))
		return nil
	})
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
	s.handle(w, r, func() error {
		_, req, err := userRequest[oapi.UpdateCommentRequest](w, r)
		if err != nil {
			return err
		}
		body, err := checkComment(req.Body)
		if err != nil {
			return err
		}
		c, v, user, err := s.commentFor(r, id)
		if err == nil && !canView(v, user, true) {
			err = errNoSuchComment
		}
		if err == nil && c.AuthorID != user.ID {
			err = errForbidden("only the comment's author may edit it")
		}
		if err != nil {
			return err
		}
		hold, err := s.screenComment(body)
		if err != nil {
			return err
		}
		ctx := r.Context()
		if err := s.db.UpdateComment(ctx, c.ID, body, hold); err != nil {
			return orNotFound(err, errNoSuchComment)
		}
		if c, err = s.db.Comment(ctx, c.ID, commentReader(r, v)); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPIComment(c))
		return nil
	})
}

// DeleteComment deletes a comment and its replies: its author, the video's owner or a
// moderator may.
func (s *Server) DeleteComment(w http.ResponseWriter, r *http.Request, id oapi.CommentID) {
	s.handle(w, r, func() error {
		c, v, user, err := s.commentFor(r, id)
		if err == nil && c.AuthorID != user.ID && v.OwnerID != user.ID && !user.CanModerate() {
			err = errForbidden("only the comment's author, the video's owner or a moderator may delete it")
		}
		if err != nil {
			return err
		}
		if c.AuthorID != user.ID && v.OwnerID != user.ID {
			// A moderator's removal, whichever way they asked for it, goes to the audit log.
			err = s.db.DecideComment(r.Context(), store.CommentDecision{CommentID: c.ID, ModeratorID: user.ID,
				Moderator: user.Username, Action: store.ActionRemove})
		} else {
			err = s.db.DeleteComment(r.Context(), c.ID)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
