package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

func TestComments(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) {
		c.Moderation.TermPolicy = []TermRule{{Term: "spoiler", Action: TermHold}, {Term: "badword", Action: TermReject}}
	}))
	owner, alice, bob, mod := e.user("owner"), e.user("alice"), e.user("bob"), e.moderator()
	id := e.readyVideo(owner, store.Public, "Commented")
	path := "/api/v1/videos/" + id + "/comments"
	post := func(token string, body any) oapi.Comment {
		t.Helper()
		var c oapi.Comment
		e.must(http.StatusCreated, "POST", path, token, body).decode(t, &c)
		return c
	}
	count := func() int64 { t.Helper(); return e.apiVideo(id, "").Stats.Comments }

	c1 := post(alice.Token, map[string]any{"body": "  First!  "})
	if c1.Body != "First!" || c1.Author.Username != alice.User.Username || c1.VideoId != id || c1.Edited || c1.Held != nil || c1.ParentId != nil {
		t.Fatalf("created comment %+v", c1)
	}
	c2 := post(bob.Token, map[string]any{"body": "Second,\nover two lines"})
	r1 := post(bob.Token, map[string]any{"body": "a reply", "parentId": c1.Id})
	r2 := post(owner.Token, map[string]any{"body": "the owner replies", "parentId": c1.Id})
	if r1.ParentId == nil || *r1.ParentId != c1.Id {
		t.Fatalf("reply %+v, want parent %s", r1, c1.Id)
	}
	if got := count(); got != 4 {
		t.Errorf("comment count %d, want 4", got)
	}

	t.Run("listing", func(t *testing.T) {
		top := e.comments(path, "")
		if got, want := commentIDs(top), []string{c2.Id, c1.Id}; !equal(got, want) {
			t.Fatalf("top-level comments %v, want newest first %v", got, want)
		}
		if top.Comments[1].ReplyCount != 2 || top.Comments[0].ReplyCount != 0 {
			t.Errorf("reply counts %d, %d, want 0, 2", top.Comments[0].ReplyCount, top.Comments[1].ReplyCount)
		}
		replies := e.comments(path+"?parentId="+c1.Id, "")
		if got, want := commentIDs(replies), []string{r1.Id, r2.Id}; !equal(got, want) {
			t.Fatalf("replies %v, want oldest first %v", got, want)
		}
		// Pages of one.
		var seen []string
		for _, p := range allPages(e, path+"?limit=1", "", 5, func(p oapi.CommentPage) *string { return p.NextCursor }) {
			seen = append(seen, commentIDs(p)...)
		}
		if want := []string{c2.Id, c1.Id}; !equal(seen, want) {
			t.Errorf("paged %v, want %v", seen, want)
		}
		p := e.comments(path+"?parentId="+c1.Id+"&limit=1", "")
		if p.NextCursor == nil {
			t.Fatal("no cursor after the first reply")
		}
		p = e.comments(path+"?parentId="+c1.Id+"&limit=1&cursor="+*p.NextCursor, "")
		if got := commentIDs(p); !equal(got, []string{r2.Id}) {
			t.Errorf("second page of replies %v, want %v", got, []string{r2.Id})
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			name, token string
			body        any
			status      int
			field       string
		}{
			{"anonymous", "", map[string]any{"body": "hi"}, http.StatusUnauthorized, ""},
			{"empty", alice.Token, map[string]any{"body": ""}, http.StatusBadRequest, "body"},
			{"blank", alice.Token, map[string]any{"body": " \n\t "}, http.StatusBadRequest, "body"},
			{"too long", alice.Token, map[string]any{"body": strings.Repeat("é", maxComment+1)}, http.StatusBadRequest, "body"},
			{"control character", alice.Token, map[string]any{"body": "bell\a"}, http.StatusBadRequest, "body"},
			{"unknown field", alice.Token, map[string]any{"body": "x", "pinned": true}, http.StatusBadRequest, "pinned"},
			{"no body", alice.Token, map[string]any{}, http.StatusBadRequest, "body"},
			{"parent not an id", alice.Token, map[string]any{"body": "x", "parentId": "abc"}, http.StatusBadRequest, "parentId"},
			{"unknown parent", alice.Token, map[string]any{"body": "x", "parentId": "999999"}, http.StatusBadRequest, "parentId"},
			{"reply to a reply", alice.Token, map[string]any{"body": "x", "parentId": r1.Id}, http.StatusBadRequest, "parentId"},
			{"rejected term", alice.Token, map[string]any{"body": "what a BadWord"}, http.StatusBadRequest, "body"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.must(c.status, "POST", path, c.token, c.body)
				if c.field != "" {
					if eb := r.errorBody(t); eb.Fields == nil || (*eb.Fields)[c.field] == "" {
						t.Errorf("error %+v does not name %s", eb, c.field)
					}
				}
			})
		}
		e.must(http.StatusBadRequest, "GET", path+"?parentId="+r1.Id, "", nil)
		e.must(http.StatusBadRequest, "GET", path+"?parentId=x", "", nil)
		e.must(http.StatusBadRequest, "GET", path+"?cursor=garbage", "", nil)
		e.must(http.StatusNotFound, "GET", "/api/v1/videos/AAAAAAAAAAA/comments", "", nil)
		e.must(http.StatusNotFound, "POST", "/api/v1/videos/AAAAAAAAAAA/comments", alice.Token, map[string]any{"body": "x"})
		if got := count(); got != 4 {
			t.Errorf("comment count %d after refused comments, want 4", got)
		}
	})

	t.Run("a reply to a comment of another video", func(t *testing.T) {
		other := e.readyVideo(owner, store.Public, "Other")
		e.must(http.StatusBadRequest, "POST", "/api/v1/videos/"+other+"/comments", alice.Token, map[string]any{"body": "x", "parentId": c1.Id})
	})

	t.Run("private video", func(t *testing.T) {
		priv := e.readyVideo(owner, store.Private, "Private")
		p := "/api/v1/videos/" + priv + "/comments"
		e.must(http.StatusNotFound, "GET", p, "", nil)
		e.must(http.StatusNotFound, "GET", p, alice.Token, nil)
		e.must(http.StatusNotFound, "POST", p, alice.Token, map[string]any{"body": "let me in"})
		e.must(http.StatusCreated, "POST", p, owner.Token, map[string]any{"body": "note to self"})
		e.must(http.StatusCreated, "POST", p, mod.Token, map[string]any{"body": "moderator note"})
	})

	t.Run("edit", func(t *testing.T) {
		cp := "/api/v1/comments/" + c1.Id
		e.must(http.StatusUnauthorized, "PATCH", cp, "", map[string]any{"body": "x"})
		e.must(http.StatusForbidden, "PATCH", cp, bob.Token, map[string]any{"body": "x"})
		e.must(http.StatusForbidden, "PATCH", cp, owner.Token, map[string]any{"body": "x"})
		e.must(http.StatusForbidden, "PATCH", cp, mod.Token, map[string]any{"body": "x"})
		e.must(http.StatusNotFound, "PATCH", "/api/v1/comments/999999", alice.Token, map[string]any{"body": "x"})
		e.must(http.StatusNotFound, "PATCH", "/api/v1/comments/nope", alice.Token, map[string]any{"body": "x"})
		e.must(http.StatusBadRequest, "PATCH", cp, alice.Token, map[string]any{"body": ""})
		e.must(http.StatusBadRequest, "PATCH", cp, alice.Token, map[string]any{"body": "badword"})
		var c oapi.Comment
		e.must(http.StatusOK, "PATCH", cp, alice.Token, map[string]any{"body": "First, edited"}).decode(t, &c)
		if c.Body != "First, edited" || !c.Edited || c.ReplyCount != 2 || c.UpdatedAt.Before(c.CreatedAt) {
			t.Errorf("edited comment %+v", c)
		}
	})

	t.Run("held by the term policy", func(t *testing.T) {
		before := count()
		held := post(alice.Token, map[string]any{"body": "big SPOILER ahead"})
		if held.Held == nil || !*held.Held {
			t.Fatalf("comment %+v, want held", held)
		}
		heldReply := post(bob.Token, map[string]any{"body": "spoiler: it was him", "parentId": c2.Id})
		if got := count(); got != before {
			t.Errorf("comment count %d after held comments, want %d", got, before)
		}
		// held is alice's, heldReply bob's.
		for name, c := range map[string]struct {
			token           string
			sees, seesReply bool
		}{
			"anonymous": {"", false, false}, "bob": {bob.Token, false, true}, "alice": {alice.Token, true, false},
			"video owner": {owner.Token, true, true}, "moderator": {mod.Token, true, true},
		} {
			t.Run(name, func(t *testing.T) {
				ids := commentIDs(e.comments(path, c.token))
				if got := contains(ids, held.Id); got != c.sees {
					t.Errorf("sees the held comment: %t, want %t (%v)", got, c.sees, ids)
				}
				replySeen := contains(commentIDs(e.comments(path+"?parentId="+c2.Id, c.token)), heldReply.Id)
				if replySeen != c.seesReply {
					t.Errorf("sees the held reply: %t, want %t", replySeen, c.seesReply)
				}
			})
		}
		// Editing a visible comment into a held one takes it off the count.
		r1Edit := e.must(http.StatusOK, "PATCH", "/api/v1/comments/"+r1.Id, bob.Token, map[string]any{"body": "spoiler"})
		var c oapi.Comment
		r1Edit.decode(t, &c)
		if c.Held == nil || !*c.Held {
			t.Errorf("edited comment %+v, want held", c)
		}
		if got := count(); got != before-1 {
			t.Errorf("comment count %d after a comment was held by its edit, want %d", got, before-1)
		}
		// Others cannot touch what they cannot see.
		e.must(http.StatusNotFound, "DELETE", "/api/v1/comments/"+held.Id, bob.Token, nil)
	})

	t.Run("delete", func(t *testing.T) {
		before := count()
		e.must(http.StatusUnauthorized, "DELETE", "/api/v1/comments/"+c1.Id, "", nil)
		e.must(http.StatusForbidden, "DELETE", "/api/v1/comments/"+c1.Id, bob.Token, nil)
		e.must(http.StatusNotFound, "DELETE", "/api/v1/comments/999999", bob.Token, nil)
		// The video's owner deletes c1 and with it its replies (r1 is held, r2 is not).
		e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+c1.Id, owner.Token, nil)
		if got := count(); got != before-2 {
			t.Errorf("comment count %d after deleting a comment with a visible and a held reply, want %d", got, before-2)
		}
		if n := e.sqlCount(`SELECT count(*) FROM comments WHERE id = ANY($1::bigint[])`, []string{c1.Id, r1.Id, r2.Id}); n != 0 {
			t.Errorf("%d of the comment and its replies left", n)
		}
		e.must(http.StatusBadRequest, "GET", path+"?parentId="+c1.Id, "", nil)
		// A moderator deletes anyone's; authors delete their own.
		own := post(bob.Token, map[string]any{"body": "mine"})
		e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+c2.Id, mod.Token, nil)
		e.must(http.StatusNoContent, "DELETE", "/api/v1/comments/"+own.Id, bob.Token, nil)
		e.must(http.StatusNotFound, "DELETE", "/api/v1/comments/"+own.Id, bob.Token, nil)
		var visible int64
		for _, c := range e.comments(path+"?limit=100", mod.Token).Comments {
			if c.Held == nil {
				visible += 1 + int64(c.ReplyCount) // the moderator sees held replies too, but there are none left
			}
		}
		if got := count(); got != visible {
			t.Errorf("comment count %d, want the %d visible comments", got, visible)
		}
	})
}

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
		*audit.Entries[0].CommentId != rude.Id || audit.Entries[1].VideoId == nil || *audit.Entries[1].VideoId != id || *audit.Entries[1].Note != "a real giveaway" {
		t.Fatalf("audit = %+v", audit.Entries)
	}
}
