package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// Moderation: users report videos and comments; a video or comment whose open reports weigh
// ReportThreshold established reporters, or a video flagged by an automated check as it is
// published (publisher.screen), is held — hidden from everyone but its owner (a comment's
// author and video owner) and moderators — until a moderator decides on it. Every decision is written to the audit log in
// the same transaction, and counts for or against the reporters' standing.
//
// A report weighs by its reporter's standing (store.reportWeights has the rule), so that
// accounts made for the purpose cannot hide videos: reports by accounts younger than a day,
// and reports from one network, count together as at most one reporter; comment reports weigh
// by the same rule. Every report reaches the report queue, heaviest first, whatever it weighs.

// Limits on what reporters and moderators write.
const (
	maxReportNote = 1000
	maxLabels     = 10
	maxLabel      = 40
)

// requireModerator is the signed-in caller if they moderate: 401 anonymous, 403 otherwise.
func requireModerator(r *http.Request) (store.User, error) {
	user, err := requireUser(r)
	if err != nil {
		return user, err
	}
	if !user.CanModerate() {
		return user, errForbidden("only moderators may do this")
	}
	return user, nil
}

// moderatorPage is readPage for the lists only moderators see: anyone else gets 401 or 403.
func moderatorPage[T any](r *http.Request, parse func(cursor *string, limit *int) (*store.Cursor, int, error),
	cursor *string, limit *int, fetch func(ctx context.Context, after *store.Cursor, limit int) ([]T, error),
	next func(T) string) ([]T, *string, error) {
	if _, err := requireModerator(r); err != nil {
		return nil, nil, err
	}
	return readPage(r.Context(), parse, cursor, limit, fetch, next)
}

// CreateReport records a report of a video or comment the caller can see, with the network
// it came from. Reporting the same thing twice returns the first report and changes nothing.
// When the weight of a video's or a comment's open reports reaches ReportThreshold, it is held
// for review. Each user may report ReportsPerHour times an hour.
func (s *Server) CreateReport(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.ReportRequest](w, r)
		if err != nil {
			return err
		}
		fields := map[string]string{}
		if !req.TargetType.Valid() {
			fields["targetType"] = "must be video or comment"
		}
		if req.TargetId == "" || len(req.TargetId) > 64 {
			fields["targetId"] = "must be the id of the video or comment, at most 64 characters"
		}
		if !req.Reason.Valid() {
			fields["reason"] = "must be spam, harassment, hate, violence, sexual, copyright, misleading or other"
		}
		note := ""
		if req.Note != nil {
			note = strings.TrimSpace(*req.Note)
			if problem := checkText(note, maxReportNote, true); problem != "" {
				fields["note"] = problem
			}
		}
		if len(fields) > 0 {
			return errInvalid("some fields are invalid", fields)
		}
		if err := s.throttleReports(r.Context(), user.ID); err != nil {
			return err
		}
		n := store.Report{ReporterID: user.ID, Reason: string(req.Reason), Note: note, ReporterPrefix: reporterPrefix(s.clientIP(r))}
		var video store.Video
		if req.TargetType == oapi.ReportRequestTargetTypeVideo {
			if video, err = s.visibleVideo(r, req.TargetId); err != nil {
				return err
			}
			if video.OwnerID == user.ID {
				return errField("targetId", "is your own video; you cannot report it")
			}
			n.VideoID = video.ID
		} else {
			c, err := s.visibleComment(r, user, req.TargetId)
			if err != nil {
				return err
			}
			if c.AuthorID == user.ID {
				return errField("targetId", "is your own comment; you cannot report it")
			}
			n.CommentID = c.ID
		}
		ctx := r.Context()
		report, created, err := s.db.CreateReport(ctx, n)
		err = orNotFound(err, errNotFound) // the target was deleted meanwhile
		if err != nil {
			return err
		}
		if created {
			// Counted after the report is committed: of two reports arriving together, the later
			// to commit sees both, so the threshold is never skipped.
			if n.VideoID != "" {
				err = s.holdIfReported(ctx, video.ID)
			} else {
				err = s.holdCommentIfReported(ctx, n.CommentID)
			}
			if err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusCreated, toAPIReport(report))
		return nil
	})
}

// visibleComment finds a comment the caller can see: its video is visible to them, and a
// comment held by the term policy only to its author, the video's owner and moderators.
func (s *Server) visibleComment(r *http.Request, user store.User, id string) (store.CommentRef, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return store.CommentRef{}, errNoSuchComment
	}
	c, err := s.db.CommentRef(r.Context(), n)
	if err != nil {
		return c, orNotFound(err, errNoSuchComment)
	}
	v, err := s.visibleVideo(r, c.VideoID)
	if errors.Is(err, errNotFound) {
		return c, errNoSuchComment
	}
	if err != nil {
		return c, err
	}
	if c.Held && c.AuthorID != user.ID && v.OwnerID != user.ID && !user.CanModerate() {
		return c, errNoSuchComment
	}
	return c, nil
}

// throttleReports counts one report of the user and refuses it with 429 past ReportsPerHour
// in the hour.
func (s *Server) throttleReports(ctx context.Context, userID int64) error {
	limit := s.cfg.Moderation.ReportsPerHour
	ok, retry, err := s.db.Hit(ctx, "report:user:"+strconv.FormatInt(userID, 10), time.Hour, limit)
	if err != nil || ok {
		return err
	}
	secs := int(retry.Seconds() + 0.999)
	return &retryError{httpError{status: http.StatusTooManyRequests, code: codeRateLimited,
		message: fmt.Sprintf("you may make at most %d reports an hour; try again in %d seconds", limit, secs)}, secs}
}

// reporterPrefix is the network of a client address: IPv4 /24; IPv6 /48, the block one site
// is usually given (a /64 is one LAN, and whoever holds a /48 has 65,536 of them). The
// reports of one network count as one reporter. "" when the address does not parse.
func reporterPrefix(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	addr = addr.WithZone("").Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// holdIfReported holds a video once its open reports weigh ReportThreshold established
// reporters.
func (s *Server) holdIfReported(ctx context.Context, videoID string) error {
	weights, err := s.db.OpenReportWeights(ctx, []string{videoID})
	if err != nil {
		return err
	}
	weight := weights[videoID]
	if weight < store.WeightOf(s.cfg.Moderation.ReportThreshold) {
		return nil
	}
	counts, err := s.db.OpenReports(ctx, videoID)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	held, err := s.db.Hold(ctx, videoID, reportedReason(total, weight, counts))
	if held {
		s.log.Info("video held after reports", "video_id", videoID, "reporters", total, "weight", weight.Float())
	}
	return err
}

// holdCommentIfReported holds a comment once its open reports weigh ReportThreshold
// established reporters, by the same rule as videos.
func (s *Server) holdCommentIfReported(ctx context.Context, commentID int64) error {
	weight, err := s.db.OpenCommentReportWeight(ctx, commentID)
	if err != nil || weight < store.WeightOf(s.cfg.Moderation.ReportThreshold) {
		return err
	}
	held, err := s.db.HoldReportedComment(ctx, commentID)
	if held {
		s.log.Info("comment held after reports", "comment_id", commentID, "weight", weight.Float())
	}
	return err
}

// reportedReason is "reported by 3 users, weight 3.00: spam (2), hate (1)", commonest reason
// first.
func reportedReason(total int, weight store.Weight, counts map[string]int) string {
	reasons := make([]string, 0, len(counts))
	for reason := range counts {
		reasons = append(reasons, reason)
	}
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(reasons))
	for i, reason := range reasons {
		parts[i] = fmt.Sprintf("%s (%d)", reason, counts[reason])
	}
	return fmt.Sprintf("reported by %d users, weight %s: %s", total, weight, strings.Join(parts, ", "))
}

func toAPIReport(rp store.Report) oapi.Report {
	out := oapi.Report{Id: strconv.FormatInt(rp.ID, 10), Reason: rp.Reason, CreatedAt: rp.CreatedAt}
	if rp.VideoID != "" {
		out.TargetType, out.TargetId = string(oapi.ReportRequestTargetTypeVideo), rp.VideoID
	} else {
		out.TargetType, out.TargetId = string(oapi.ReportRequestTargetTypeComment), strconv.FormatInt(rp.CommentID, 10)
	}
	if rp.Note != "" {
		out.Note = &rp.Note
	}
	return out
}

// ModerationQueue lists the videos held for review, held longest first, with their open
// reports by reason and their weight.
func (s *Server) ModerationQueue(w http.ResponseWriter, r *http.Request, params oapi.ModerationQueueParams) {
	s.handle(w, r, func() error {
		videos, next, err := moderatorPage(r, pageParams, params.Cursor, params.Limit, s.db.HeldQueue, func(v store.Video) string {
			return encodeCursor(store.Cursor{Time: heldAt(v), ID: v.ID})
		})
		if err != nil {
			return err
		}
		ids := make([]string, len(videos))
		for i, v := range videos {
			ids[i] = v.ID
		}
		counts, weights, err := s.openReportsOf(r.Context(), ids)
		if err != nil {
			return err
		}
		page := oapi.QueuePage{Items: []oapi.QueueItem{}, NextCursor: next}
		for _, v := range videos {
			weight := weights[v.ID].Float()
			item := oapi.QueueItem{Video: s.toAPIVideo(r, v), Reports: counts[v.ID], HeldAt: heldAt(v), ReportWeight: &weight}
			if item.Reports == nil {
				item.Reports = map[string]int{}
			}
			if v.HeldReason != "" {
				item.Reason = &v.HeldReason
			}
			page.Items = append(page.Items, item)
		}
		writePrivateJSON(w, page)
		return nil
	})
}

// ModerationReportQueue lists the videos and comments with open reports, held or not,
// heaviest first: every report reaches a moderator, whatever it weighs.
func (s *Server) ModerationReportQueue(w http.ResponseWriter, r *http.Request, params oapi.ModerationReportQueueParams) {
	s.handle(w, r, func() error {
		if _, err := requireModerator(r); err != nil {
			return err
		}
		after, n, err := weightPageParams(params.Cursor, params.Limit)
		if err != nil {
			return err
		}
		rows, err := s.db.ReportQueue(r.Context(), after, n+1)
		if err != nil {
			return err
		}
		rows, next := trimPage(rows, n, func(t store.ReportedTarget) string {
			return encodeWeightCursor(store.WeightCursor{Weight: t.Weight, Type: t.Type, ID: t.ID})
		})
		page := oapi.ReportQueuePage{Items: []oapi.ReportQueueItem{}, NextCursor: next}
		for _, t := range rows {
			item := oapi.ReportQueueItem{TargetType: oapi.ReportQueueItemTargetType(t.Type), TargetId: t.ID,
				Video: s.toAPIVideo(r, t.Video), Reports: t.Reports, ReportWeight: t.Weight.Float(), Reporters: t.Reporters}
			if t.Comment != nil {
				c := toAPIComment(*t.Comment)
				item.Comment = &c
			}
			if item.Reports == nil {
				item.Reports = map[string]int{}
			}
			page.Items = append(page.Items, item)
		}
		writePrivateJSON(w, page)
		return nil
	})
}

// openReportsOf is the open reports of videos by reason, and their weight.
func (s *Server) openReportsOf(ctx context.Context, ids []string) (map[string]map[string]int, map[string]store.Weight, error) {
	counts, err := s.db.OpenReportsOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	weights, err := s.db.OpenReportWeights(ctx, ids)
	return counts, weights, err
}

// weightCursorJSON is a report queue cursor: base64url of {"w": weight, "t": target type,
// "i": target id}.
type weightCursorJSON struct {
	W store.Weight `json:"w"`
	T string       `json:"t"`
	I string       `json:"i"`
}

func encodeWeightCursor(c store.WeightCursor) string {
	b, _ := json.Marshal(weightCursorJSON{W: c.Weight, T: c.Type, I: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// weightPageParams is pageParams for the report queue, whose cursors carry a weight.
func weightPageParams(cursor *string, limit *int) (*store.WeightCursor, int, error) {
	_, n, err := pageParams(nil, limit)
	if err != nil || cursor == nil || *cursor == "" {
		return nil, n, err
	}
	b, err := base64.RawURLEncoding.DecodeString(*cursor)
	var c weightCursorJSON
	if err != nil || json.Unmarshal(b, &c) != nil || c.I == "" {
		return nil, 0, errBadCursor
	}
	return &store.WeightCursor{Weight: c.W, Type: c.T, ID: c.I}, n, nil
}

// heldAt is when a held video was held; every hold sets it, the fallback only guards the cursor.
func heldAt(v store.Video) time.Time {
	if v.HeldAt != nil {
		return *v.HeldAt
	}
	return v.UpdatedAt
}

// DecideVideo applies a moderator's decision and returns the video after it.
func (s *Server) DecideVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		user, err := requireModerator(r)
		if err != nil {
			return err
		}
		var req oapi.DecisionRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		d, err := validateDecision(req)
		if err != nil {
			return err
		}
		ctx := r.Context()
		v, err := s.db.Video(ctx, id)
		err = orNotFound(err, errNotFound)
		if err != nil {
			return err
		}
		d.VideoID, d.ModeratorID, d.Moderator = v.ID, user.ID, user.Username
		if d.Action == store.ActionRemove {
			// A video published before frame hashes were kept still becomes a reference. Failing
			// to read them must not stop a removal.
			if err := s.reuploads.remember(ctx, v.ID); err != nil {
				s.log.Error("frame hashes of a removed video; re-uploads of it will not be matched", "video_id", v.ID, "error", err)
			}
		}
		out, err := s.db.Decide(ctx, d)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = errNotFound
		case errors.Is(err, store.ErrNotRestorable):
			err = errConflict("this video was removed before it was published; there is nothing to reinstate")
		case errors.Is(err, store.ErrRemovedNotHeld):
			err = errConflict("this video is removed; approve or restrict it to reinstate it instead")
		}
		if err != nil {
			return err
		}
		s.log.Info("moderation decision", "video_id", v.ID, "action", d.Action, "moderator", user.Username)
		if d.Action == store.ActionRemove {
			s.relay.videoGone(v.ID)
			if v.JobID != "" && v.InFlight() {
				// The job's end can no longer publish the video; stop spending the farm on it.
				if err := s.farm.CancelJob(ctx, v.JobID); err != nil && !isJobGone(err) {
					s.log.Warn("cancel job of removed video", "video_id", v.ID, "job_id", v.JobID, "error", err)
				}
			}
			if err := s.cancelAV1Job(ctx, v); err != nil {
				s.log.Warn("cancel AV1 job of removed video", "video_id", v.ID, "error", err)
			}
		}
		writeJSON(w, http.StatusOK, s.toAPIVideo(r, out))
		return nil
	})
}

// validateDecision checks a decision: restrict needs content-warning labels, the others take
// none.
func validateDecision(req oapi.DecisionRequest) (store.Decision, error) {
	d := store.Decision{Action: string(req.Action)}
	fields := map[string]string{}
	if !req.Action.Valid() {
		fields["action"] = "must be hold, approve, remove or restrict"
	}
	if req.Note != nil {
		d.Note = strings.TrimSpace(*req.Note)
		if problem := checkText(d.Note, maxReportNote, true); problem != "" {
			fields["note"] = problem
		}
	}
	var labels []string
	if req.Labels != nil {
		labels = *req.Labels
	}
	switch {
	case req.Action == oapi.DecisionRequestActionRestrict && len(labels) == 0:
		fields["labels"] = "restrict needs at least one content-warning label"
	case req.Action != oapi.DecisionRequestActionRestrict && len(labels) > 0:
		fields["labels"] = "only restrict takes content-warning labels"
	case len(labels) > maxLabels:
		fields["labels"] = fmt.Sprintf("at most %d labels", maxLabels)
	default:
		for _, l := range labels {
			l = strings.TrimSpace(l)
			if l == "" {
				fields["labels"] = "labels must not be empty"
				break
			}
			if problem := checkText(l, maxLabel, false); problem != "" {
				fields["labels"] = "each label " + problem
				break
			}
			if !slices.ContainsFunc(d.Labels, func(have string) bool { return strings.EqualFold(have, l) }) {
				d.Labels = append(d.Labels, l)
			}
		}
	}
	if len(fields) > 0 {
		return d, errInvalid("some fields are invalid", fields)
	}
	return d, nil
}

// ModerationCommentQueue lists comments awaiting review: held by the term policy or reported.
func (s *Server) ModerationCommentQueue(w http.ResponseWriter, r *http.Request, params oapi.ModerationCommentQueueParams) {
	s.handle(w, r, func() error {
		items, next, err := moderatorPage(r, intPageParams, params.Cursor, params.Limit, s.db.CommentQueue,
			func(q store.QueuedComment) string { return intCursor(q.CreatedAt, q.ID) })
		if err != nil {
			return err
		}
		page := oapi.CommentQueuePage{Items: []oapi.CommentQueueItem{}, NextCursor: next}
		for _, q := range items {
			page.Items = append(page.Items, oapi.CommentQueueItem{Comment: toAPIComment(q.Comment), VideoId: q.VideoID,
				VideoTitle: q.VideoTitle, Held: q.Held, Reports: q.Reports})
		}
		writePrivateJSON(w, page)
		return nil
	})
}

// DecideComment approves a held or reported comment, or removes it; both go to the audit log.
func (s *Server) DecideComment(w http.ResponseWriter, r *http.Request, id oapi.CommentID) {
	s.handle(w, r, func() error {
		var req oapi.CommentDecisionRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		mod, err := requireModerator(r)
		if err != nil {
			return err
		}
		commentID, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return errNoSuchComment
		}
		d := store.CommentDecision{CommentID: commentID, ModeratorID: mod.ID, Moderator: mod.Username, Action: string(req.Action)}
		if !req.Action.Valid() {
			return errField("action", "must be approve or remove")
		}
		if req.Note != nil {
			if problem := checkText(*req.Note, 1000, true); problem != "" {
				return errField("note", problem)
			}
			d.Note = *req.Note
		}
		err = s.db.DecideComment(r.Context(), d)
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchComment
		}
		if err != nil {
			return err
		}
		if d.Action == store.ActionRemove {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		c, err := s.db.Comment(r.Context(), commentID, store.Reader{UserID: mod.ID, SeesHeld: true})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPIComment(c))
		return nil
	})
}
