package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Search orders.
const (
	SortRelevance = "relevance"
	SortDate      = "date"
	SortViews     = "views"
)

// Duration classes of the search filter: short < 4 min ≤ medium ≤ 20 min < long.
const (
	DurationShort  = "short"
	DurationMedium = "medium"
	DurationLong   = "long"
)

// SearchTerms is a query in web-search syntax, split the way websearch_to_tsquery reads it, so
// that the words outside quotes can be corrected.
type SearchTerms struct {
	// Text is the query as typed; websearch_to_tsquery parses it.
	Text string
	// Words are the words outside quotes that are neither excluded nor the operator "or".
	Words []string
	// Phrases are the quoted phrases, which are never corrected: quotes ask for exactly that.
	Phrases []string
	// Excluded are the excluded words and phrases.
	Excluded []string
	// clauses are the words and phrases in the order typed, with the "or"s between them.
	clauses []clause
}

// clause is a word or phrase of a query.
type clause struct {
	// body is the word, or the words of the phrase without quotes.
	body    string
	phrase  bool
	exclude bool
	// or says the clause is an alternative to the one before it: "cats or dogs".
	or bool
}

// Positive reports whether the query looks for something, rather than only excluding.
func (t SearchTerms) Positive() bool { return len(t.Words) > 0 || len(t.Phrases) > 0 }

// ParseSearch splits q as websearch_to_tsquery does: "quoted phrases", a leading - to exclude
// a word or phrase, and "or" between alternatives.
func ParseSearch(q string) SearchTerms {
	t := SearchTerms{Text: q}
	rs := []rune(q)
	// or is set by an "or" between two words or phrases to look for.
	or := false
	add := func(c clause) {
		if c.exclude {
			or = false
		} else {
			c.or = or && len(t.clauses) > 0 && !t.clauses[len(t.clauses)-1].exclude
			or = false
		}
		t.clauses = append(t.clauses, c)
	}
	for i := 0; i < len(rs); {
		if unicode.IsSpace(rs[i]) {
			i++
			continue
		}
		negate := false
		for i < len(rs) && rs[i] == '-' {
			negate = !negate
			i++
		}
		if i == len(rs) {
			break
		}
		if rs[i] == '"' {
			end := i + 1
			for end < len(rs) && rs[end] != '"' {
				end++
			}
			phrase := strings.Join(strings.Fields(string(rs[i+1:min(end, len(rs))])), " ")
			i = end + 1
			switch {
			case phrase == "":
			case negate:
				t.Excluded = append(t.Excluded, `"`+phrase+`"`)
				add(clause{body: phrase, phrase: true, exclude: true})
			default:
				t.Phrases = append(t.Phrases, `"`+phrase+`"`)
				add(clause{body: phrase, phrase: true})
			}
			continue
		}
		end := i
		for end < len(rs) && !unicode.IsSpace(rs[end]) && rs[end] != '"' {
			end++
		}
		word := string(rs[i:end])
		switch {
		case word == "": // a dash on its own
		case strings.EqualFold(word, "or"):
			or = !negate
		case negate:
			t.Excluded = append(t.Excluded, word)
			add(clause{body: word, exclude: true})
		default:
			t.Words = append(t.Words, word)
			add(clause{body: word})
		}
		i = end
	}
	return t
}

// tokens splits a word the way the vocabulary is built: runs of letters and digits,
// lower-cased.
func tokens(word string) []string {
	return strings.FieldsFunc(strings.ToLower(word), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// MaxSearchWords bounds the words and phrases of a query: each costs a lookup in the
// vocabulary and a term in every match's check, and nobody types more.
const MaxSearchWords = 32

// Clauses reports how many words and phrases the query has, excluded ones included.
func (t SearchTerms) Clauses() int { return len(t.clauses) }

// Search is one page of a search.
type Search struct {
	Terms SearchTerms
	// Sort is SortRelevance, SortDate or SortViews.
	Sort string
	// Duration is "" or one of the Duration classes.
	Duration string
	// Since, when set, keeps videos published at or after it.
	Since *time.Time
	// Now is the moment recency is measured from. Every page of one search uses the same, so
	// that scores, and with them the cursor, do not drift between pages.
	Now time.Time
	// After is the last hit of the previous page; nil for the first page.
	After *SearchCursor
	// Limit is how many hits to return at most.
	Limit int
	// Candidates bounds the matches sort=relevance scores (see RankedCandidates); 0 means
	// RankedCandidates. Benchmarks set it above any count to score every match, as search
	// did before the bound, for reference.
	Candidates int
	// plan forces how the candidates are found, for tests that check every plan finds the
	// same; the zero value lets the counted matches choose.
	plan candidatePlan
}

// candidatePlan is how sort=relevance finds its candidates (see searchStatement).
type candidatePlan int

const (
	planByMatches candidatePlan = iota // the document index under √(candidates × videos) matches, else the walks
	planCollect                        // the document index
	planWalk                           // the walks, then the document index when they find too few
	planTop                            // the top tier's index, then the document index when it finds too few
)

// candidates is how many matches sort=relevance scores at most.
func (q Search) candidates() int { return cmp.Or(q.Candidates, RankedCandidates) }

// SearchCursor is the position of a hit in its search's order: the sort key of that order
// (score, publication time or views) and the id that breaks ties.
type SearchCursor struct {
	Score     float64
	Published time.Time
	Views     int64
	ID        string
}

// SearchHit is a video a search found, with its score (0 unless sorted by relevance).
type SearchHit struct {
	Video Video
	Score float64
}

// Statement is one SQL statement and its arguments.
type Statement struct {
	SQL  string
	Args []any
	// Prepared says the statement's best plan does not depend on its arguments, so it is
	// prepared once per connection and planned only until PostgreSQL settles on a generic
	// plan. Every other statement is planned for its arguments.
	Prepared bool
}

// Search runs one page of a search over the videos anyone may see: public, ready (so not
// removed) and not held for review. It returns the hits and whether the search also looked
// for corrections or completions of the words typed.
func (s *Store) Search(ctx context.Context, q Search) ([]SearchHit, bool, error) {
	return s.search(ctx, q, nil)
}

// SearchStatements runs a search as Search does and returns the statements it ran, for
// benchmarks that explain them. Run them with pgx.QueryExecModeExec, as Search does.
func (s *Store) SearchStatements(ctx context.Context, q Search) ([]Statement, error) {
	var stmts []Statement
	_, _, err := s.search(ctx, q, func(st Statement) { stmts = append(stmts, st) })
	return stmts, err
}

func (s *Store) search(ctx context.Context, q Search, trace func(Statement)) ([]SearchHit, bool, error) {
	// Every statement is planned for its arguments (an unnamed statement, never a cached
	// generic plan): how to collect the matches of rare words depends on how rare they are,
	// which a generic plan cannot know.
	var run statementRunner = func(st Statement, scan func(pgx.Rows) error) error {
		if trace != nil {
			trace(st)
		}
		mode := pgx.QueryExecModeExec
		if st.Prepared {
			mode = pgx.QueryExecModeCacheStatement
		}
		rows, err := s.pool.Query(ctx, st.SQL, append([]any{mode}, st.Args...)...)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("search: %w", err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		return nil
	}

	items := queryItems(q.Terms)
	if len(items) == 0 {
		return nil, false, nil
	}
	lex := make([]itemLexemes, len(items))
	var (
		videos int64 // searchable, as the planner's statistics count them
		top    topTier
	)
	err := run(lexemeStatement(items), func(rows pgx.Rows) error {
		var (
			i                    int
			kind, norm, term, tq string
			matches              *float64
		)
		if err := rows.Scan(&i, &kind, &norm, &term, &tq, &matches); err != nil {
			return err
		}
		switch kind {
		case "videos": // reltuples is -1 until the table is first analysed, hence greatest
			n, err := strconv.ParseInt(term, 10, 64)
			videos = n
			return err
		case "top":
			t, err := strconv.ParseFloat(term, 64) // "Infinity" until the first retiering
			top = topTier{threshold: t, videos: *matches}
			return err
		}
		lex[i-1].add(kind, norm, term, alternative{tsquery: tq, matches: matchesOrUnknown(matches)})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	exact := composeQuery(q.Terms.clauses, items, lex, false)
	expanded := composeQuery(q.Terms.clauses, items, lex, true)
	if exact.tsquery == "" && expanded.tsquery == "" {
		return nil, false, nil // stop words only
	}
	if expanded.matches == 0 {
		return nil, expanded.tsquery != exact.tsquery, nil // a word no video has
	}
	var sets []candidateSet
	if q.Sort != SortDate && q.Sort != SortViews {
		if sets, err = candidateSets(run, q, exact, expanded, videos, top); err != nil {
			return nil, false, err
		}
	}
	var hits []SearchHit
	err = run(searchStatement(q, exact, expanded, sets), func(rows pgx.Rows) error {
		var h SearchHit
		err := rows.Scan(append(videoDest(&h.Video), &h.Score)...)
		hits = append(hits, h)
		return err
	})
	return hits, expanded.tsquery != exact.tsquery, err
}

// maxPrefixLexemes bounds the lexemes whose videos are summed to bound the matches of the
// last word as a prefix: a prefix of one or two letters begins thousands, and then is common
// enough for the walk (see searchStatement) anyway.
const maxPrefixLexemes = 500

// maxPrefixSpelled bounds the lexemes the last word as a prefix is spelled out as. The
// document index gathers every match of a prefix into a bitmap before anything else (70 ms
// for "restor" among a million videos, whatever the other words), while it skips through
// the matches of a list of words by the rarest; the counts (search_lexemes) list the words.
// Listed one by one, a lexeme that is also a completion of the word is searched once.
const maxPrefixSpelled = 16

// maxAlternatives bounds the corrections, and separately the completions, one word is
// searched with: the nearest (fewest typos) and the shortest come first.
const maxAlternatives = 8

// queryItem is a word or phrase of a query, as the database turns it into lexemes.
type queryItem struct {
	// body is the word, or the phrase's words, as typed.
	body string
	// word: the body is one word (letters and digits, lower-cased, what it was typed with
	// around it dropped), which may be corrected and completed; otherwise it is matched as
	// typed, its words in order ("pixel-art", "3.5", a quoted phrase).
	word bool
	// budget is the number of typos a correction of the word may have.
	budget int
	// prefix: the word is the last of the query, still being typed, so it also matches the
	// words it begins.
	prefix bool
}

// queryItems returns one item per clause of the query, in order. Quoted phrases and excluded
// words are never corrected: quotes and exclusions ask for exactly what they say.
func queryItems(t SearchTerms) []queryItem {
	items := make([]queryItem, len(t.clauses))
	for i, c := range t.clauses {
		toks := tokens(c.body)
		if c.phrase || c.exclude || len(toks) != 1 {
			items[i] = queryItem{body: c.body}
			continue
		}
		items[i] = queryItem{body: toks[0], word: true, budget: typoBudget(utf8.RuneCountInString(toks[0])),
			prefix: i == len(t.clauses)-1}
	}
	return items
}

// itemLexemes is what an item may match, as tsquery text.
type itemLexemes struct {
	// exact is the item as typed; its tsquery is "" when it is only stop words or punctuation.
	exact alternative
	// prefixes are the last word as the beginning of words: the lexemes it begins, each on
	// its own, or one prefix match when they are too many to list (maxPrefixSpelled).
	prefixes []alternative
	// completions are vocabulary words the last word begins, as typed: stemming may cut a
	// word shorter than its beginning ("swaying" is indexed as "sway", so "swayin" as a
	// prefix misses it, while the completion "swaying" finds it).
	completions []alternative
	// corrections are the vocabulary words within the word's typo budget, nearest first.
	corrections []correction
}

// alternative is one way an item may match: tsquery text, and at most how many videos it
// matches (see lexemeSQL), +Inf when that is not known.
type alternative struct {
	tsquery string
	matches float64
}

// matchesOrUnknown reads lexemeSQL's matches column, NULL for a prefix that begins too many
// lexemes to count.
func matchesOrUnknown(matches *float64) float64 {
	if matches == nil {
		return math.Inf(1)
	}
	return *matches
}

type correction struct {
	typos int
	term  string
	alternative
}

// add records one row of lexemeSQL. Corrections are checked here, by typos: the database
// finds the words that may be near (they share a deletion), this decides which are. The
// vocabulary keeps words no video has any more (migration 00006); the counts leave them out
// of corrections and completions, where they could only lead to a search that finds nothing.
func (l *itemLexemes) add(kind, norm, term string, alt alternative) {
	if (kind == "completion" || kind == "correction") && alt.matches == 0 {
		return
	}
	switch kind {
	case "exact":
		l.exact = alt
	case "prefix":
		l.prefixes = append(l.prefixes, alt)
	case "completion":
		l.completions = append(l.completions, alt)
	case "correction":
		budget := typoBudget(utf8.RuneCountInString(norm))
		if n := typos(norm, term, budget); n <= budget && alt.tsquery != "" {
			l.corrections = append(l.corrections, correction{typos: n, term: term, alternative: alt})
		}
	}
}

// alternatives returns what the item matches: exact, with the prefix of the last word, and,
// when expand is set, with the corrections and completions too; each tsquery once.
func (l itemLexemes) alternatives(expand bool) []alternative {
	var out []alternative
	seen := func(q string) bool {
		return slices.ContainsFunc(out, func(a alternative) bool { return a.tsquery == q })
	}
	for _, a := range append([]alternative{l.exact}, l.prefixes...) {
		if a.tsquery != "" && !seen(a.tsquery) {
			out = append(out, a)
		}
	}
	if !expand {
		return out
	}
	slices.SortFunc(l.corrections, func(a, b correction) int {
		if a.typos != b.typos {
			return a.typos - b.typos
		}
		return strings.Compare(a.term, b.term)
	})
	for i, c := range l.corrections {
		if i < maxAlternatives && !seen(c.tsquery) {
			out = append(out, c.alternative)
		}
	}
	for _, a := range l.completions {
		if a.tsquery != "" && !seen(a.tsquery) {
			out = append(out, a)
		}
	}
	return out
}

// composeQuery writes the tsquery of the whole query: the clauses joined by "&", or by "|"
// where "or" joins them ("cats or dogs kittens" is (cats | dogs) & kittens, as web search
// engines read it), each word the alternatives it may match, and the exclusions negated. The
// lexemes come from the database as tsquery text; only operators and parentheses are added
// here, so nothing a user typed is parsed as tsquery syntax. Its tsquery is "" when nothing
// is left to look for (the query was stop words).
//
// Its matches bound the videos the whole query matches: a match matches every group, so at
// most as many as the rarest group, and a group at most the sum of its alternatives. Unlike
// the planner's estimate, which multiplies the shares of the words as if they were
// independent, this never guesses low for words that go together (see migration 00021).
func composeQuery(clauses []clause, items []queryItem, lex []itemLexemes, expand bool) alternative {
	var groups, excluded, group []string
	matches, groupMatches := math.Inf(1), 0.0
	flush := func() {
		if len(group) > 0 {
			groups = append(groups, "("+strings.Join(group, " | ")+")")
			matches = min(matches, groupMatches)
		}
		group, groupMatches = nil, 0
	}
	for i, c := range clauses {
		alts := lex[i].alternatives(expand && items[i].word)
		if len(alts) == 0 {
			continue
		}
		tsqueries := make([]string, len(alts))
		for j, a := range alts {
			tsqueries[j] = a.tsquery
		}
		q := "(" + strings.Join(tsqueries, " | ") + ")"
		if c.exclude {
			excluded = append(excluded, "!"+q)
			continue
		}
		if !c.or {
			flush()
		}
		group = append(group, q)
		for _, a := range alts {
			groupMatches += a.matches
		}
	}
	flush()
	if len(groups) == 0 {
		return alternative{matches: matches}
	}
	return alternative{tsquery: strings.Join(append(groups, excluded...), " & "), matches: matches}
}

// lexemeSQL turns a query's items into tsquery text, one row per alternative: (item number
// from 1, kind, the item lower-cased and unaccented, the vocabulary word, tsquery text,
// matches).
//
// Corrections come from search_term_deletions (migration 00017), every vocabulary word under
// every way of deleting one or two of its letters: two words within k typos (insertions,
// deletions, replacements, swaps of neighbours) have a deletion of at most k letters in
// common, so the words that share one of the typed word's deletions are all its possible
// corrections, found by a few dozen index probes whatever the size of the vocabulary. Go
// keeps those within the budget (typos). A word that is a stop word is not corrected:
// "there" is not a misspelt "three".
//
// Completions of the last word are the shortest vocabulary words it begins, through the
// text_pattern_ops index: a byte-wise range, so collations cannot reorder it.
//
// Matches bounds the videos an alternative matches: a match has each of its lexemes, so at
// most as many as the rarest lexeme has (search_lexemes, migration 00021); the last word as a
// prefix at most as many as all the lexemes it begins together, or NULL (no bound) when it
// begins more than maxPrefixLexemes of them.
const lexemeSQL = `
	WITH item AS (
		SELECT i::int, body, word, budget, prefix, lower(unaccent(body)) AS norm
		FROM unnest($1::text[], $2::bool[], $3::int[], $4::bool[]) WITH ORDINALITY AS t(body, word, budget, prefix, i)),
	prefixed AS (
		SELECT item.i, item.norm, l.lexeme, l.documents FROM item
		CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('video_search', item.norm))) AS p
		LEFT JOIN LATERAL (SELECT lexeme, documents FROM search_lexemes
			WHERE lexeme ~>=~ p AND lexeme ~<~ (p || U&'\+10FFFF') ORDER BY lexeme LIMIT $6::int + 1) l ON true
		WHERE item.prefix AND item.norm ~ '^[[:alnum:]]+$'),
	prefix_count AS (
		SELECT i, norm, count(lexeme) AS lexemes, coalesce(sum(documents), 0) AS documents FROM prefixed GROUP BY i, norm),
	alternative AS (
		SELECT i, 'exact' AS kind, norm, '' AS term, phraseto_tsquery('video_search', body)::text AS tsquery,
			body AS words, NULL::float8 AS matches
		FROM item
		UNION ALL
		SELECT p.i, 'prefix', p.norm, '', '''' || replace(replace(p.lexeme, '\', '\\'), '''', '\''') || '''', NULL,
			p.documents::float8
		FROM prefixed p JOIN prefix_count c ON c.i = p.i WHERE c.lexemes BETWEEN 1 AND $7::int
		UNION ALL
		SELECT i, 'prefix', norm, '', to_tsquery('video_search', quote_literal(norm) || ':*')::text, NULL,
			CASE WHEN lexemes <= $6::int THEN documents END
		FROM prefix_count WHERE lexemes = 0 OR lexemes > $7::int
		UNION ALL
		SELECT i, 'completion', norm, c.term, plainto_tsquery('video_search', c.term)::text, c.term, NULL FROM item
		CROSS JOIN LATERAL (
			SELECT t.term FROM search_terms t
			WHERE t.term ~>=~ item.norm AND t.term ~<~ (item.norm || U&'\+10FFFF') AND t.term <> item.norm
			ORDER BY length(t.term), t.term LIMIT $5::int) c
		WHERE prefix AND length(norm) >= 2
		UNION ALL
		SELECT DISTINCT i, 'correction', norm, d.term, plainto_tsquery('video_search', d.term)::text, d.term, NULL::float8
		FROM item
		JOIN search_term_deletions d ON d.variant = ANY (ARRAY(SELECT v FROM search_deletions(item.norm, item.budget) AS v))
		WHERE word AND budget > 0 AND d.term <> item.norm AND to_tsvector('video_search', body) <> ''::tsvector)
	SELECT 0, 'videos', '', greatest(reltuples, 0)::bigint::text, '', NULL::float8 FROM pg_class WHERE oid = 'video_search'::regclass
	UNION ALL
	SELECT 0, 'top', '', threshold::text, '', videos::float8 FROM search_top
	UNION ALL
	SELECT a.i, a.kind, a.norm, a.term, a.tsquery, coalesce(a.matches, (
		SELECT min(coalesce(l.documents, 0)) FROM unnest(tsvector_to_array(to_tsvector('video_search', a.words))) AS w
		LEFT JOIN search_lexemes l ON l.lexeme = w))
	FROM alternative a`

func lexemeStatement(items []queryItem) Statement {
	bodies, words, budgets, prefixes := make([]string, len(items)), make([]bool, len(items)), make([]int32, len(items)), make([]bool, len(items))
	for i, it := range items {
		bodies[i], words[i], budgets[i], prefixes[i] = it.body, it.word, int32(it.budget), it.prefix
	}
	// Prepared: the words are looked up by index whatever they are, and planning this
	// statement cost more than running it (1–3 ms against 1 ms).
	return Statement{SQL: lexemeSQL, Args: []any{bodies, words, budgets, prefixes, maxAlternatives, maxPrefixLexemes,
		maxPrefixSpelled}, Prepared: true}
}

// RankedCandidates is how many matches sort=relevance scores, at most, whatever their
// number: the ones of highest standing (below), among the exact matches and among all.
// Scoring (ts_rank_cd) is the costly part of a search; a common word matches a fifth of the
// videos, and scoring them all grew with the catalogue (35 ms at 100,000 videos). The
// candidates come from walks down the standing index that stop after this many matches, or
// from the matches the document index finds, sorted by standing (candidateSets). Relevance pages therefore end after these candidates; sort=date
// and sort=views page through every match.
const RankedCandidates = 300

// standingWalk is the counted matches under which the document index collects the
// candidates rather than walking for them, and four times the longest first walk
// (candidateSets): √(candidates × videos), at least 2,000 — 5,100 at 87,000 searchable videos,
// 16,000 at 870,000. Under it the matches are few enough to collect; above it a walk finds
// the candidates of common words after a few hundred rows.
func standingWalk(candidates int, videos int64) int64 {
	return max(2000, int64(math.Sqrt(float64(candidates)*float64(videos))))
}

// Ranking. The score of a video for sort=relevance is
//
//	exact + relevance × (1 + 0.5 × recency + 0.5 × popularity) / 2
//
// where exact is 1 when the video matches the words as typed (the last also as a prefix) and
// 0 when it matches only through a correction, so exact matches come first; relevance is
// ts_rank_cd with weights A (title) 1.0, B (tags, channel) 0.4, C (description, captions) 0.2
// and D 0.1, normalised by rank/(rank+1) into [0, 1): one title hit scores 0.5, one
// description hit 0.17. Recency is 1 / (1 + age in days / 30): 1 when new, ½ after a month,
// 0.08 after a year. Popularity is video_popularity of the counts (migration 00006):
// ln(1 + views + 10 × max(likes − dislikes, 0)) / ln(10⁶), capped at 1, so a thousand views
// score 0.5 and a million 1. The factor lies in [1, 2]: recency and popularity order videos
// of similar relevance, but never lift a single description match over a single title match.
//
// Standing (migration 00017), which chooses the candidates, is popularity plus 0.1 for every
// 30 days of publication date: unlike recency it needs no "now", so an index keeps it in order.
const (
	searchRank  = `ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', s.document, tq.q, 32)`
	searchBoost = `(1 + 0.5 / (1 + greatest(date_part('epoch', tq.now - s.published_at), 0) / 2592000) + 0.5 * s.popularity)`
	// searchVisible is who may see a video in search, as video_searchable says. video_search
	// holds only such videos; the page checks its rows again, which costs nothing for a page.
	searchVisible = `v.visibility = 'public' AND v.status = 'ready' AND v.moderation <> 'held'`
)

// searchFilters returns the conditions of q's filters on video_search s, adding their
// arguments to args.
func searchFilters(q Search, args *[]any) []string {
	var filters []string
	switch q.Duration {
	case DurationShort:
		filters = append(filters, `s.duration_seconds < 240`)
	case DurationMedium:
		filters = append(filters, `s.duration_seconds BETWEEN 240 AND 1200`)
	case DurationLong:
		filters = append(filters, `s.duration_seconds > 1200`)
	}
	if q.Since != nil {
		*args = append(*args, *q.Since)
		filters = append(filters, fmt.Sprintf(`s.published_at >= $%d::timestamptz`, len(*args)))
	}
	return filters
}

// searchStatement builds the statement of one page of q: expanded is the tsquery with
// corrections and completions, exact without; sets, for sort=relevance, say how the
// candidates are found (candidateSets). Clauses are left out rather than switched off with
// parameters, so that every variant gets a plan of its own. The tsqueries are constants once
// bound ($n::text::tsquery folds), so the planner sees how common their words are.
func searchStatement(q Search, exact, expanded alternative, sets []candidateSet) Statement {
	args := []any{expanded.tsquery, q.Now, exact.tsquery}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where := strings.Join(append([]string{`s.document @@ $1::text::tsquery`}, searchFilters(q, &args)...), ` AND `)

	// key is the order's sort key, keyset-paginated with the id breaking ties.
	var ctes []string
	var after any
	key, keyType, score := `(s.document @@ tq.exact)::int + `+searchRank+` * `+searchBoost+` / 2`, `float8`, `page.key`
	from := `video_search s`
	if q.After != nil {
		after = q.After.Score
	}
	switch q.Sort {
	case SortDate:
		key, keyType, score = `s.published_at`, `timestamptz`, `0::float8`
		if q.After != nil {
			after = q.After.Published
		}
	case SortViews:
		// Views change too often to copy into video_search: read them from videos.
		from += ` JOIN videos v ON v.id = s.video_id`
		key, keyType, score = `v.view_count`, `bigint`, `0::float8`
		if q.After != nil {
			after = q.After.Views
		}
	default:
		// The candidates (see candidateSets). The exact matches are a subset of all: when all
		// the matches are fewer than the candidates wanted, they are among them, and the exact
		// ones are not looked for again. Limits are constants to the planner, which walks or
		// windows an index only when it knows how far: with a limit it cannot see, it sorted
		// the whole table instead.
		// limit is bound only where used: a parameter no clause reads has no type.
		var limitArg string
		limit := func() string {
			if limitArg == "" {
				limitArg = arg(q.candidates())
			}
			return limitArg
		}
		candidates := func(set candidateSet, gate string) string {
			match := strings.Replace(where, `$1::text`, set.param+`::text`, 1)
			// sorted keeps the wanted of highest standing among the matches of a condition.
			// OFFSET 0 plans the condition on its own, so the planner cannot turn it into a
			// walk of its choosing by the ORDER BY … LIMIT around it.
			sorted := func(cond string) string {
				return `SELECT s.video_id FROM (
					SELECT s.video_id, s.standing FROM video_search s WHERE ` + cond + ` OFFSET 0) s
				ORDER BY s.standing DESC, s.video_id DESC LIMIT ` + limit()
			}
			switch set.source.kind {
			case candidatesTop:
				// The tier's matches when they are enough: every video in it stands above every
				// video outside. Else all the matches, like candidatesCollected.
				top := set.name + `_top`
				ctes = append(ctes, top+` AS (`+sorted(match+` AND s.standing >= `+set.source.top.literal()+` AND `+gate)+`)`,
					set.name+` AS (SELECT video_id FROM `+top+` UNION (`+
						sorted(match+` AND (SELECT count(*) FROM `+top+`) < `+limit()+` AND `+gate)+`))`)
			case candidatesWalked:
				ctes = append(ctes, set.name+` AS (SELECT unnest(`+arg(set.source.ids)+`::text[]) AS video_id)`)
			case candidatesWalk:
				// The second walk goes on after the last video the first one read: rows compare
				// as the standing index orders them, so the index starts there.
				last, walk := set.name+`_last`, set.name+`_walk`
				ctes = append(ctes, last+` AS (SELECT standing, video_id FROM video_search
						ORDER BY standing DESC, video_id DESC OFFSET `+arg(set.source.walked-1)+` LIMIT 1)`,
					walk+` AS ((SELECT s.video_id FROM (
						SELECT s.* FROM video_search s
						WHERE (s.standing, s.video_id) < ((SELECT standing FROM `+last+`), (SELECT video_id FROM `+last+`))
							AND `+gate+`
						ORDER BY s.standing DESC, s.video_id DESC LIMIT `+arg(set.source.walk)+`) s
					WHERE `+match+` LIMIT `+arg(q.candidates()-len(set.source.ids))+`)
					UNION ALL SELECT unnest(`+arg(set.source.ids)+`::text[]))`,
					set.name+` AS (SELECT video_id FROM `+walk+` UNION (`+
						sorted(match+` AND (SELECT count(*) FROM `+walk+`) < `+limit()+` AND `+gate)+`))`)
			default:
				ctes = append(ctes, set.name+` AS (`+sorted(match+` AND `+gate)+`)`)
			}
			return `SELECT video_id FROM ` + set.name
		}
		union := candidates(sets[0], `true`)
		for _, set := range sets[1:] {
			union += ` UNION ` + candidates(set, `(SELECT count(*) FROM `+sets[0].name+`) >= `+limit())
		}
		// Looked up by id, whatever the planner guesses of the candidates' number: joined, a
		// guess of a few hundred rows made it hash the whole table (15 ms at 60,000 videos).
		where = `s.video_id = ANY (ARRAY(` + union + `))`
	}
	keyset := ``
	if q.After != nil {
		keyset = ` WHERE (m.key, m.id) < (` + arg(after) + `::` + keyType + `, ` + arg(q.After.ID) + `::text)`
	}
	sql := `WITH ` + strings.Join(append(ctes, `page AS (
		SELECT m.id, m.key FROM (`), `, `)
	sql += `
			SELECT s.video_id AS id, ` + key + ` AS key
			FROM ` + from + `,
				(SELECT $3::text::tsquery AS exact, $1::text::tsquery AS q, $2::timestamptz AS now) tq
			WHERE ` + where + `) m` + keyset + `
		ORDER BY m.key DESC, m.id DESC LIMIT ` + arg(q.Limit) + `)
	SELECT ` + videoColumns + `, ` + score + `
	FROM page JOIN videos v ON v.id = page.id JOIN users u ON u.id = v.owner_id
	WHERE ` + searchVisible + `
	ORDER BY page.key DESC, page.id DESC`
	return Statement{SQL: sql, Args: args}
}
