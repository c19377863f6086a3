package api

// A reporter's view of their own reports, so the app can say "you reported this" on a video
// and its comments instead of offering to report them again.

import (
	"net/http"

	"github.com/sunomi/sunomi/api/oapi"
)

// ListMyReports lists the caller's reports of one video and of its comments. It reads only the
// caller's own rows, so it says nothing about a video they cannot see beyond what they
// reported while they could.
func (s *Server) ListMyReports(w http.ResponseWriter, r *http.Request, params oapi.ListMyReportsParams) {
	s.handle(w, r, func() error {
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		if params.VideoId == "" || len(params.VideoId) > 64 {
			return errField("videoId", "must be the id of a video, at most 64 characters")
		}
		reports, err := s.db.ReportsOnVideo(r.Context(), user.ID, params.VideoId)
		if err != nil {
			return err
		}
		out := oapi.ReportList{Reports: make([]oapi.Report, 0, len(reports))}
		for _, rp := range reports {
			out.Reports = append(out.Reports, toAPIReport(rp))
		}
		writePrivateJSON(w, out)
		return nil
	})
}
