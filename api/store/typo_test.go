package store

import "testing"

func TestTypos(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"maple", "maple", 2, 0},
		{"mapel", "maple", 2, 1},  // a swap is one typo
		{"coffe", "coffee", 2, 1}, // a missing letter
		{"wodden", "wooden", 2, 1},
		{"lnadscpae", "landscape", 2, 2},
		{"ca", "abc", 5, 3}, // each letter edited once: not 2, as unrestricted Damerau–Levenshtein says
		{"kitten", "sitting", 5, 3},
		{"kitten", "sitting", 1, 2}, // gives up past the limit
		{"tree", "treetops", 2, 3},  // lengths alone exceed the limit
		{"café", "cafe", 1, 1},      // letters, not bytes
	} {
		if got := typos(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("typos(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
		if got := typos(tc.b, tc.a, tc.limit); got != tc.want {
			t.Errorf("typos(%q, %q, %d) = %d, want %d (symmetric)", tc.b, tc.a, tc.limit, got, tc.want)
		}
	}
}

func TestTypoBudget(t *testing.T) {
	for n, want := range map[int]int{1: 0, 3: 0, 4: 0, 5: 1, 8: 1, 9: 2, 20: 2} {
		if got := typoBudget(n); got != want {
			t.Errorf("typoBudget(%d) = %d, want %d", n, got, want)
		}
	}
}
