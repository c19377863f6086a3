package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Actions of the audit log besides the decisions (ActionApprove, ActionRemove, ActionRestrict,
// ActionHold).
const (
	// ActionSetRole is an operator changing an account's role (`sunomi users set-role`).
	ActionSetRole = "set-role"
)

// AuditActions are the actions the audit log records, in the order people read them.
var AuditActions = []string{ActionHold, ActionApprove, ActionRestrict, ActionRemove, ActionSetRole}

// AuditEntry is one moderator action of the audit log.
type AuditEntry struct {
	ID        int64
	Moderator string
	Action    string
	VideoID   string // the video decided on, or the comment's video; "" for ActionSetRole
	CommentID *int64 // set for a decision on a comment
	Subject   string // the account whose role changed, for ActionSetRole
	Labels    []string
	Note      string
	CreatedAt time.Time
}

// AuditFilter narrows the audit log; zero fields do not filter.
type AuditFilter struct {
	Moderator string     // the moderator's username when they acted
	Action    string     // one of AuditActions
	From      *time.Time // entries at or after
	To        *time.Time // entries before
}

// Audit lists the audit log newest first, after the cursor (time and entry id), filtered.
// Each filter is a condition of its own, so that the moderator and action filters read their
// indexes (moderation_audit_moderator, moderation_audit_action) in order.
func (s *Store) Audit(ctx context.Context, f AuditFilter, after *Cursor, limit int) ([]AuditEntry, error) {
	var where []string
	var args []any
	cond := func(sql string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(sql, "$", "$"+strconv.Itoa(len(args))))
	}
	if f.Moderator != "" {
		cond("moderator = $", f.Moderator)
	}
	if f.Action != "" {
		cond("action = $", f.Action)
	}
	if f.From != nil {
		cond("created_at >= $", *f.From)
	}
	if f.To != nil {
		cond("created_at < $", *f.To)
	}
	if after != nil {
		afterTime, afterID, err := serialCursor(after)
		if err != nil {
			return nil, err
		}
		args = append(args, afterTime, afterID)
		where = append(where, "(created_at, id) < ($"+strconv.Itoa(len(args)-1)+", $"+strconv.Itoa(len(args))+")")
	}
	sql := `SELECT id, moderator, action, coalesce(video_id, ''), comment_id, coalesce(subject, ''), labels, note, created_at
		FROM moderation_audit`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	sql += " ORDER BY created_at DESC, id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, sql, args...)
	return scanAll(rows, err, func(row pgx.Row) (AuditEntry, error) {
		var a AuditEntry
		err := row.Scan(&a.ID, &a.Moderator, &a.Action, &a.VideoID, &a.CommentID, &a.Subject, &a.Labels, &a.Note, &a.CreatedAt)
		return a, err
	})
}

// ChangeRole gives the named account role and, when that changes it, writes the change to the
// audit log in the same transaction, as done by by (an operator, who may have no account). It
// returns the account before and after.
func (s *Store) ChangeRole(ctx context.Context, username, role, by string) (before, after User, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1 FOR UPDATE`, username))
		if err != nil || before.Role == role {
			after = before
			return err
		}
		if after, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET role = $2 WHERE id = $1 RETURNING `+userColumns,
			before.ID, role)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO moderation_audit (moderator, action, subject, note) VALUES ($1, $2, $3, $4)`,
			by, ActionSetRole, username, before.Role+" → "+role)
		return err
	})
	return before, after, err
}

// serialCursor is the keyset of a list ordered by time and a serial id: nil (and 0) for the
// first page, so that a query can test "$n::timestamptz IS NULL".
func serialCursor(after *Cursor) (any, int64, error) {
	if after == nil {
		return nil, 0, nil
	}
	id, err := strconv.ParseInt(after.ID, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("cursor id %q: %w", after.ID, err)
	}
	return after.Time, id, nil
}
