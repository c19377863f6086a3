package testkit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// Trickle plays a slow client on conn (plain or TLS): it sends head, then a space every
// interval, and returns how long the server took to drop the connection, failing the test when
// the server still holds it after giveUp. Spaces keep a JSON body valid and a request head
// unfinished, so only a timeout can end the request. The caller closes conn.
func Trickle(tb testing.TB, conn net.Conn, head string, every, giveUp time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			time.Sleep(every)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	// A response may come first (400: the body could not be read), then the close.
	if err := conn.SetReadDeadline(start.Add(giveUp)); err != nil {
		tb.Fatal(err)
	}
	_, err := io.Copy(io.Discard, bufio.NewReader(conn))
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		tb.Fatalf("the server still held a trickling connection after %v", giveUp)
	}
	return time.Since(start)
}
