package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
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
	req := e.request("POST", "/api/v1/reports", map[string]any{"targetType": "video", "targetId": videoID, "reason": reason})
	req.Header.Set("X-Forwarded-For", addr)
	if r := e.send(req, reporter.Token); r.status != http.StatusCreated {
		e.t.Fatalf("report of %s from %s: status %d: %s", videoID, addr, r.status, r.body)
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

	t.Run("three new accounts", func(t *testing.T) {
		id := e.readyVideo(owner, store.Public, "reported by throwaways")
		for i := range 3 {
			e.reportFrom(e.user("new"), ownNetwork(100+i), id, "spam")
		}
		if got := e.moderationOf(id); got != store.ModerationOK {
			t.Fatalf("after three new accounts' reports moderation = %s, want ok", got)
		}
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil)
	})
	t.Run("twelve new accounts on as many networks", func(t *testing.T) {
		id := e.readyVideo(owner, store.Public, "reported by many throwaways")
		for i := range 12 {
			e.reportFrom(e.reporter(time.Hour), ownNetwork(200+i), id, "hate")
		}
		if got := e.moderationOf(id); got != store.ModerationOK {
			t.Fatalf("after twelve new accounts' reports moderation = %s, want ok", got)
		}
	})
	for _, c := range []struct{ name, network string }{
		{"ten established accounts on one IPv4 /24", "203.0.113.%d"},
		{"ten established accounts on one IPv6 /48, each its own /64", "2001:db8:7:%x::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := e.readyVideo(owner, store.Public, c.name)
			for i := range 10 {
				e.reportFrom(e.established(), fmt.Sprintf(c.network, i+1), id, "spam")
			}
			if got := e.moderationOf(id); got != store.ModerationOK {
				t.Fatalf("after ten reports from one network moderation = %s, want ok", got)
			}
			e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil)
		})
	}
	t.Run("new accounts and one network together", func(t *testing.T) {
		id := e.readyVideo(owner, store.Public, "reported by both")
		for i := range 5 {
			e.reportFrom(e.established(), fmt.Sprintf("198.51.100.%d", i+1), id, "spam")
			e.reportFrom(e.reporter(time.Hour), ownNetwork(300+i), id, "spam")
		}
		if got := e.moderationOf(id); got != store.ModerationOK {
			t.Fatalf("moderation = %s, want ok: one network and the new accounts weigh two reporters", got)
		}
	})
}
