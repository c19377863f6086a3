package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// Report targets as report_weights names them.
const (
	TargetVideo   = "video"
	TargetComment = "comment"
)

// reportWeights is a WITH clause naming report_weights (target_type, target_id, weight,
// reporters): the weight of the open reports of each reported video (TargetVideo, its id) and
// comment (TargetComment, its id in decimal), counting the reports rp that match the SQL
// condition which. Videos and comments weigh by the one rule (README "Reports with weight"):
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
//   - the weight of a target is the sum over groups.
//
// Each report's weight is rounded to a thousandth before it is summed, so equal inputs give
// equal sums everywhere.
func reportWeights(which string) string {
	return `
WITH weighed AS (
	SELECT CASE WHEN rp.video_id IS NOT NULL THEN '` + TargetVideo + `' ELSE '` + TargetComment + `' END AS target_type,
		coalesce(rp.video_id, rp.comment_id::text) AS target_id,
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
	WHERE rp.resolved_at IS NULL AND (` + which + `)
), grouped AS (
	SELECT target_type, target_id, count(*) AS reporters,
		CASE WHEN grp = 'new accounts' THEN least(1000, sum(weight)) ELSE max(weight) END AS weight
	FROM weighed GROUP BY target_type, target_id, grp
), report_weights AS (
	SELECT target_type, target_id, sum(weight)::int AS weight, sum(reporters)::int AS reporters
	FROM grouped GROUP BY target_type, target_id
)`
}

// OpenReportWeights is the weight of the open reports of each of videoIDs; videos without
// open reports are absent.
func (s *Store) OpenReportWeights(ctx context.Context, videoIDs []string) (map[string]Weight, error) {
	rows, err := s.pool.Query(ctx, reportWeights(`rp.video_id = ANY($1)`)+` SELECT target_id, weight FROM report_weights`, videoIDs)
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

// OpenCommentReportWeight is the weight of a comment's open reports: 0 when it has none.
func (s *Store) OpenCommentReportWeight(ctx context.Context, commentID int64) (Weight, error) {
	var w Weight
	err := s.pool.QueryRow(ctx, reportWeights(`rp.comment_id = $1`)+` SELECT coalesce(sum(weight), 0)::int FROM report_weights`,
		commentID).Scan(&w)
	return w, err
}

// HoldReportedComment holds a comment for review, as enough weight of reports does: only its
// author, its video's owner and moderators see it until a moderator decides, and it leaves its
// video's comment_count. held is false when it was held already.
func (s *Store) HoldReportedComment(ctx context.Context, commentID int64) (held bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var videoID string
		err := tx.QueryRow(ctx, `UPDATE comments SET held = true WHERE id = $1 AND NOT held RETURNING video_id`, commentID).Scan(&videoID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		held = true
		_, err = tx.Exec(ctx, `UPDATE videos SET comment_count = comment_count - 1 WHERE id = $1`, videoID)
		return err
	})
	return held, err
}

// ReportedTarget is a video or a comment with open reports, and their weight.
type ReportedTarget struct {
	Type      string // TargetVideo or TargetComment
	ID        string // the video's id, or the comment's in decimal
	Weight    Weight
	Reporters int
	Reports   map[string]int // open reports by reason
	// Video is the reported video, or the video the reported comment is on.
	Video   Video
	Comment *Comment // the reported comment; nil for a video
}

// WeightCursor is where a page of the report queue ends: its last target's weight, type and id.
type WeightCursor struct {
	Weight Weight
	Type   string
	ID     string
}

// ReportQueue lists the videos and comments with open reports, held or not, heaviest first
// (then by type and id), after the cursor. Removed videos and comments have no open reports:
// removal resolves or deletes them. A target deleted while the page is read is left out.
func (s *Store) ReportQueue(ctx context.Context, after *WeightCursor, limit int) ([]ReportedTarget, error) {
	var afterWeight *Weight
	var afterType, afterID string
	if after != nil {
		afterWeight, afterType, afterID = &after.Weight, after.Type, after.ID
	}
	rows, err := s.pool.Query(ctx, reportWeights(`true`)+` SELECT target_type, target_id, weight, reporters FROM report_weights
		WHERE $1::int IS NULL OR weight < $1 OR (weight = $1 AND (target_type, target_id) > ($2, $3))
		ORDER BY weight DESC, target_type, target_id LIMIT $4`, afterWeight, afterType, afterID, limit)
	page, err := scanAll(rows, err, func(row pgx.Row) (ReportedTarget, error) {
		var t ReportedTarget
		err := row.Scan(&t.Type, &t.ID, &t.Weight, &t.Reporters)
		return t, err
	})
	if err != nil || len(page) == 0 {
		return page, err
	}
	return s.fillReportedTargets(ctx, page)
}

// fillReportedTargets reads the videos, comments and reports by reason of a page of the
// report queue.
func (s *Store) fillReportedTargets(ctx context.Context, page []ReportedTarget) ([]ReportedTarget, error) {
	var videoIDs []string
	var commentIDs []int64
	for _, t := range page {
		if t.Type == TargetVideo {
			videoIDs = append(videoIDs, t.ID)
		} else if id, err := strconv.ParseInt(t.ID, 10, 64); err == nil {
			commentIDs = append(commentIDs, id)
		}
	}
	// $1 = 0 and $2 = true: moderators see held replies in the reply counts.
	rows, err := s.pool.Query(ctx, `SELECT `+commentColumns+commentFrom+`WHERE c.id = ANY($3)`, 0, true, commentIDs)
	comments, err := scanAll(rows, err, scanComment)
	if err != nil {
		return nil, err
	}
	commentByID := map[string]*Comment{}
	for i, c := range comments {
		commentByID[strconv.FormatInt(c.ID, 10)] = &comments[i]
		videoIDs = append(videoIDs, c.VideoID)
	}
	videos, err := s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+` WHERE v.id = ANY($1)`, videoIDs)
	if err != nil {
		return nil, err
	}
	videoByID := map[string]Video{}
	for _, v := range videos {
		videoByID[v.ID] = v
	}
	videoReports, err := s.OpenReportsOf(ctx, videoIDs)
	if err != nil {
		return nil, err
	}
	commentReports, err := s.openCommentReportsOf(ctx, commentIDs)
	if err != nil {
		return nil, err
	}
	out := page[:0]
	for _, t := range page {
		if t.Type == TargetVideo {
			t.Reports = videoReports[t.ID]
		} else if t.Comment = commentByID[t.ID]; t.Comment != nil {
			t.Reports = commentReports[t.Comment.ID]
		} else {
			continue
		}
		videoID := t.ID
		if t.Comment != nil {
			videoID = t.Comment.VideoID
		}
		var ok bool
		if t.Video, ok = videoByID[videoID]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// openCommentReportsOf is the open reports of comments by reason: comment id → reason →
// count. Comments without open reports are absent.
func (s *Store) openCommentReportsOf(ctx context.Context, commentIDs []int64) (map[int64]map[string]int, error) {
	return countsByReason[int64](s.pool.Query(ctx, `
		SELECT comment_id, reason, count(*)::int FROM reports
		WHERE comment_id = ANY($1) AND resolved_at IS NULL GROUP BY comment_id, reason`, commentIDs))
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
