package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewAccountAge is how old an account must be when its owner reports for the report to weigh
// as an established reporter's.
const NewAccountAge = 24 * time.Hour

// Weight is the weight of reports in thousandths of an established reporter with no history:
// integers, so that sums and the comparison with a threshold are exact.
type Weight int

// WeightOf is n established reporters' weight.
func WeightOf(n int) Weight { return Weight(n * 1000) }

// String is the weight in reporters, two decimals: "2.75".
func (w Weight) String() string { return fmt.Sprintf("%.2f", float64(w)/1000) }

// Float is the weight in reporters.
func (w Weight) Float() float64 { return float64(w) / 1000 }

// reportWeights is a WITH clause naming report_weights (video_id, weight, reporters): the
// weight of each video's open reports, for the videos in $1 (text[]; all of them when NULL).
// The rule (README "Reports with weight"):
//
//   - a report by an account younger than NewAccountAge when it reported weighs 0.25;
//   - any other report weighs base × 2·(upheld+1)/(upheld+rejected+2), at most 1.5, where base
//     is 1.5 with a linked GitHub identity and 1.0 without, and upheld and rejected count the
//     reporter's earlier reports moderators decided on (reporter_standing): no history gives
//     1.0, only upheld reports tend to 2, only rejected ones to 0;
//   - a report whose reporter's account was deleted weighs nothing;
//   - all reports by new accounts together count at most 1.0; the other reports of one network
//     prefix (reporter_prefix) count as the heaviest of them; a report without a prefix is a
//     group of its own;
//   - the weight of a video is the sum over groups.
//
// Each report's weight is rounded to a thousandth before it is summed, so equal inputs give
// equal sums everywhere.
const reportWeights = `
WITH weighed AS (
	SELECT rp.video_id,
		CASE WHEN rp.new_account THEN 'new accounts'
			ELSE coalesce(nullif(rp.reporter_prefix, ''), 'reporter ' || rp.reporter_id::text) END AS grp,
		CASE
			WHEN rp.reporter_id IS NULL THEN 0
			WHEN rp.new_account THEN 250
			ELSE least(1500, round(
				CASE WHEN EXISTS (SELECT 1 FROM oauth_identities i
					WHERE i.user_id = rp.reporter_id AND i.provider = 'github') THEN 1500 ELSE 1000 END
				* 2 * (coalesce(st.upheld, 0) + 1)::numeric / (coalesce(st.upheld, 0) + coalesce(st.rejected, 0) + 2)))
		END AS weight
	FROM reports rp LEFT JOIN reporter_standing st ON st.user_id = rp.reporter_id
	WHERE rp.video_id IS NOT NULL AND rp.resolved_at IS NULL AND ($1::text[] IS NULL OR rp.video_id = ANY($1))
), grouped AS (
	SELECT video_id, count(*) AS reporters,
		CASE WHEN grp = 'new accounts' THEN least(1000, sum(weight)) ELSE max(weight) END AS weight
	FROM weighed GROUP BY video_id, grp
), report_weights AS (
	SELECT video_id, sum(weight)::int AS weight, sum(reporters)::int AS reporters
	FROM grouped GROUP BY video_id
)`

// OpenReportWeights is the weight of the open reports of each of videoIDs; videos without
// open reports are absent.
func (s *Store) OpenReportWeights(ctx context.Context, videoIDs []string) (map[string]Weight, error) {
	rows, err := s.pool.Query(ctx, reportWeights+` SELECT video_id, weight FROM report_weights`, videoIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Weight{}
	for rows.Next() {
		var id string
		var w Weight
		if err := rows.Scan(&id, &w); err != nil {
			return nil, err
		}
		out[id] = w
	}
	return out, rows.Err()
}

// ReportedVideo is a video with open reports and their weight.
type ReportedVideo struct {
	Video
	Weight    Weight
	Reporters int
}

// WeightCursor is where a page of the report queue ends: its last video's weight and id.
type WeightCursor struct {
	Weight Weight
	ID     string
}

// ReportQueue lists the videos with open reports, held or not, heaviest first (then by id),
// after the cursor. Removed videos have no open reports: removal resolves them.
func (s *Store) ReportQueue(ctx context.Context, after *WeightCursor, limit int) ([]ReportedVideo, error) {
	var afterWeight *Weight
	var afterID string
	if after != nil {
		afterWeight, afterID = &after.Weight, after.ID
	}
	rows, err := s.pool.Query(ctx, reportWeights+` SELECT w.weight, w.reporters, `+videoColumns+videoFrom+`
		JOIN report_weights w ON w.video_id = v.id
		WHERE $2::int IS NULL OR w.weight < $2 OR (w.weight = $2 AND v.id > $3)
		ORDER BY w.weight DESC, v.id LIMIT $4`, nil, afterWeight, afterID, limit)
	return scanAll(rows, err, func(row pgx.Row) (ReportedVideo, error) {
		var r ReportedVideo
		v, err := scanVideo(prefixRow{row, []any{&r.Weight, &r.Reporters}})
		r.Video = v
		return r, err
	})
}

// recordOutcome adds a decision on a target's open reports to their reporters' standing:
// upheld when the moderator acted on the target, rejected when they approved it. It runs in
// the decision's transaction, before the reports are resolved or deleted. column is
// "video_id" or "comment_id".
func recordOutcome(ctx context.Context, tx pgx.Tx, column string, targetID any, upheld bool) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO reporter_standing AS st (user_id, upheld, rejected)
		SELECT reporter_id, count(*) FILTER (WHERE $2), count(*) FILTER (WHERE NOT $2) FROM reports
		WHERE `+column+` = $1 AND resolved_at IS NULL AND reporter_id IS NOT NULL
		GROUP BY reporter_id
		ON CONFLICT (user_id) DO UPDATE SET upheld = st.upheld + excluded.upheld, rejected = st.rejected + excluded.rejected`,
		targetID, upheld)
	return err
}
