package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// The audit log: every moderator action (decisions on videos and comments, a moderator deleting
// someone else's comment) and every role change is written in the transaction of the action,
// and moderators read it newest first, filtered by moderator, action and time.

// ModerationAudit lists the audit log, newest first, filtered.
func (s *Server) ModerationAudit(w http.ResponseWriter, r *http.Request, params oapi.ModerationAuditParams) {
	s.handle(w, r, func() error {
		if _, err := requireModerator(r); err != nil {
			return err
		}
		filter, err := auditFilter(params)
		if err != nil {
			return err
		}
		entries, next, err := readPage(r.Context(), intPageParams, params.Cursor, params.Limit,
			func(ctx context.Context, after *store.Cursor, limit int) ([]store.AuditEntry, error) {
				return s.db.Audit(ctx, filter, after, limit)
			},
			func(a store.AuditEntry) string { return intCursor(a.CreatedAt, a.ID) })
		if err != nil {
			return err
		}
		page := oapi.AuditPage{Entries: []oapi.AuditEntry{}, NextCursor: next}
		for _, a := range entries {
			page.Entries = append(page.Entries, toAPIAuditEntry(a))
		}
		writePrivateJSON(w, page)
		return nil
	})
}

// auditFilter checks the audit log's filters; each bad one is named in the 400.
func auditFilter(params oapi.ModerationAuditParams) (store.AuditFilter, error) {
	var f store.AuditFilter
	fields := map[string]string{}
	if params.Moderator != nil {
		f.Moderator = strings.TrimSpace(*params.Moderator)
	}
	if params.Action != nil && *params.Action != "" {
		if !params.Action.Valid() {
			fields["action"] = "must be one of " + strings.Join(store.AuditActions, ", ")
		}
		f.Action = string(*params.Action)
	}
	var problem string
	if f.From, problem = auditTime(params.From, false); problem != "" {
		fields["from"] = problem
	}
	if f.To, problem = auditTime(params.To, true); problem != "" {
		fields["to"] = problem
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		fields["to"] = "must be after from"
	}
	if len(fields) > 0 {
		return f, errInvalid("some filters are invalid", fields)
	}
	return f, nil
}

// auditTime reads a time filter: RFC 3339, or a date, which means the start of that day (UTC),
// or for the end of a range (end true) the start of the next, so that the day is included.
func auditTime(v *string, end bool) (*time.Time, string) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return nil, ""
	}
	s := strings.TrimSpace(*v)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return &t, ""
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, "must be a date (2026-01-02) or a time in RFC 3339 (2026-01-02T15:04:05Z)"
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return &t, ""
}

func toAPIAuditEntry(a store.AuditEntry) oapi.AuditEntry {
	e := oapi.AuditEntry{Id: strconv.FormatInt(a.ID, 10), Moderator: a.Moderator, Action: oapi.AuditAction(a.Action),
		CreatedAt: a.CreatedAt}
	if a.VideoID != "" {
		e.VideoId = &a.VideoID
	}
	if a.CommentID != nil {
		cid := strconv.FormatInt(*a.CommentID, 10)
		e.CommentId = &cid
	}
	if a.Subject != "" {
		e.Subject = &a.Subject
	}
	if len(a.Labels) > 0 {
		e.Labels = &a.Labels
	}
	if a.Note != "" {
		e.Note = &a.Note
	}
	return e
}
