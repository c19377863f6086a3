package store

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// How sort=relevance finds its candidates, the matches of highest standing (RankedCandidates
// of them), among all the matches and among the exact ones. Two ways, each best somewhere:
//
//   - walk: read the videos in order of standing (the standing index) and keep the matches
//     until there are enough. It reads candidates ÷ density rows: best when the words are
//     common (a fifth of the videos match "tutorial": 1,500 rows for 300 candidates).
//   - collect: the document index finds every match, whose rows are read for their standing
//     and sorted. It reads every match, each out of order, and the index entries of its
//     words: best when the matches are few.
//
// The counted matches (search_lexemes) bound a query's matches from above, never below. Under
// the rows a walk could read (standingWalk) the matches are few, and the document index
// collects them. Above, the bound may be far off for words that rarely go together ("home
// server" and "restore" match 54,000 and 114,000 of a million videos, together 7,073), so a
// first walk, as long as the bound says the candidates need (at most a quarter of the longest
// walk), measures: when it finds enough, they are the candidates; otherwise what it found tells
// the density of the matches, and the cheaper way, by the costs below, finds the rest: a second
// walk that goes on from the first one's last video, or the collection. A second walk that
// still finds too few falls back to the collection.
//
// A third way collects from the top tier (migration 00023, RetierSearch): the document index
// of the tenth of the videos that stand highest. When the tier holds enough matches they are
// the candidates, found among a tenth of the rows; when it holds too few, the collection
// follows. It serves matches too many to collect cheaply and too sparse to walk for: "home
// server" restore at a million videos reads 732 rows instead of 7,073.
//
// A fourth way was measured and dropped: the document index and a range of the standing index
// together (a bitmap AND, the matches among the videos above a standing). Its standing range
// costs half a microsecond per video in it, so the range that holds 300 matches of
// "home server" restore cost more than collecting all 7,073.

// Costs, in rows walked: a walk reads a video's row through the standing index for about
// 0.9 µs on this machine (a million videos, all in shared buffers).
const (
	// collectRowCost: a match the document index collects costs its row read out of order
	// and its bitmap entry, about 2.6 µs.
	collectRowCost = 3
	// collectIndexCost: the document index's own work for words common enough to walk, 8 ms
	// for "home server" restore at a million videos.
	collectIndexCost = 9000
	// walkMargin is how many more rows than the measured density says a second walk reads:
	// the density is measured on a sample, and a walk that ends short costs a collection.
	walkMargin = 1.3
)

// topTier is the top of the standing order as a search reads it: the threshold (+Inf while
// there is no tier) and about how many videos stand at or above it.
type topTier struct {
	threshold, videos float64
}

// literal is the threshold as SQL, the same number as the tier index's predicate, so that the
// planner can use the index.
func (t topTier) literal() string { return strconv.FormatFloat(t.threshold, 'g', -1, 64) + "::float8" }

// collects reports whether the tier is expected to hold the candidates of matches spread like
// the videos (share of them): enough, with the walk's margin, to be worth looking there first.
func (t topTier) collects(share float64, wanted int) bool {
	return !math.IsInf(t.threshold, 1) && share*t.videos >= walkMargin*float64(wanted)
}

// cost is the tier's collection of matches spread like the videos (share of them) in rows
// walked: its index is about as much smaller than the whole as the tier is.
func (t topTier) cost(share float64, videos int64) float64 {
	return collectIndexCost*t.videos/float64(videos) + collectRowCost*share*t.videos
}

// candidateSource is how the page statement finds one set of candidates.
type candidateSource struct {
	kind candidateKind
	// ids are the matches the first walk found: all the candidates (candidatesWalked), or
	// the first of them (candidatesWalk).
	ids []string
	// walked is how many videos the first walk read, and walk how many more the second walk
	// reads after them (candidatesWalk).
	walked, walk int64
	// top is the tier the candidates are collected from (candidatesTop).
	top topTier
}

type candidateKind int

const (
	candidatesCollected candidateKind = iota // every match, sorted by standing
	candidatesWalked                         // found by the first walk
	candidatesWalk                           // a second walk, then every match when it finds too few
	candidatesTop                            // the top tier's matches, then every match when they are too few
)

// candidateSet is one set of candidates: the matches of a tsquery ($1 all, $3 as typed).
type candidateSet struct {
	name, param string
	query       alternative
	source      candidateSource
}

// candidateSets decides how the candidates of q are found, walking first where the counts
// call for it (see above): all the matches (expanded), and the exact ones when they differ.
func candidateSets(run statementRunner, q Search, exact, expanded alternative,
	videos int64, top topTier) ([]candidateSet, error) {
	sets := []candidateSet{{name: "matched", param: "$1", query: expanded}}
	// A word typed that no video has leaves nothing exact to look for: the document index
	// would still gather every match of the other words to intersect them.
	if exact.tsquery != expanded.tsquery && exact.matches > 0 {
		sets = append(sets, candidateSet{name: "matched_exact", param: "$3", query: exact})
	}
	wanted := q.candidates()
	walkRows := standingWalk(wanted, videos)
	videos = max(videos, 1)
	walks := map[int]int64{}
	for i, set := range sets {
		few := set.query.matches <= float64(walkRows)
		// Too few to walk for, yet as many as the tier should hold enough of, spread as the
		// videos are: the tier first.
		if q.plan == planTop && !math.IsInf(top.threshold, 1) ||
			q.plan == planByMatches && few && top.collects(set.query.matches/float64(videos), wanted) {
			sets[i].source = candidateSource{kind: candidatesTop, top: top}
			continue
		}
		if q.plan == planCollect || q.plan == planTop || q.plan == planByMatches && few {
			continue
		}
		// As far as the bound says the candidates lie, were it exact.
		walks[i] = min(walkRows/4, max(1000, int64(walkMargin*float64(wanted)*float64(videos)/set.query.matches)))
	}
	if len(walks) == 0 {
		return sets, nil
	}
	found, err := walk(run, q, sets, walks, wanted)
	if err != nil {
		return nil, err
	}
	for i, walked := range walks {
		ids := found[i]
		if len(ids) == wanted {
			sets[i].source = candidateSource{kind: candidatesWalked, ids: ids}
			continue
		}
		density := max(float64(len(ids)), 0.5) / float64(min(walked, videos))
		more := int64(math.Ceil(walkMargin * float64(wanted-len(ids)) / density))
		// The walk read the top of the tier: the density it measured is the tier's.
		collect, tier := collectIndexCost+collectRowCost*density*float64(videos), math.Inf(1)
		if top.collects(density, wanted) {
			tier = top.cost(density, videos)
		}
		switch {
		case q.plan == planWalk || float64(more) < min(collect, tier) && walked+more < videos:
			sets[i].source = candidateSource{kind: candidatesWalk, ids: ids, walked: walked, walk: more}
		case tier <= collect:
			sets[i].source = candidateSource{kind: candidatesTop, top: top}
		}
	}
	return sets, nil
}

// walk reads the first videos in order of standing, as many as walks says for each set it
// holds, and returns the matches found, at most wanted, by the set's index.
func walk(run statementRunner, q Search, sets []candidateSet, walks map[int]int64,
	wanted int) (map[int][]string, error) {
	var args []any
	where := searchFilters(q, &args)
	var parts []string
	for i, set := range sets {
		walked, ok := walks[i]
		if !ok {
			continue
		}
		args = append(args, set.query.tsquery)
		match := strings.Join(append([]string{fmt.Sprintf(`s.document @@ $%d::text::tsquery`, len(args))}, where...), ` AND `)
		parts = append(parts, fmt.Sprintf(`(SELECT %d AS set, s.video_id FROM (
			SELECT s.* FROM video_search s ORDER BY s.standing DESC, s.video_id DESC LIMIT %d) s
			WHERE %s LIMIT %d)`, i, walked, match, wanted))
	}
	found := map[int][]string{}
	err := run(Statement{SQL: strings.Join(parts, ` UNION ALL `), Args: args}, func(rows pgx.Rows) error {
		var (
			set int
			id  string
		)
		err := rows.Scan(&set, &id)
		found[set] = append(found[set], id)
		return err
	})
	return found, err
}

// statementRunner runs a statement and scans each of its rows.
type statementRunner func(st Statement, scan func(pgx.Rows) error) error
