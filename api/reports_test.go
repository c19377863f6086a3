package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// withReporterNetworks trusts the test client as a reverse proxy, so that the X-Forwarded-For
// of reportFrom says which network each report comes from.
func withReporterNetworks() envOption {
	return withConfig(func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
}

// reporter makes an account, directly in the database (registration is throttled per
// address), created age ago.
func (e *env) reporter(age time.Duration) oapi.Session {
	e.t.Helper()
	s := e.fastUser(fmt.Sprintf("rep%03d", userSeq.Add(1)))
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE users SET created_at = now() - $2::interval WHERE id = $1`,
		userID(e.t, s), age); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// established is an account old enough for its reports to weigh fully.
func (e *env) established() oapi.Session { return e.reporter(48 * time.Hour) }

// ownNetwork is an address in a network of its own for each distinct n.
func ownNetwork(n int) string { return fmt.Sprintf("10.%d.%d.1", n/256%256, n%256) }

// reportFrom reports a video from the client address addr, and expects it recorded.
func (e *env) reportFrom(reporter oapi.Session, addr, videoID, reason string) {
	e.t.Helper()
	e.reportTargetFrom(reporter, addr, store.TargetVideo, videoID, reason)
}

// reportTargetFrom reports a video or a comment from the client address addr, and expects it
// recorded.
func (e *env) reportTargetFrom(reporter oapi.Session, addr, targetType, id, reason string) {
	e.t.Helper()
	req := e.request("POST", "/api/v1/reports", map[string]any{"targetType": targetType, "targetId": id, "reason": reason})
	req.Header.Set("X-Forwarded-For", addr)
	if r := e.send(req, reporter.Token); r.status != http.StatusCreated {
		e.t.Fatalf("report of %s %s from %s: status %d: %s", targetType, id, addr, r.status, r.body)
	}
}

// moderationOf is a video's moderation state, read from its row.
func (e *env) moderationOf(id string) string {
	e.t.Helper()
	return e.video(id).Moderation
}

// TestThrowawayAccountsCannotHideVideo is attack 2 of issue #13: accounts registered for the
// purpose, or many accounts on one network, must not hold a video on their own.
func TestThrowawayAccountsCannotHideVideo(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner := e.user("owner")
	registered := func(int) oapi.Session { return e.user("new") }
	anHourOld := func(int) oapi.Session { return e.reporter(time.Hour) }
	established := func(int) oapi.Session { return e.established() }
	// alternately has even reports made by even's accounts, odd ones by odd's.
	alternately := func(even, odd func(int) oapi.Session) func(int) oapi.Session {
		return func(i int) oapi.Session {
			if i%2 == 0 {
				return even(i)
			}
			return odd(i)
		}
	}
	// alternatelyFrom sends even reports from one network, odd ones each from its own.
	alternatelyFrom := func(network string, first int) func(int) string {
		return func(i int) string {
			if i%2 == 0 {
				return fmt.Sprintf(network, i+1)
			}
			return ownNetwork(first + i)
		}
	}
	for _, c := range []struct {
		name     string
		reports  int
		reporter func(i int) oapi.Session
		addr     func(i int) string
	}{
		{"three new accounts", 3, registered, func(i int) string { return ownNetwork(100 + i) }},
		{"twelve new accounts on as many networks", 12, anHourOld, func(i int) string { return ownNetwork(200 + i) }},
		{"ten established accounts on one IPv4 /24", 10, established, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }},
		{"ten established accounts on one IPv6 /48, each its own /64", 10, established,
			func(i int) string { return fmt.Sprintf("2001:db8:7:%x::1", i+1) }},
		// One network and the new accounts weigh two reporters.
		{"five established accounts on one network and five new ones", 10,
			alternately(established, anHourOld), alternatelyFrom("198.51.100.%d", 300)},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := e.readyVideo(owner, store.Public, c.name)
			for i := range c.reports {
				e.reportFrom(c.reporter(i), c.addr(i), id, "spam")
			}
			if got := e.moderationOf(id); got != store.ModerationOK {
				t.Fatalf("after %d reports moderation = %s, want ok", c.reports, got)
			}
			e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil)
		})
	}
	if n := e.sqlCount(`SELECT count(*) FROM reports WHERE reporter_prefix = '203.0.113.0/24'`); n != 10 {
		t.Errorf("%d reports recorded from 203.0.113.0/24, want 10", n)
	}
}

func TestReporterPrefix(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"203.0.113.77", "203.0.113.0/24"},
		{"::ffff:203.0.113.77", "203.0.113.0/24"},
		{"2001:db8:1:2:3::4", "2001:db8:1::/48"},
		{"2001:db8:1:ffff::1", "2001:db8:1::/48"},
		{"fe80::1%eth0", "fe80::/48"},
		{"not an address", ""},
	} {
		t.Run(c.addr, func(t *testing.T) {
			if got := reporterPrefix(c.addr); got != c.want {
				t.Errorf("reporterPrefix(%q) = %q, want %q", c.addr, got, c.want)
			}
		})
	}
}

// linkGitHub gives an account a verified GitHub identity, as signing in with GitHub does.
func (e *env) linkGitHub(s oapi.Session) {
	e.t.Helper()
	if _, err := e.db.Pool().Exec(context.Background(), `INSERT INTO oauth_identities (provider, subject, user_id, login)
		VALUES ('github', $1, $2, $3)`, s.User.Id, userID(e.t, s), s.User.Username); err != nil {
		e.t.Fatal(err)
	}
}

// weightOf is the weight of a video's open reports.
func (e *env) weightOf(id string) store.Weight {
	e.t.Helper()
	w, err := e.db.OpenReportWeights(context.Background(), []string{id})
	if err != nil {
		e.t.Fatal(err)
	}
	return w[id]
}

func TestEstablishedReportersHoldVideo(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner := e.user("owner")

	id := e.readyVideo(owner, store.Public, "reported by three established reporters")
	for i := range 3 {
		e.reportFrom(e.established(), ownNetwork(i), id, "violence")
	}
	if v := e.video(id); v.Moderation != store.ModerationHeld || v.HeldReason != "reported by 3 users, weight 3.00: violence (3)" {
		t.Fatalf("moderation = %s (%q), want held by three established reporters", v.Moderation, v.HeldReason)
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/"+id, "", nil)

	// A verified GitHub identity weighs half a reporter more: two such reporters are enough.
	id = e.readyVideo(owner, store.Public, "reported by two GitHub-verified reporters")
	for i := range 2 {
		r := e.established()
		e.linkGitHub(r)
		e.reportFrom(r, ownNetwork(10+i), id, "sexual")
	}
	if v := e.video(id); v.Moderation != store.ModerationHeld || v.HeldReason != "reported by 2 users, weight 3.00: sexual (2)" {
		t.Fatalf("moderation = %s (%q), want held by two verified reporters", v.Moderation, v.HeldReason)
	}

	// New accounts still add up to one reporter: two established reporters and four new accounts.
	id = e.readyVideo(owner, store.Public, "reported by two established reporters and new accounts")
	e.reportFrom(e.established(), ownNetwork(20), id, "spam")
	e.reportFrom(e.established(), ownNetwork(21), id, "spam")
	for i := range 3 {
		e.reportFrom(e.reporter(time.Hour), ownNetwork(22+i), id, "spam")
		if got := e.moderationOf(id); got != store.ModerationOK {
			t.Fatalf("after %d new accounts moderation = %s, want ok", i+1, got)
		}
	}
	e.reportFrom(e.reporter(time.Hour), ownNetwork(25), id, "spam")
	if got := e.moderationOf(id); got != store.ModerationHeld {
		t.Fatalf("after the fourth new account moderation = %s, want held (2 + 4 × 0.25)", got)
	}
}

func TestReportRateLimit(t *testing.T) {
	e := newEnv(t)
	owner, reporter, other := e.user("owner"), e.user("rep"), e.user("other")
	var ids []string
	for i := range 11 {
		ids = append(ids, e.readyVideo(owner, store.Public, fmt.Sprint("video ", i)))
	}
	for _, id := range ids[:10] {
		e.report(reporter, "video", id, "spam")
	}
	r := e.must(http.StatusTooManyRequests, "POST", "/api/v1/reports", reporter.Token, map[string]any{
		"targetType": "video", "targetId": ids[10], "reason": "spam"})
	body := r.errorBody(t)
	if body.Code != codeRateLimited || !strings.Contains(body.Message, "at most 10 reports an hour") {
		t.Errorf("error = %+v, want rate_limited saying the limit", body)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 3600 {
		t.Errorf("Retry-After = %q, want 1 to 3600 seconds", r.header.Get("Retry-After"))
	}
	if n := e.sqlCount(`SELECT count(*) FROM reports WHERE reporter_id = $1`, userID(t, reporter)); n != 10 {
		t.Errorf("%d reports recorded, want the 10 within the limit", n)
	}
	// The limit is the reporter's own.
	e.report(other, "video", ids[10], "spam")
}

func TestReportQueueOrderedByWeight(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner, mod := e.user("owner"), e.moderator()
	net := 0
	report := func(id string, r oapi.Session) {
		net++
		e.reportFrom(r, ownNetwork(net), id, "spam")
	}
	want := map[string]float64{}
	reporters := map[string]int{}

	oneNew := e.readyVideo(owner, store.Public, "one new account")
	report(oneNew, e.reporter(time.Hour))
	want[oneNew], reporters[oneNew] = 0.25, 1

	twoEstablished := e.readyVideo(owner, store.Public, "two established reporters")
	report(twoEstablished, e.established())
	report(twoEstablished, e.established())
	want[twoEstablished], reporters[twoEstablished] = 2, 2

	verified := e.readyVideo(owner, store.Public, "one verified reporter")
	gh := e.established()
	e.linkGitHub(gh)
	report(verified, gh)
	want[verified], reporters[verified] = 1.5, 1

	mixed := e.readyVideo(owner, store.Public, "new accounts and an established reporter")
	for range 4 {
		report(mixed, e.reporter(time.Hour))
	}
	report(mixed, e.established())
	want[mixed], reporters[mixed] = 2, 5

	// Held by an automated check after a report: still in the report queue.
	held := e.readyVideo(owner, store.Public, "held")
	report(held, e.established())
	e.hold(held, "classifier")
	want[held], reporters[held] = 1, 1

	e.readyVideo(owner, store.Public, "not reported")
	removed := e.readyVideo(owner, store.Public, "reported, then removed")
	report(removed, e.established())
	e.decide(mod, removed, map[string]any{"action": "remove"})

	var items []oapi.ReportQueueItem
	for _, page := range allPages(e, "/api/v1/moderation/reports?limit=2", mod.Token, 5, func(p oapi.ReportQueuePage) *string { return p.NextCursor }) {
		items = append(items, page.Items...)
	}
	got := mapped(items, func(it oapi.ReportQueueItem) string { return it.Video.Id })
	wantOrder := []string{twoEstablished, mixed, verified, held, oneNew}
	if twoEstablished > mixed { // equal weights: by id
		wantOrder[0], wantOrder[1] = mixed, twoEstablished
	}
	if !slices.Equal(got, wantOrder) {
		t.Fatalf("report queue = %v, want heaviest first %v", got, wantOrder)
	}
	for _, it := range items {
		if it.ReportWeight != want[it.Video.Id] || it.Reporters != reporters[it.Video.Id] || it.Reports["spam"] != reporters[it.Video.Id] {
			t.Errorf("%s: weight %v, %d reporters, reports %v; want %v, %d", it.Video.Id, it.ReportWeight, it.Reporters,
				it.Reports, want[it.Video.Id], reporters[it.Video.Id])
		}
	}
	if n := e.sqlCount(`SELECT count(*) FROM reports WHERE reporter_prefix = $1`, "10.0.1.0/24"); n != 1 {
		t.Errorf("%d reports recorded from 10.0.1.0/24, want 1", n)
	}

	e.must(http.StatusBadRequest, "GET", "/api/v1/moderation/reports?cursor=garbage", mod.Token, nil)
	e.must(http.StatusBadRequest, "GET", "/api/v1/moderation/reports?limit=0", mod.Token, nil)
	e.must(http.StatusForbidden, "GET", "/api/v1/moderation/reports", owner.Token, nil)
	e.must(http.StatusUnauthorized, "GET", "/api/v1/moderation/reports", "", nil)
}

func TestReportHistoryChangesWeight(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner, author, mod := e.user("owner"), e.user("author"), e.moderator()
	net := 0
	report := func(r oapi.Session, id string) {
		net++
		e.reportFrom(r, ownNetwork(net), id, "spam")
	}
	// decided gives a reporter a history: a report of a video of its own that a moderator then
	// decides on.
	decided := func(r oapi.Session, action string) {
		id := e.readyVideo(owner, store.Public, "reported before")
		report(r, id)
		e.decide(mod, id, map[string]any{"action": action})
	}
	upheld1, upheld2, restricted := e.established(), e.established(), e.established()
	decided(upheld1, "remove")
	decided(upheld2, "remove")
	id := e.readyVideo(owner, store.Public, "restricted before")
	report(restricted, id)
	e.decide(mod, id, map[string]any{"action": "restrict", "labels": []string{"gore"}})
	var rejected []oapi.Session
	for range 3 {
		r := e.established()
		decided(r, "approve")
		rejected = append(rejected, r)
	}
	verifiedRejected := e.established()
	e.linkGitHub(verifiedRejected)
	decided(verifiedRejected, "approve")
	// A removed comment takes its reports with it; the reporter's record stays.
	commentReporter := e.established()
	commented := e.readyVideo(owner, store.Public, "commented")
	var cid int64
	if err := e.db.Pool().QueryRow(context.Background(), `INSERT INTO comments (video_id, author_id, body)
		VALUES ($1, $2, 'abuse') RETURNING id`, commented, userID(t, author)).Scan(&cid); err != nil {
		t.Fatal(err)
	}
	e.report(commentReporter, "comment", strconv.FormatInt(cid, 10), "harassment")
	e.must(http.StatusNoContent, "POST", fmt.Sprintf("/api/v1/moderation/comments/%d/decision", cid), mod.Token, map[string]any{"action": "remove"})

	for _, c := range []struct {
		name     string
		reporter oapi.Session
		want     store.Weight
	}{
		{"no history", e.established(), 1000},
		{"one upheld (removed)", upheld1, 1333},
		{"one upheld (restricted)", restricted, 1333},
		{"one upheld (comment removed)", commentReporter, 1333},
		{"one rejected", rejected[0], 667},
		{"verified, one rejected", verifiedRejected, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := e.readyVideo(owner, store.Public, c.name)
			report(c.reporter, id)
			if got := e.weightOf(id); got != c.want {
				t.Errorf("weight = %s, want %s", got, c.want)
			}
		})
	}

	// Three reporters whose reports were rejected do not hold a video (three without history do).
	id = e.readyVideo(owner, store.Public, "reported by the often wrong")
	for _, r := range rejected {
		report(r, id)
	}
	if v := e.video(id); v.Moderation != store.ModerationOK {
		t.Errorf("after three reporters with a rejected report each moderation = %s (weight %s), want ok", v.Moderation, e.weightOf(id))
	}
	// Two reporters who were right before and one who was wrong do.
	id = e.readyVideo(owner, store.Public, "reported by the often right")
	report(rejected[0], id)
	report(upheld1, id)
	report(upheld2, id)
	if v := e.video(id); v.Moderation != store.ModerationHeld || v.HeldReason != "reported by 3 users, weight 3.33: spam (3)" {
		t.Errorf("moderation = %s (%q), want held with weight 3.33", v.Moderation, v.HeldReason)
	}
}

// commentOn posts a comment on a video as token and returns its id.
func (e *env) commentOn(videoID, token, body string) string {
	e.t.Helper()
	var c oapi.Comment
	e.must(http.StatusCreated, "POST", "/api/v1/videos/"+videoID+"/comments", token, map[string]any{"body": body}).decode(e.t, &c)
	return c.Id
}

// commentShown says whether an anonymous reader sees the comment in its video's comments.
func (e *env) commentShown(videoID, commentID string) bool {
	e.t.Helper()
	return slices.ContainsFunc(e.comments("/api/v1/videos/"+videoID+"/comments", "").Comments,
		func(c oapi.Comment) bool { return c.Id == commentID })
}

// Comment reports weigh as video reports do: three accounts registered for the purpose do not
// hide a comment, nor do many accounts on one network; three established, independent
// reporters hold it for review, out of everyone's sight but its author's, the video owner's
// and moderators'.
func TestThrowawayAccountsCannotHideComment(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner, author := e.user("owner"), e.user("author")
	id := e.readyVideo(owner, store.Public, "commented")

	fresh := e.commentOn(id, author.Token, "reported by three new accounts")
	for i := range 3 {
		e.reportTargetFrom(e.user("new"), ownNetwork(100+i), store.TargetComment, fresh, "harassment")
	}
	oneNetwork := e.commentOn(id, author.Token, "reported from one network")
	for i := range 5 {
		e.reportTargetFrom(e.established(), fmt.Sprintf("203.0.113.%d", i+1), store.TargetComment, oneNetwork, "harassment")
	}
	for _, c := range []string{fresh, oneNetwork} {
		if !e.commentShown(id, c) {
			t.Errorf("comment %s hidden by reports that weigh at most one reporter", c)
		}
	}
	if got := e.apiVideo(id, "").Stats.Comments; got != 2 {
		t.Errorf("comment count %d, want 2", got)
	}

	held := e.commentOn(id, author.Token, "reported by three established reporters")
	for i := range 3 {
		e.reportTargetFrom(e.established(), ownNetwork(200+i), store.TargetComment, held, "harassment")
	}
	if e.commentShown(id, held) {
		t.Fatal("a comment reported by three established reporters is still shown to everyone")
	}
	if got := e.apiVideo(id, "").Stats.Comments; got != 2 {
		t.Errorf("comment count %d after the hold, want 2", got)
	}
	seen := slices.ContainsFunc(e.comments("/api/v1/videos/"+id+"/comments", author.Token).Comments,
		func(c oapi.Comment) bool { return c.Id == held && c.Held != nil && *c.Held })
	if !seen {
		t.Error("the author no longer sees their held comment, marked held")
	}
}

// Comment reports reach the report queue beside video reports, ordered by the same weight,
// each naming its target.
func TestReportQueueHasComments(t *testing.T) {
	e := newEnv(t, withReporterNetworks())
	owner, author, mod := e.user("owner"), e.user("author"), e.moderator()
	video := e.readyVideo(owner, store.Public, "reported video")
	e.reportFrom(e.established(), ownNetwork(1), video, "spam")
	comment := e.commentOn(video, author.Token, "reported comment")
	e.reportTargetFrom(e.established(), ownNetwork(2), store.TargetComment, comment, "hate")
	e.reportTargetFrom(e.established(), ownNetwork(3), store.TargetComment, comment, "hate")
	light := e.commentOn(video, author.Token, "reported by a new account")
	e.reportTargetFrom(e.reporter(time.Hour), ownNetwork(4), store.TargetComment, light, "spam")

	var items []oapi.ReportQueueItem
	for _, page := range allPages(e, "/api/v1/moderation/reports?limit=1", mod.Token, 5, func(p oapi.ReportQueuePage) *string { return p.NextCursor }) {
		items = append(items, page.Items...)
	}
	got := mapped(items, func(it oapi.ReportQueueItem) string { return string(it.TargetType) + " " + it.TargetId })
	want := []string{"comment " + comment, "video " + video, "comment " + light}
	if !slices.Equal(got, want) {
		t.Fatalf("report queue = %v, want heaviest first %v", got, want)
	}
	top := items[0]
	if top.Comment == nil || top.Comment.Body != "reported comment" || top.Video.Id != video || top.ReportWeight != 2 ||
		top.Reporters != 2 || top.Reports["hate"] != 2 {
		t.Errorf("comment item %+v, want the comment on its video, weight 2 from 2 reporters of hate", top)
	}
	if items[1].Comment != nil {
		t.Errorf("video item carries a comment: %+v", items[1].Comment)
	}
	if items[2].ReportWeight != 0.25 {
		t.Errorf("a new account's comment report weighs %v, want 0.25", items[2].ReportWeight)
	}
}
