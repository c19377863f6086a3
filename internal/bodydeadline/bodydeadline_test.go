package bodydeadline

import (
	"testing"
	"time"
)

func TestUploadDeadline(t *testing.T) {
	start := time.Unix(1000, 0)
	b := &body{start: start, base: 30 * time.Second, minRate: 1 << 20}
	for _, c := range []struct {
		read int64
		want time.Duration
	}{
		{0, 30 * time.Second},
		{1, 30 * time.Second},
		{1 << 20, 31 * time.Second},
		{600 << 20, 630 * time.Second},
	} {
		b.read = c.read
		if got := b.deadline().Sub(start); got != c.want {
			t.Errorf("after %d bytes: deadline in %v, want %v", c.read, got, c.want)
		}
	}
}

func TestFixedDeadline(t *testing.T) {
	start := time.Unix(1000, 0)
	b := &body{start: start, base: 30 * time.Second, read: 600 << 20}
	if got := b.deadline().Sub(start); got != 30*time.Second {
		t.Errorf("deadline in %v without a minimum rate, want the base 30s whatever was read", got)
	}
}
