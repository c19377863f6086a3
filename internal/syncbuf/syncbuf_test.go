package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritesAndTail(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "writer %d line %d\n", i, j)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "\n"); got != 400 {
		t.Errorf("%d lines, want 400", got)
	}
	tail := b.Tail(3)
	if got := strings.Count(tail, "\n"); got != 2 || strings.HasSuffix(tail, "\n") {
		t.Errorf("Tail(3) = %q, want three lines without the final newline", tail)
	}
	var short Buffer
	short.Write([]byte("only\n"))
	if got := short.Tail(5); got != "only" {
		t.Errorf("Tail(5) of one line = %q, want %q", got, "only")
	}
}
