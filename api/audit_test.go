package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// auditEntries follows the audit log's pages for query (filters and limit) to the end.
func (e *env) auditEntries(token string, query url.Values) []oapi.AuditEntry {
	e.t.Helper()
	var entries []oapi.AuditEntry
	for _, page := range allPages(e, "/api/v1/moderation/audit?"+query.Encode(), token, 20, func(p oapi.AuditPage) *string { return p.NextCursor }) {
		entries = append(entries, page.Entries...)
	}
	return entries
}

// auditSummary is "moderator action target" for each entry, to compare lists at a glance.
func auditSummary(entries []oapi.AuditEntry) []string {
	return mapped(entries, func(a oapi.AuditEntry) string {
		target := ""
		switch {
		case a.CommentId != nil:
			target = "comment " + *a.CommentId
		case a.VideoId != nil:
			target = "video " + *a.VideoId
		case a.Subject != nil:
			target = "user " + *a.Subject
		}
		return fmt.Sprintf("%s %s %s", a.Moderator, a.Action, target)
	})
}

// postComment comments on a video as author and returns the comment's id.
func (e *env) postComment(author oapi.Session, videoID, body string) string {
	e.t.Helper()
	var c oapi.Comment
	e.must(http.StatusCreated, "POST", "/api/v1/videos/"+videoID+"/comments", author.Token, map[string]any{"body": body}).decode(e.t, &c)
	return c.Id
}

// TestAuditLog: every kind of moderator action lands in the audit log, which filters by
// moderator, action and time, and pages through each filtered list.
func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, author := e.user("owner"), e.user("author")
	ann, bob := e.moderator(), e.moderator()
	a := e.readyVideo(owner, store.Public, "a")
	b := e.readyVideo(owner, store.Public, "b")
	deleted := e.postComment(author, a, "first")
	decided := e.postComment(author, a, "second")
	e.report(e.user("r"), "comment", decided, "spam")

	e.decide(ann, a, map[string]any{"action": "hold", "note": "looking"})
	e.decide(bob, a, map[string]any{"action": "approve"})
	e.decide(ann, b, map[string]any{"action": "restrict", "labels": []string{"gore"}})
	e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+deleted, ann.Token, nil)
	e.must(http.StatusNoContent, "POST", "/api/v1/moderation/comments/"+decided+"/decision", bob.Token, map[string]any{"action": "remove"})
	if _, _, err := e.db.ChangeRole(ctx, author.User.Username, store.RoleModerator, "operator root"); err != nil {
		t.Fatal(err)
	}

	all := []string{
		"operator root set-role user " + author.User.Username,
		bob.User.Username + " remove comment " + decided,
		ann.User.Username + " remove comment " + deleted,
		ann.User.Username + " restrict video " + b,
		bob.User.Username + " approve video " + a,
		ann.User.Username + " hold video " + a,
	}
	entries := e.auditEntries(ann.Token, url.Values{"limit": {"2"}})
	if got := auditSummary(entries); !slices.Equal(got, all) {
		t.Fatalf("audit log = %q, want newest first %q", got, all)
	}
	if role := entries[0]; role.VideoId != nil || role.Note == nil || *role.Note != "user → moderator" {
		t.Errorf("set-role entry = %+v, want no video and the note user → moderator", role)
	}
	if hold := entries[5]; hold.Note == nil || *hold.Note != "looking" {
		t.Errorf("hold entry = %+v, want the note", hold)
	}
	if c := entries[2]; c.VideoId == nil || *c.VideoId != a {
		t.Errorf("comment removal entry = %+v, want the comment's video %s", c, a)
	}

	t.Run("filters", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			query url.Values
			want  []string
		}{
			{"moderator", url.Values{"moderator": {ann.User.Username}}, []string{all[2], all[3], all[5]}},
			{"action", url.Values{"action": {"remove"}}, []string{all[1], all[2]}},
			{"moderator and action", url.Values{"moderator": {bob.User.Username}, "action": {"remove"}}, []string{all[1]}},
			{"set-role", url.Values{"action": {"set-role"}}, []string{all[0]}},
			{"unknown moderator", url.Values{"moderator": {"nobody"}}, nil},
			{"empty filters", url.Values{"moderator": {""}, "action": {""}, "from": {""}, "to": {""}}, all},
		} {
			t.Run(c.name, func(t *testing.T) {
				for _, limit := range []string{"1", "100"} {
					c.query.Set("limit", limit)
					if got := auditSummary(e.auditEntries(bob.Token, c.query)); !slices.Equal(got, c.want) {
						t.Errorf("limit %s: %q, want %q", limit, got, c.want)
					}
				}
			})
		}
	})

	t.Run("dates", func(t *testing.T) {
		// Each entry i (oldest = 0) moved to noon of 2026-03-(1+i), UTC.
		for i := range entries {
			day := time.Date(2026, 3, len(entries)-i, 12, 0, 0, 0, time.UTC)
			if _, err := e.db.Pool().Exec(ctx, `UPDATE moderation_audit SET created_at = $2 WHERE id = $1`, entries[i].Id, day); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name     string
			from, to string
			want     []string
		}{
			{"one day", "2026-03-02", "2026-03-02", []string{all[4]}},
			{"from a date on", "2026-03-05", "", []string{all[0], all[1]}},
			{"up to a date, included", "", "2026-03-02", []string{all[4], all[5]}},
			{"RFC 3339, to excluded", "2026-03-02T12:00:00Z", "2026-03-04T12:00:00Z", []string{all[3], all[4]}},
			{"another zone", "2026-03-06T13:00:00+02:00", "", []string{all[0]}},
			{"nothing then", "2025-01-01", "2025-12-31", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				q := url.Values{"limit": {"1"}, "from": {c.from}, "to": {c.to}}
				if got := auditSummary(e.auditEntries(ann.Token, q)); !slices.Equal(got, c.want) {
					t.Errorf("from %q to %q: %q, want %q", c.from, c.to, got, c.want)
				}
			})
		}
	})

	t.Run("bad filters", func(t *testing.T) {
		for _, c := range []struct{ query, field string }{
			{"action=ban", "action"},
			{"from=yesterday", "from"},
			{"to=2026-13-01", "to"},
			{"from=2026-03-02&to=2026-03-01", "to"},
			{"from=2026-03-02T10:00:00Z&to=2026-03-02T10:00:00Z", "to"},
			{"cursor=garbage", "cursor"},
			{"cursor=" + encodeCursor(store.Cursor{Time: time.Now(), ID: "x"}), "cursor"},
			{"limit=0", "limit"},
			{"limit=101", "limit"},
		} {
			t.Run(c.query, func(t *testing.T) {
				body := e.must(http.StatusBadRequest, "GET", "/api/v1/moderation/audit?"+c.query, ann.Token, nil).errorBody(t)
				if body.Message == "" || body.Fields == nil || (*body.Fields)[c.field] == "" {
					t.Errorf("error %+v does not explain %s", body, c.field)
				}
			})
		}
	})

	t.Run("moderators only", func(t *testing.T) {
		e.must(http.StatusUnauthorized, "GET", "/api/v1/moderation/audit?action=remove", "", nil).errorBody(t)
		// author is a moderator now; owner never was.
		e.must(http.StatusForbidden, "GET", "/api/v1/moderation/audit?action=remove", owner.Token, nil).errorBody(t)
		e.must(http.StatusForbidden, "GET", "/api/v1/moderation/audit?action=ban", owner.Token, nil).errorBody(t)
	})
}

// TestModeratorCommentDeletionAudited: a moderator deleting someone else's comment through
// DELETE /comments/{id} is a moderator action like a decision, and is audited; authors and
// video owners deleting comments are not moderating.
func TestModeratorCommentDeletionAudited(t *testing.T) {
	e := newEnv(t)
	owner, author, mod := e.user("owner"), e.user("author"), e.moderator()
	id := e.readyVideo(owner, store.Public, "talk")
	own := e.postComment(author, id, "mine")
	onOwnersVideo := e.postComment(author, id, "the owner's to delete")
	moderated := e.postComment(author, id, "rude")
	e.report(e.user("r"), "comment", moderated, "harassment")
	modsOwn := e.postComment(mod, id, "the moderator's own")

	e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+own, author.Token, nil)
	e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+onOwnersVideo, owner.Token, nil)
	e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+modsOwn, mod.Token, nil)
	e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+moderated, mod.Token, nil)

	got := auditSummary(e.auditEntries(mod.Token, url.Values{}))
	if want := []string{mod.User.Username + " remove comment " + moderated}; !slices.Equal(got, want) {
		t.Errorf("audit log = %q, want only the moderator's removal %q", got, want)
	}
	if n := e.sqlCount(`SELECT count(*) FROM comments WHERE video_id = $1`, id); n != 0 {
		t.Errorf("%d comments left, want 0", n)
	}
	if n := e.video(id).Comments; n != 0 {
		t.Errorf("comment count %d, want 0", n)
	}
}

// TestModeratorHold: a moderator holds a reported video for review; its reports stay open for
// the decision that ends the hold, and nobody's standing changes until then.
func TestModeratorHold(t *testing.T) {
	e := newEnv(t)
	owner, mod, reporter := e.user("owner"), e.moderator(), e.user("r")
	id := e.readyVideo(owner, store.Public, "suspicious")
	e.report(reporter, "video", id, "misleading")

	e.must(http.StatusForbidden, "POST", "/api/v1/moderation/videos/"+id+"/decision", owner.Token, map[string]any{"action": "hold"})
	body := e.must(http.StatusBadRequest, "POST", "/api/v1/moderation/videos/"+id+"/decision", mod.Token,
		map[string]any{"action": "hold", "labels": []string{"x"}}).errorBody(t)
	if body.Fields == nil || (*body.Fields)["labels"] == "" {
		t.Errorf("hold with labels: %+v, want the labels named", body)
	}

	v := e.decide(mod, id, map[string]any{"action": "hold", "note": "checking the source"})
	if v.Moderation == nil || v.Moderation.State != oapi.ModerationStateHeld || v.Moderation.Reason == nil ||
		*v.Moderation.Reason != "held by a moderator: checking the source" {
		t.Fatalf("after hold: moderation %+v", v.Moderation)
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/"+id, "", nil)
	if open, err := e.db.OpenReports(context.Background(), id); err != nil || open["misleading"] != 1 {
		t.Errorf("open reports after a hold = %v, %v; want the report still open", open, err)
	}
	if n := e.sqlCount(`SELECT count(*) FROM reporter_standing`); n != 0 {
		t.Errorf("%d standings after a hold, want none", n)
	}
	var queue oapi.QueuePage
	e.must(http.StatusOK, "GET", "/api/v1/moderation/queue", mod.Token, nil).decode(t, &queue)
	if len(queue.Items) != 1 || queue.Items[0].Video.Id != id || queue.Items[0].Reports["misleading"] != 1 {
		t.Fatalf("held queue = %+v, want the held video with its report", queue.Items)
	}
	heldAt := queue.Items[0].HeldAt
	// Holding again keeps its place in the queue.
	e.decide(mod, id, map[string]any{"action": "hold"})
	e.must(http.StatusOK, "GET", "/api/v1/moderation/queue", mod.Token, nil).decode(t, &queue)
	if !queue.Items[0].HeldAt.Equal(heldAt) {
		t.Errorf("held at %v after a second hold, want %v", queue.Items[0].HeldAt, heldAt)
	}

	e.decide(mod, id, map[string]any{"action": "remove"})
	e.must(http.StatusConflict, "POST", "/api/v1/moderation/videos/"+id+"/decision", mod.Token, map[string]any{"action": "hold"}).errorBody(t)
	var upheld int
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT upheld FROM reporter_standing WHERE user_id = $1`,
		userID(t, reporter)).Scan(&upheld); err != nil || upheld != 1 {
		t.Errorf("reporter's upheld reports after the removal = %d, %v; want 1", upheld, err)
	}
}
