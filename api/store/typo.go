package store

// Typo tolerance follows the search engines people know (Meilisearch, Typesense): each word of
// a query is corrected on its own, by its own length. A word of fewer than five letters is
// never corrected (one letter off, "cap" is as near to "cup", "cat" and "map" as to anything),
// one of five to eight letters may have one typo, one of nine or more two.
const (
	oneTypoLetters  = 5
	twoTyposLetters = 9
)

// typoBudget is how many typos a word of n letters may have.
func typoBudget(n int) int {
	switch {
	case n >= twoTyposLetters:
		return 2
	case n >= oneTypoLetters:
		return 1
	}
	return 0
}

// typos is the optimal string alignment distance between a and b, in letters: the least
// number of letters inserted, deleted or replaced, or pairs of adjacent letters swapped, that
// turn one into the other, each letter edited at most once. A swapped pair counts as one typo,
// as people make it ("mapel" for "maple"); Levenshtein distance would count two. It gives up
// and returns limit+1 as soon as the distance must exceed limit.
func typos(a, b string, limit int) int {
	s, t := []rune(a), []rune(b)
	if d := len(s) - len(t); d > limit || -d > limit {
		return limit + 1
	}
	// Three rows of the dynamic programme: two back (for swaps), the previous and this one.
	prev2 := make([]int, len(t)+1)
	prev := make([]int, len(t)+1)
	cur := make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
			rowMin = min(rowMin, d)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(t)], limit+1)
}
