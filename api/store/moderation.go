package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report is one user's report of a video or a comment.
type Report struct {
	ID         int64
	ReporterID int64
	VideoID    string // set for a video report
	CommentID  int64  // set for a comment report
	Reason     string
	Note       string
	// ReporterPrefix is the network the report came from (IPv4 /24, IPv6 /48): reports of one
	// network count as one reporter.
	ReporterPrefix string
	CreatedAt      time.Time
}

const reportColumns = `id, coalesce(reporter_id, 0), coalesce(video_id, ''), coalesce(comment_id, 0), reason, note,
	reporter_prefix, created_at`

func scanReport(row pgx.Row) (Report, error) {
	var r Report
	err := row.Scan(&r.ID, &r.ReporterID, &r.VideoID, &r.CommentID, &r.Reason, &r.Note, &r.ReporterPrefix, &r.CreatedAt)
	return r, notFound(err)
}

// CreateReport records a report, one per reporter and target: when the reporter already
// reported the target it returns their first report, unchanged, and created false. Whether the
// reporter's account is younger than NewAccountAge is recorded with the report, by the
// database's clock.
func (s *Store) CreateReport(ctx context.Context, n Report) (Report, bool, error) {
	var target, conflict string
	var targetID any
	if n.VideoID != "" {
		target, targetID, conflict = "video_id", n.VideoID, "(video_id, reporter_id) WHERE video_id IS NOT NULL"
	} else {
		target, targetID, conflict = "comment_id", n.CommentID, "(comment_id, reporter_id) WHERE comment_id IS NOT NULL"
	}
	r, err := scanReport(s.pool.QueryRow(ctx, `
		INSERT INTO reports (reporter_id, `+target+`, reason, note, reporter_prefix, new_account)
		SELECT $1, $2, $3, $4, $5, u.created_at > now() - $6::interval FROM users u WHERE u.id = $1
		ON CONFLICT `+conflict+` DO NOTHING
		RETURNING `+reportColumns, n.ReporterID, targetID, n.Reason, n.Note, n.ReporterPrefix, NewAccountAge))
	if err == nil {
		return r, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return r, false, err
	}
	// The conflict: the reporter's earlier report. It cannot vanish in between except with
	// its target, which the caller then reports as not found.
	r, err = scanReport(s.pool.QueryRow(ctx, `SELECT `+reportColumns+` FROM reports
		WHERE `+target+` = $1 AND reporter_id = $2`, targetID, n.ReporterID))
	return r, false, err
}

// OpenReports counts the reports of a video no moderator has resolved yet, by reason. Each
// report is from a distinct reporter (one report per reporter and target), so the total is
// the number of distinct reporters.
func (s *Store) OpenReports(ctx context.Context, videoID string) (map[string]int, error) {
	counts, err := s.OpenReportsOf(ctx, []string{videoID})
	return counts[videoID], err
}

// OpenReportsOf is OpenReports for many videos at once: video id → reason → count. Videos
// without open reports are absent.
func (s *Store) OpenReportsOf(ctx context.Context, videoIDs []string) (map[string]map[string]int, error) {
	return countsByReason[string](s.pool.Query(ctx, `
		SELECT video_id, reason, count(*) FROM reports
		WHERE video_id = ANY($1) AND resolved_at IS NULL
		GROUP BY video_id, reason`, videoIDs))
}

// countsByReason reads the rows of a query of (target id, reason, count) as id → reason →
// count.
func countsByReason[ID comparable](rows pgx.Rows, err error) (map[ID]map[string]int, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[ID]map[string]int{}
	for rows.Next() {
		var id ID
		var reason string
		var n int
		if err := rows.Scan(&id, &reason, &n); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]int{}
		}
		out[id][reason] = n
	}
	return out, rows.Err()
}

// CommentRef is what a report needs to know about a comment.
type CommentRef struct {
	ID       int64
	VideoID  string
	AuthorID int64
	// Held by the term policy: only its author, the video's owner and moderators see it.
	Held bool
}

// CommentRef finds a comment by id.
func (s *Store) CommentRef(ctx context.Context, id int64) (CommentRef, error) {
	c := CommentRef{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT video_id, author_id, held FROM comments WHERE id = $1`, id).
		Scan(&c.VideoID, &c.AuthorID, &c.Held)
	return c, notFound(err)
}

// HeldQueue lists the videos held for review and not removed, held longest first, after the
// cursor (held time and id). It reads the videos_held index in order.
func (s *Store) HeldQueue(ctx context.Context, after *Cursor, limit int) ([]Video, error) {
	if after == nil {
		return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
			WHERE v.moderation = 'held' AND v.status <> 'removed'
			ORDER BY v.held_at, v.id LIMIT $1`, limit)
	}
	return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`
		WHERE v.moderation = 'held' AND v.status <> 'removed' AND (v.held_at, v.id) > ($2, $3)
		ORDER BY v.held_at, v.id LIMIT $1`, limit, after.Time, after.ID)
}

// Moderators' actions.
const (
	ActionApprove  = "approve"
	ActionRemove   = "remove"
	ActionRestrict = "restrict"
	// ActionHold hides a video from everyone but its owner and moderators until a later
	// decision; its reports stay open for that decision.
	ActionHold = "hold"
)

// Decision is a moderator's decision on a video.
type Decision struct {
	VideoID     string
	ModeratorID int64
	Moderator   string // the moderator's username, kept in the audit log
	Action      string
	Labels      []string // the content warnings of ActionRestrict
	Note        string
}

// ErrNotRestorable means a decision would bring back a removed video that was never
// published, so there is nothing to show.
var ErrNotRestorable = errors.New("the video was removed before it was published")

// ErrRemovedNotHeld means a hold of a removed video: it is hidden already, and a hold would not
// bring it back.
var ErrRemovedNotHeld = errors.New("the video is removed")

// Decide applies a decision and writes its audit entry in one transaction, and returns the
// video after it. A hold keeps the video's open reports for the decision that ends it; every
// other decision resolves them and ends the hold:
//   - hold: moderation held, for review (ErrRemovedNotHeld on a removed video);
//   - approve: moderation ok, no content warnings;
//   - restrict: moderation restricted, with the decision's labels as content warnings;
//   - remove: status removed (nobody but the owner and moderators sees it, its media are no
//     longer served), and its frame hashes join the reference set of re-upload matching.
//
// Approving or restricting a removed video reinstates it (a successful appeal), taking its
// hashes out of the reference set; ErrNotRestorable when it was never published.
func (s *Store) Decide(ctx context.Context, d Decision) (Video, error) {
	var out Video
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status string
		var published *time.Time
		err := tx.QueryRow(ctx, `SELECT status, published_at FROM videos WHERE id = $1 FOR UPDATE`, d.VideoID).
			Scan(&status, &published)
		if err != nil {
			return notFound(err)
		}
		if d.Action == ActionHold && status == StatusRemoved {
			return ErrRemovedNotHeld
		}
		// Approving or restricting ends a hold and whatever screening held.
		clears := d.Action == ActionApprove || d.Action == ActionRestrict
		reinstate := status == StatusRemoved && clears
		if reinstate && published == nil {
			return ErrNotRestorable
		}
		labels := d.Labels
		if labels == nil {
			labels = []string{}
		}
		switch d.Action {
		case ActionHold:
			// held_at stays when the video was held already: the queue's order is by waiting time.
			_, err = tx.Exec(ctx, `UPDATE videos SET moderation = 'held', held_reason = $2,
				held_at = coalesce(held_at, now()), updated_at = now() WHERE id = $1`, d.VideoID, withNote("held by a moderator", d.Note))
		case ActionApprove:
			_, err = tx.Exec(ctx, `UPDATE videos SET moderation = 'ok', held_reason = '', held_at = NULL,
				content_warnings = '{}', status = CASE WHEN status = 'removed' THEN 'ready' ELSE status END,
				updated_at = now() WHERE id = $1`, d.VideoID)
		case ActionRestrict:
			_, err = tx.Exec(ctx, `UPDATE videos SET moderation = 'restricted', held_reason = '', held_at = NULL,
				content_warnings = $2, status = CASE WHEN status = 'removed' THEN 'ready' ELSE status END,
				updated_at = now() WHERE id = $1`, d.VideoID, labels)
		case ActionRemove:
			// The reason is what the owner reads about the removal.
			reason := withNote("removed by a moderator", d.Note)
			// A removed video wants no job: a submission still due is closed.
			if _, err = tx.Exec(ctx, `UPDATE videos SET status = 'removed', moderation = 'ok', held_reason = $2,
				held_at = NULL, submit_due_at = NULL, updated_at = now() WHERE id = $1`, d.VideoID, reason); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO removed_frame_hashes (video_id, idx, hash)
				SELECT video_id, idx, hash FROM video_frame_hashes WHERE video_id = $1
				ON CONFLICT DO NOTHING`, d.VideoID)
		default:
			return fmt.Errorf("unknown moderation action %q", d.Action)
		}
		if err != nil {
			return err
		}
		if clears {
			if err := passHeldScreening(ctx, tx, d.VideoID); err != nil {
				return err
			}
		}
		if reinstate {
			if _, err := tx.Exec(ctx, `DELETE FROM removed_frame_hashes WHERE video_id = $1`, d.VideoID); err != nil {
				return err
			}
		}
		if d.Action != ActionHold {
			if err := recordOutcome(ctx, tx, "video_id", d.VideoID, d.Action != ActionApprove); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE reports SET resolved_at = now()
				WHERE video_id = $1 AND resolved_at IS NULL`, d.VideoID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO moderation_audit (moderator_id, moderator, action, video_id, labels, note)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.ModeratorID, d.Moderator, d.Action, d.VideoID, labels, d.Note); err != nil {
			return err
		}
		out, err = scanVideo(tx.QueryRow(ctx, `SELECT `+videoColumns+videoFrom+`WHERE v.id = $1`, d.VideoID))
		return err
	})
	return out, err
}

// SaveFrameHashes stores a video's frame hashes in frame order. Saving them again (the job's
// end is applied more than once) keeps the first set.
func (s *Store) SaveFrameHashes(ctx context.Context, videoID string, hashes []uint64) error {
	signed := make([]int64, len(hashes))
	for i, h := range hashes {
		signed[i] = int64(h) // bigint holds the 64 bits as they are
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO video_frame_hashes (video_id, idx, hash)
		SELECT $1, t.i - 1, t.h FROM unnest($2::bigint[]) WITH ORDINALITY AS t(h, i)
		ON CONFLICT DO NOTHING`, videoID, signed)
	return err
}

// HasFrameHashes reports whether a video's frame hashes are stored.
func (s *Store) HasFrameHashes(ctx context.Context, videoID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM video_frame_hashes WHERE video_id = $1)`, videoID).Scan(&ok)
	return ok, err
}

// EachRemovedHashes calls fn with the frame hashes of every removed video, one video at a
// time, streaming, so memory stays that of the longest video however many were removed. The
// slice is reused: fn must not keep it.
func (s *Store) EachRemovedHashes(ctx context.Context, fn func(videoID string, hashes []uint64) error) error {
	rows, err := s.pool.Query(ctx, `SELECT video_id, hash FROM removed_frame_hashes ORDER BY video_id, idx`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var cur string
	var hashes []uint64
	for rows.Next() {
		var id string
		var h int64
		if err := rows.Scan(&id, &h); err != nil {
			return err
		}
		if id != cur && len(hashes) > 0 {
			if err := fn(cur, hashes); err != nil {
				return err
			}
			hashes = hashes[:0]
		}
		cur = id
		hashes = append(hashes, uint64(h))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(hashes) > 0 {
		return fn(cur, hashes)
	}
	return nil
}

// QueuedComment is a comment awaiting a moderator: held by the term policy, or reported.
type QueuedComment struct {
	Comment
	VideoTitle string
	Reports    map[string]int // open reports by reason
}

// CommentQueue lists held comments and comments with open reports, oldest first, after the
// cursor (creation time and comment id).
func (s *Store) CommentQueue(ctx context.Context, after *Cursor, limit int) ([]QueuedComment, error) {
	afterTime, afterID, err := serialCursor(after)
	if err != nil {
		return nil, err
	}
	// $1 = 0 and $2 = true: moderators see held replies in the reply counts.
	rows, err := s.pool.Query(ctx, `SELECT v.title, `+commentColumns+commentFrom+`
		JOIN videos v ON v.id = c.video_id
		WHERE (c.held OR EXISTS (SELECT 1 FROM reports rp WHERE rp.comment_id = c.id AND rp.resolved_at IS NULL))
			AND ($3::timestamptz IS NULL OR (c.created_at, c.id) > ($3, $4))
		ORDER BY c.created_at, c.id LIMIT $5`, 0, true, afterTime, afterID, limit)
	out, err := scanAll(rows, err, func(row pgx.Row) (QueuedComment, error) {
		q := QueuedComment{Reports: map[string]int{}}
		c, err := scanComment(prefixRow{row, []any{&q.VideoTitle}})
		q.Comment = c
		return q, err
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]int64, len(out))
	for i, q := range out {
		ids[i] = q.ID
	}
	reports, err := s.openCommentReportsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if r := reports[out[i].ID]; r != nil {
			out[i].Reports = r
		}
	}
	return out, nil
}

// CommentDecision is a moderator's decision on a comment.
type CommentDecision struct {
	CommentID   int64
	ModeratorID int64
	Moderator   string
	Action      string // ActionApprove or ActionRemove
	Note        string
}

// DecideComment applies a decision and writes it to the audit log in one transaction. Approving
// publishes a held comment (it starts counting on its video) and resolves its reports; removing
// deletes it with its replies.
func (s *Store) DecideComment(ctx context.Context, d CommentDecision) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var videoID string
		var held bool
		err := tx.QueryRow(ctx, `SELECT video_id, held FROM comments WHERE id = $1 FOR UPDATE`, d.CommentID).Scan(&videoID, &held)
		if err != nil {
			return notFound(err)
		}
		if err := recordOutcome(ctx, tx, "comment_id", d.CommentID, d.Action == ActionRemove); err != nil {
			return err
		}
		switch d.Action {
		case ActionApprove:
			if held {
				if _, err := tx.Exec(ctx, `UPDATE comments SET held = false WHERE id = $1`, d.CommentID); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE videos SET comment_count = comment_count + 1 WHERE id = $1`, videoID); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE reports SET resolved_at = now() WHERE comment_id = $1 AND resolved_at IS NULL`, d.CommentID); err != nil {
				return err
			}
		case ActionRemove:
			if err := deleteComment(ctx, tx, d.CommentID); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown comment decision %q", d.Action)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO moderation_audit (moderator_id, moderator, action, video_id, comment_id, note)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.ModeratorID, d.Moderator, d.Action, videoID, d.CommentID, d.Note)
		return err
	})
}

// withNote is what the owner reads about a decision: what happened, then the moderator's note.
func withNote(what, note string) string {
	if note == "" {
		return what
	}
	return what + ": " + note
}
