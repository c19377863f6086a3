package testkit

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Ports are picked below Linux's ephemeral range (32768–60999 by default), where the kernel
// takes the local ports of outgoing connections: a port picked there could be taken by any
// connection some test opens between the pick and the server's bind ("address already in
// use"). Below it only another pick can collide, one in twelve thousand.
const (
	pickFirst = 20000
	pickPorts = 12000
	pickTries = 100
)

// FreeAddrs returns n distinct HOST:PORTs on ip that nothing listens on right now. The ports
// are held open together while they are picked, so none is handed out twice; a test must
// still start its servers soon, before something else takes them.
func FreeAddrs(tb testing.TB, ip string, n int) []string {
	tb.Helper()
	addrs := make([]string, 0, n)
	for range n {
		ln := listenBelowEphemeral(tb, ip)
		defer ln.Close() // held until all n are picked
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// listenBelowEphemeral listens on a random port of the picking range, or, when none of
// pickTries is free, on one the kernel chooses.
func listenBelowEphemeral(tb testing.TB, ip string) net.Listener {
	tb.Helper()
	for range pickTries {
		port := pickFirst + rand.IntN(pickPorts)
		if ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			return ln
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		tb.Fatalf("find a free port on %s: %v", ip, err)
	}
	return ln
}

// FreeAddr returns a HOST:PORT on ip that nothing listens on right now.
func FreeAddr(tb testing.TB, ip string) string {
	tb.Helper()
	return FreeAddrs(tb, ip, 1)[0]
}
