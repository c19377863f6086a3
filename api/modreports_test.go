package api

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// targetReports follows the pages of a target's reports (path has the query) to the end.
func (e *env) targetReports(path, token string) []oapi.TargetReport {
	e.t.Helper()
	var out []oapi.TargetReport
	for _, page := range allPages(e, path, token, 20, func(p oapi.TargetReportPage) *string { return p.NextCursor }) {
		out = append(out, page.Reports...)
	}
	return out
}

// withStanding gives a reporter a history of decided reports.
func (e *env) withStanding(s oapi.Session, upheld, rejected int) {
	e.t.Helper()
	if _, err := e.db.Pool().Exec(context.Background(), `INSERT INTO reporter_standing (user_id, upheld, rejected)
		VALUES ($1, $2, $3)`, userID(e.t, s), upheld, rejected); err != nil {
		e.t.Fatal(err)
	}
}

// TestTargetReports: a moderator reads the reports of one video or comment with each
// reporter's standing, newest first, page by page, open or resolved.
func TestTargetReports(t *testing.T) {
	// Never held automatically: every reporter must still see the video.
	e := newEnv(t, withReporterNetworks(), withConfig(func(c *Config) { c.Moderation.ReportThreshold = 100 }))
	owner, author, mod := e.user("owner"), e.user("author"), e.moderator()
	id := e.readyVideo(owner, store.Public, "reported")

	newcomer := e.reporter(time.Hour)
	established := e.established()
	verified := e.established()
	e.linkGitHub(verified)
	rejectedBefore := e.established()
	e.withStanding(rejectedBefore, 0, 2)
	neighbour := e.established()
	gone := e.established()
	// Oldest first; the last two share a network.
	e.reportFrom(gone, ownNetwork(1), id, "other")
	e.reportFrom(newcomer, ownNetwork(2), id, "spam")
	e.reportFrom(verified, ownNetwork(3), id, "copyright")
	e.reportFrom(rejectedBefore, ownNetwork(4), id, "hate")
	e.reportFrom(established, "198.51.100.7", id, "spam")
	e.reportFrom(neighbour, "198.51.100.8", id, "spam")
	if err := e.db.DeleteUser(context.Background(), userID(t, gone)); err != nil {
		t.Fatal(err)
	}

	type row struct {
		username    string
		reason      string
		weight      float64
		newAccount  bool
		github      bool
		rejected    int
		sameNetwork int
	}
	want := []row{
		{neighbour.User.Username, "spam", 1, false, false, 0, 1},
		{established.User.Username, "spam", 1, false, false, 0, 1},
		{rejectedBefore.User.Username, "hate", 0.5, false, false, 2, 0},
		{verified.User.Username, "copyright", 1.5, false, true, 0, 0},
		{newcomer.User.Username, "spam", 0.25, true, false, 0, 0},
		{"", "other", 0, false, false, 0, 0},
	}
	path := "/api/v1/moderation/videos/" + id + "/reports"
	for _, limit := range []string{"1", "4", "100"} {
		reports := e.targetReports(path+"?limit="+limit, mod.Token)
		got := mapped(reports, func(rp oapi.TargetReport) row {
			r := rp.Reporter
			name := ""
			if r.Username != nil {
				name = *r.Username
			}
			return row{name, rp.Reason, rp.Weight, r.NewAccount, r.Github, r.Rejected, rp.SameNetwork}
		})
		if !slices.Equal(got, want) {
			t.Fatalf("limit %s: reports\n%+v\nwant newest first\n%+v", limit, got, want)
		}
		if last := reports[len(reports)-1].Reporter; !last.Deleted || last.AccountCreatedAt != nil {
			t.Errorf("a deleted reporter's standing = %+v, want deleted and no account", last)
		}
		if r := reports[4].Reporter; r.AccountCreatedAt == nil || time.Since(*r.AccountCreatedAt) < 50*time.Minute {
			t.Errorf("the newcomer's account created at %v, want about an hour ago", r.AccountCreatedAt)
		}
	}

	// Open by default; a decision moves them all to resolved.
	if got := e.targetReports(path+"?state=resolved&limit=10", mod.Token); len(got) != 0 {
		t.Errorf("resolved reports before any decision = %d, want 0", len(got))
	}
	e.decide(mod, id, map[string]any{"action": "approve"})
	if got := e.targetReports(path+"?limit=10", mod.Token); len(got) != 0 {
		t.Errorf("open reports after a decision = %d, want 0", len(got))
	}
	resolved := e.targetReports(path+"?state=resolved&limit=2", mod.Token)
	if len(resolved) != len(want) || resolved[0].ResolvedAt == nil {
		t.Errorf("resolved reports = %d (first resolved at %v), want %d with their time", len(resolved), resolved[0].ResolvedAt, len(want))
	}
	// The approval rejected their reports: their standing, and so their weight, changed.
	if all := e.targetReports(path+"?state=all&limit=100", mod.Token); len(all) != len(want) || all[0].Reporter.Rejected != 1 || all[0].Weight != 0.667 {
		t.Errorf("all reports = %d, first rejected %d weighing %v; want %d, 1 and 0.667", len(all), all[0].Reporter.Rejected, all[0].Weight, len(want))
	}

	// A comment's reports.
	cid := e.postComment(author, id, "rude")
	e.report(established, "comment", cid, "harassment")
	var withNote oapi.Report
	e.must(http.StatusCreated, "POST", "/api/v1/reports", verified.Token, map[string]any{
		"targetType": "comment", "targetId": cid, "reason": "spam", "note": "posted on every video",
	}).decode(t, &withNote)
	creports := e.targetReports("/api/v1/moderation/comments/"+cid+"/reports?limit=1", mod.Token)
	if got := mapped(creports, func(rp oapi.TargetReport) string { return rp.Id }); !slices.Equal(got, []string{withNote.Id, creports[1].Id}) ||
		creports[0].Note == nil || *creports[0].Note != "posted on every video" || creports[1].Reason != "harassment" {
		t.Errorf("comment reports = %+v", creports)
	}

	t.Run("bad requests", func(t *testing.T) {
		for _, c := range []struct {
			path, field string
		}{
			{path + "?state=closed", "state"},
			{path + "?cursor=garbage", "cursor"},
			{path + "?cursor=" + encodeCursor(store.Cursor{Time: time.Now(), ID: "x"}), "cursor"},
			{path + "?limit=0", "limit"},
			{"/api/v1/moderation/comments/" + cid + "/reports?state=", ""},
		} {
			t.Run(c.path, func(t *testing.T) {
				if c.field == "" {
					e.must(http.StatusOK, "GET", c.path, mod.Token, nil)
					return
				}
				body := e.must(http.StatusBadRequest, "GET", c.path, mod.Token, nil).errorBody(t)
				if body.Fields == nil || (*body.Fields)[c.field] == "" {
					t.Errorf("error %+v does not name %s", body, c.field)
				}
			})
		}
		for _, p := range []string{
			"/api/v1/moderation/videos/AAAAAAAAAAA/reports",
			"/api/v1/moderation/comments/999999/reports",
			"/api/v1/moderation/comments/abc/reports",
			"/api/v1/moderation/comments/-1/reports",
		} {
			e.must(http.StatusNotFound, "GET", p, mod.Token, nil).errorBody(t)
		}
	})

	t.Run("moderators only", func(t *testing.T) {
		for _, p := range []string{path, "/api/v1/moderation/comments/" + cid + "/reports"} {
			e.must(http.StatusUnauthorized, "GET", p, "", nil).errorBody(t)
			e.must(http.StatusForbidden, "GET", p, owner.Token, nil).errorBody(t)
			e.must(http.StatusForbidden, "GET", p, established.Token, nil).errorBody(t)
		}
	})
}

// TestReportWeightMatchesQueue holds the weight a report shows by itself
// (store.ReporterStanding.Weight) to the rule the database sums (reportWeights): a video
// reported by one reporter weighs what that report shows, for every kind of standing.
func TestReportWeightMatchesQueue(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner, mod := e.user("owner"), e.moderator()
	for i, c := range []struct {
		name             string
		age              time.Duration
		github           bool
		upheld, rejected int
	}{
		{"new account", time.Hour, false, 0, 0},
		{"new account with GitHub and a good record", time.Hour, true, 5, 0},
		{"established", 48 * time.Hour, false, 0, 0},
		{"GitHub", 48 * time.Hour, true, 0, 0},
		{"one upheld", 48 * time.Hour, false, 1, 0},
		{"GitHub, upheld", 48 * time.Hour, true, 3, 0},
		{"one rejected", 48 * time.Hour, false, 0, 1},
		{"mixed record", 48 * time.Hour, false, 2, 5},
		{"GitHub, mixed record", 48 * time.Hour, true, 1, 2},
		{"always wrong", 48 * time.Hour, true, 0, 40},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.reporter(c.age)
			if c.github {
				e.linkGitHub(r)
			}
			if c.upheld+c.rejected > 0 {
				e.withStanding(r, c.upheld, c.rejected)
			}
			id := e.readyVideo(owner, store.Public, c.name)
			e.reportFrom(r, ownNetwork(i+1), id, "spam")
			shown := e.targetReports("/api/v1/moderation/videos/"+id+"/reports?limit=10", mod.Token)
			if len(shown) != 1 {
				t.Fatalf("%d reports shown, want 1", len(shown))
			}
			if summed := e.weightOf(id).Float(); shown[0].Weight != summed {
				t.Errorf("the report shows weight %v, the video's reports weigh %v", shown[0].Weight, summed)
			}
		})
	}
}
