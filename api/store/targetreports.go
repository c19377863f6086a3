package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Which reports of a target TargetReports lists.
const (
	ReportsOpen     = "open"     // no decision has resolved them yet
	ReportsResolved = "resolved" // a decision resolved them
	ReportsAll      = "all"
)

// ReporterStanding is what a report's weight is made of: who reported, and how moderators
// decided on their earlier reports.
type ReporterStanding struct {
	Deleted          bool // the reporter deleted their account
	Username         string
	DisplayName      string
	AccountCreatedAt time.Time
	NewAccount       bool // younger than NewAccountAge when they reported
	GitHub           bool // a linked GitHub identity
	Upheld, Rejected int
}

// Weight is what a report by this standing weighs by itself, before the reports of one network
// or of new accounts are counted together: the per-report part of the rule of reportWeights,
// which TestReportWeightMatchesQueue holds to the same figures.
func (st ReporterStanding) Weight() Weight {
	switch {
	case st.Deleted:
		return 0
	case st.NewAccount:
		return 250
	}
	base := 1000.0
	if st.GitHub {
		base = 1500
	}
	w := math.Round(base * 2 * float64(st.Upheld+1) / float64(st.Upheld+st.Rejected+2))
	return Weight(min(1500, w))
}

// TargetReport is a report with its reporter's standing, as moderators review it.
type TargetReport struct {
	Report
	ResolvedAt *time.Time
	Reporter   ReporterStanding
	// SameNetwork counts the target's other reports from the reporter's network.
	SameNetwork int
}

// ReportTarget is a video (VideoID) or a comment (CommentID).
type ReportTarget struct {
	VideoID   string
	CommentID int64
}

// TargetReports lists the reports of one target in state (ReportsOpen, ReportsResolved or
// ReportsAll), newest first, after the cursor (creation time and report id). A reporter's
// standing is as it is now, as the weight of open reports counts it.
func (s *Store) TargetReports(ctx context.Context, t ReportTarget, state string, after *Cursor, limit int) ([]TargetReport, error) {
	column, target := "video_id", any(t.VideoID)
	if t.VideoID == "" {
		column, target = "comment_id", t.CommentID
	}
	var stateCond string
	switch state {
	case ReportsOpen:
		stateCond = "rp.resolved_at IS NULL"
	case ReportsResolved:
		stateCond = "rp.resolved_at IS NOT NULL"
	case ReportsAll:
		stateCond = "true"
	default:
		return nil, fmt.Errorf("unknown report state %q", state)
	}
	afterTime, afterID, err := serialCursor(after)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT rp.id, coalesce(rp.reporter_id, 0), coalesce(rp.video_id, ''), coalesce(rp.comment_id, 0), rp.reason, rp.note,
			rp.reporter_prefix, rp.created_at, rp.resolved_at,
			u.id IS NULL, coalesce(u.username, ''), coalesce(u.display_name, ''), coalesce(u.created_at, rp.created_at),
			rp.new_account,
			EXISTS (SELECT 1 FROM oauth_identities i WHERE i.user_id = rp.reporter_id AND i.provider = 'github'),
			coalesce(st.upheld, 0), coalesce(st.rejected, 0),
			CASE WHEN rp.reporter_prefix = '' THEN 0 ELSE (SELECT count(*) FROM reports o
				WHERE o.`+column+` = rp.`+column+` AND o.reporter_prefix = rp.reporter_prefix AND o.id <> rp.id) END
		FROM reports rp
		LEFT JOIN users u ON u.id = rp.reporter_id
		LEFT JOIN reporter_standing st ON st.user_id = rp.reporter_id
		WHERE rp.`+column+` = $1 AND `+stateCond+`
			AND ($2::timestamptz IS NULL OR (rp.created_at, rp.id) < ($2, $3))
		ORDER BY rp.created_at DESC, rp.id DESC LIMIT $4`, target, afterTime, afterID, limit)
	return scanAll(rows, err, func(row pgx.Row) (TargetReport, error) {
		var r TargetReport
		st := &r.Reporter
		err := row.Scan(&r.ID, &r.ReporterID, &r.VideoID, &r.CommentID, &r.Reason, &r.Note, &r.ReporterPrefix, &r.CreatedAt,
			&r.ResolvedAt, &st.Deleted, &st.Username, &st.DisplayName, &st.AccountCreatedAt, &st.NewAccount, &st.GitHub,
			&st.Upheld, &st.Rejected, &r.SameNetwork)
		return r, err
	})
}
