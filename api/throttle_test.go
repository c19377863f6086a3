package api

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from the loopback address ip, so that
// the API sees it as another client than the default one (127.0.0.1).
func clientFrom(ip string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
}

// A guessing attack from one address slows that address down, and never the owner signing in
// from another one: failures count per account and address, never per account alone.
func TestLoginGuessingDoesNotLockOutTheOwner(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Auth.LoginPerAccount = 3; c.Auth.LoginPerIP = 100 }))
	owner := e.user("frank")
	wrong := map[string]string{"username": owner.User.Username, "password": "a wrong guess"}
	right := map[string]string{"username": owner.User.Username, "password": "correct horse battery"}

	for range 5 {
		r := e.do("POST", "/api/v1/auth/login", "", wrong) // from 127.0.0.1
		if r.status != http.StatusUnauthorized && r.status != http.StatusTooManyRequests {
			t.Fatalf("guess: status %d: %s", r.status, r.body)
		}
	}
	// The guesser is slowed down, even with the right password.
	e.must(http.StatusTooManyRequests, "POST", "/api/v1/auth/login", "", right)

	ownerClient := clientFrom("127.0.0.2")
	for i := range 3 {
		resp, body := roundTrip(t, ownerClient, e.request("POST", "/api/v1/auth/login", right), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("owner's sign-in %d from 127.0.0.2 during the attack: status %d: %s", i+1, resp.StatusCode, body)
		}
	}
}

func TestClientNetwork(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}}
	for _, c := range []struct{ name, peer, forwarded, want string }{
		{"IPv4 peer", "192.0.2.7:5000", "", "192.0.2.7"},
		{"IPv6 peer by /64", "[2001:db8:1:2:aaaa::1]:5000", "", "2001:db8:1:2::/64"},
		{"another address of the same /64", "[2001:db8:1:2:ffff:1:2:3]:5000", "", "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6", "[::ffff:192.0.2.7]:5000", "", "192.0.2.7"},
		{"through a trusted proxy", "10.0.0.1:5000", "198.51.100.9", "198.51.100.9"},
		{"IPv6 through a trusted proxy", "10.0.0.1:5000", "2001:db8:9::5", "2001:db8:9::/64"},
		{"forwarded by an untrusted peer", "192.0.2.8:5000", "198.51.100.9", "192.0.2.8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			if c.forwarded != "" {
				r.Header.Set("X-Forwarded-For", c.forwarded)
			}
			if got := s.clientNetwork(r); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
