package api

import (
	"net/http"
	"net/netip"
	"strings"
)

// ipv6ClientBits is how much of an IPv6 address names one client: a /64 is what a home or a
// host is handed, and anyone holding one can pick any of its 2⁶⁴ addresses at will.
const ipv6ClientBits = 64

// clientNetwork names the client of r for throttling and counting: its IPv4 address, or the
// /64 of its IPv6 address, so that hopping between addresses of one network gains nothing.
func (s *Server) clientNetwork(r *http.Request) string {
	ip := s.clientIP(r)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, ipv6ClientBits).Masked().String()
}

// loginBuckets are the rate-limit buckets of a sign-in to username from r's client: every
// attempt counts against the client network's, failures against the (account, network) pair's.
// There is deliberately no bucket of the account alone: failures anyone else causes would then
// refuse the owner too.
func (s *Server) loginBuckets(r *http.Request, username string) (network, account string) {
	n := s.clientNetwork(r)
	return "login:ip:" + n, "login:account:" + strings.ToLower(username) + ":" + n
}
