package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// The reports of one video or comment, as a moderator reviews them: each report's reason and
// note, and its reporter's standing broken into the parts of its weight (account age, a linked
// GitHub identity, upheld and rejected reports), so the moderator sees why the reports weigh
// what they do.

// ModerationVideoReports lists the reports of a video, newest first.
func (s *Server) ModerationVideoReports(w http.ResponseWriter, r *http.Request, id oapi.VideoID, params oapi.ModerationVideoReportsParams) {
	s.handle(w, r, func() error {
		if _, err := requireModerator(r); err != nil {
			return err
		}
		if _, err := s.db.Video(r.Context(), id); err != nil {
			return orNotFound(err, errNotFound)
		}
		return s.writeTargetReports(w, r, store.ReportTarget{VideoID: id}, (*string)(params.State), params.Cursor, params.Limit)
	})
}

// ModerationCommentReports lists the reports of a comment, newest first.
func (s *Server) ModerationCommentReports(w http.ResponseWriter, r *http.Request, id oapi.CommentID, params oapi.ModerationCommentReportsParams) {
	s.handle(w, r, func() error {
		if _, err := requireModerator(r); err != nil {
			return err
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return errNoSuchComment
		}
		if _, err := s.db.CommentRef(r.Context(), n); err != nil {
			return orNotFound(err, errNoSuchComment)
		}
		return s.writeTargetReports(w, r, store.ReportTarget{CommentID: n}, (*string)(params.State), params.Cursor, params.Limit)
	})
}

// writeTargetReports writes one page of a target's reports in state (open when not given).
func (s *Server) writeTargetReports(w http.ResponseWriter, r *http.Request, target store.ReportTarget, state, cursor *string, limit *int) error {
	st := store.ReportsOpen
	if state != nil && *state != "" {
		st = *state
	}
	if st != store.ReportsOpen && st != store.ReportsResolved && st != store.ReportsAll {
		return errField("state", "must be open, resolved or all")
	}
	reports, next, err := readPage(r.Context(), intPageParams, cursor, limit,
		func(ctx context.Context, after *store.Cursor, limit int) ([]store.TargetReport, error) {
			return s.db.TargetReports(ctx, target, st, after, limit)
		},
		func(rp store.TargetReport) string { return intCursor(rp.CreatedAt, rp.ID) })
	if err != nil {
		return err
	}
	page := oapi.TargetReportPage{Reports: []oapi.TargetReport{}, NextCursor: next}
	for _, rp := range reports {
		page.Reports = append(page.Reports, toAPITargetReport(rp))
	}
	writePrivateJSON(w, page)
	return nil
}

func toAPITargetReport(rp store.TargetReport) oapi.TargetReport {
	st := rp.Reporter
	out := oapi.TargetReport{
		Id: strconv.FormatInt(rp.ID, 10), Reason: rp.Reason, CreatedAt: rp.CreatedAt, ResolvedAt: rp.ResolvedAt,
		Weight: st.Weight().Float(), SameNetwork: rp.SameNetwork,
		Reporter: oapi.ReporterStanding{Deleted: st.Deleted, NewAccount: st.NewAccount, Github: st.GitHub,
			Upheld: st.Upheld, Rejected: st.Rejected},
	}
	if rp.Note != "" {
		out.Note = &rp.Note
	}
	if !st.Deleted {
		out.Reporter.Username, out.Reporter.DisplayName = &st.Username, &st.DisplayName
		out.Reporter.AccountCreatedAt = &st.AccountCreatedAt
	}
	return out
}
