package testkit

import (
	"net"
	"testing"
)

// FreeAddrs returns n distinct HOST:PORTs on ip that nothing listens on right now. The ports
// are held open together while they are picked, so the kernel cannot hand out one twice; a
// test must still start its servers soon, before something else takes them.
func FreeAddrs(tb testing.TB, ip string, n int) []string {
	tb.Helper()
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			tb.Fatalf("find a free port on %s: %v", ip, err)
		}
		defer ln.Close() // held until all n are picked
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// FreeAddr returns a HOST:PORT on ip that nothing listens on right now.
func FreeAddr(tb testing.TB, ip string) string {
	tb.Helper()
	return FreeAddrs(tb, ip, 1)[0]
}
