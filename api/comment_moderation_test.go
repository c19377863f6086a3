package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func TestCommentModeration(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Moderation.TermPolicy = []TermRule{{"giveaway", TermHold}} }))
	owner, author, reporter, mod := e.user("owner"), e.user("author"), e.user("reporter"), e.moderator()
	id := e.readyVideo(owner, store.Public, "talk")
	comments := "/api/v1/videos/" + id + "/comments"

	var held, rude oapi.Comment
	e.must(http.StatusCreated, "POST", comments, author.Token, map[string]any{"body": "join my giveaway"}).decode(t, &held)
	e.must(http.StatusCreated, "POST", comments, author.Token, map[string]any{"body": "you are all wrong"}).decode(t, &rude)
	if held.Held == nil || !*held.Held {
		t.Fatalf("comment with a held term: %+v", held)
	}
	e.must(http.StatusCreated, "POST", "/api/v1/reports", reporter.Token, map[string]any{
		"targetType": "comment", "targetId": rude.Id, "reason": "harassment",
	})

	// Only moderators read the queue.
	e.must(http.StatusUnauthorized, "GET", "/api/v1/moderation/comments", "", nil)
	e.must(http.StatusForbidden, "GET", "/api/v1/moderation/comments", owner.Token, nil)
	var queue oapi.CommentQueuePage
	e.must(http.StatusOK, "GET", "/api/v1/moderation/comments", mod.Token, nil).decode(t, &queue)
	if len(queue.Items) != 2 || queue.Items[0].Comment.Id != held.Id || !queue.Items[0].Held ||
		queue.Items[1].Comment.Id != rude.Id || queue.Items[1].Reports["harassment"] != 1 || queue.Items[1].VideoTitle != "talk" {
		t.Fatalf("queue = %+v", queue.Items)
	}
	// Paging one at a time gives the same order.
	var first oapi.CommentQueuePage
	e.must(http.StatusOK, "GET", "/api/v1/moderation/comments?limit=1", mod.Token, nil).decode(t, &first)
	var second oapi.CommentQueuePage
	e.must(http.StatusOK, "GET", "/api/v1/moderation/comments?limit=1&cursor="+*first.NextCursor, mod.Token, nil).decode(t, &second)
	if first.Items[0].Comment.Id != held.Id || second.Items[0].Comment.Id != rude.Id {
		t.Fatalf("paged queue: %v then %v", first.Items[0].Comment.Id, second.Items[0].Comment.Id)
	}

	decide := "/api/v1/moderation/comments/%s/decision"
	path := func(c oapi.Comment) string { return fmt.Sprintf(decide, c.Id) }
	e.must(http.StatusForbidden, "POST", path(held), author.Token, map[string]any{"action": "approve"})
	e.must(http.StatusBadRequest, "POST", path(held), mod.Token, map[string]any{"action": "restrict"})
	e.must(http.StatusNotFound, "POST", fmt.Sprintf(decide, "999999"), mod.Token, map[string]any{"action": "approve"})

	countOf := func() int64 { return e.video(id).Comments }
	if n := countOf(); n != 1 {
		t.Fatalf("comment count with one held comment = %d, want 1", n)
	}
	var approved oapi.Comment
	e.must(http.StatusOK, "POST", path(held), mod.Token, map[string]any{"action": "approve", "note": "a real giveaway"}).decode(t, &approved)
	if approved.Held != nil && *approved.Held {
		t.Fatal("approved comment still held")
	}
	if n := countOf(); n != 2 {
		t.Fatalf("comment count after approval = %d, want 2", n)
	}
	var visible oapi.CommentPage
	e.must(http.StatusOK, "GET", comments, "", nil).decode(t, &visible)
	if len(visible.Comments) != 2 {
		t.Fatalf("anonymous readers see %d comments after approval, want 2", len(visible.Comments))
	}

	e.must(http.StatusNoContent, "POST", path(rude), mod.Token, map[string]any{"action": "remove"})
	if n := countOf(); n != 1 {
		t.Fatalf("comment count after removal = %d, want 1", n)
	}
	e.must(http.StatusOK, "GET", "/api/v1/moderation/comments", mod.Token, nil).decode(t, &queue)
	if len(queue.Items) != 0 {
		t.Fatalf("queue after decisions = %+v", queue.Items)
	}
	var audit oapi.AuditPage
	e.must(http.StatusOK, "GET", "/api/v1/moderation/audit", mod.Token, nil).decode(t, &audit)
	if len(audit.Entries) != 2 || audit.Entries[0].Action != "remove" || audit.Entries[0].CommentId == nil ||
		*audit.Entries[0].CommentId != rude.Id || audit.Entries[1].VideoId != id || *audit.Entries[1].Note != "a real giveaway" {
		t.Fatalf("audit = %+v", audit.Entries)
	}
}
