package cli

import (
	"errors"
	"slices"
	"testing"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"4GiB", 4 << 30, true},
		{"512MiB", 512 << 20, true},
		{"512 mib", 512 << 20, true},
		{"1.5G", 3 << 29, true},
		{"2GB", 2e9, true},
		{"1000000", 1e6, true},
		{"64k", 64 << 10, true},
		{"lots", 0, false},
		{"-1GiB", 0, false},
		{"GiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a, b ,c", []string{"a", "b", "c"}},
		{" , a,,", []string{"a"}},
	}
	for _, tt := range tests {
		if got := SplitList(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"one line", "open source: no such file", "open source: no such file"},
		{"a line a reason", "failed to connect:\n\thost 127.0.0.1: refused\n\thost ::1: refused\n", "failed to connect: host 127.0.0.1: refused; host ::1: refused"},
		{"blank lines", "first\n\n  \nsecond", "first; second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OneLine(errors.New(tt.in)); got != tt.want {
				t.Errorf("OneLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
