package store

import (
	"context"
	"fmt"
	"slices"
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

// fewMatches is how many full-text matches a search must find for spelling correction to
// stay off: below it, the first page also looks for the query with its unknown words
// corrected, and later pages keep doing so.
const fewMatches = 5

// minMisspelt is the length of the shortest word search corrects: one letter off, a shorter
// word is as near to many other words as to the one meant.
const minMisspelt = 4

// SimilarityThreshold is the least trigram similarity (pg_trgm's similarity: the trigrams two
// words share over the trigrams of either) of a correction to the word typed. 0.4 accepts one
// wrong, missing or doubled letter in words of five letters or more ("togther" is 0.55 from
// "together", "okonkow" 0.45 from "okonkwo") and little else.
const SimilarityThreshold = 0.4

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
	// spans are the positions of Words in Text, in runes.
	spans [][2]int
}

// Positive reports whether the query looks for something, rather than only excluding.
func (t SearchTerms) Positive() bool { return len(t.Words) > 0 || len(t.Phrases) > 0 }

// ParseSearch splits q as websearch_to_tsquery does: "quoted phrases", a leading - to exclude
// a word or phrase, and "or" between alternatives.
func ParseSearch(q string) SearchTerms {
	t := SearchTerms{Text: q}
	rs := []rune(q)
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
			default:
				t.Phrases = append(t.Phrases, `"`+phrase+`"`)
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
		case negate:
			t.Excluded = append(t.Excluded, word)
		default:
			t.Words = append(t.Words, word)
			t.spans = append(t.spans, [2]int{i, end})
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

// correctable lists the distinct tokens of the words outside quotes long enough to correct.
func (t SearchTerms) correctable() []string {
	var out []string
	for _, w := range t.Words {
		for _, tok := range tokens(w) {
			if utf8.RuneCountInString(tok) >= minMisspelt && !slices.Contains(out, tok) {
				out = append(out, tok)
			}
		}
	}
	return out
}

// rewrite returns the query with the tokens of its words outside quotes replaced as fix says;
// phrases, exclusions and operators stay as typed, so websearch_to_tsquery reads the
// corrected query as it read the original.
func (t SearchTerms) rewrite(fix map[string]string) string {
	rs := []rune(t.Text)
	var b strings.Builder
	prev := 0
	for _, sp := range t.spans {
		b.WriteString(string(rs[prev:sp[0]]))
		word := rs[sp[0]:sp[1]]
		for j := 0; j < len(word); {
			if !unicode.IsLetter(word[j]) && !unicode.IsDigit(word[j]) {
				b.WriteRune(word[j])
				j++
				continue
			}
			end := j
			for end < len(word) && (unicode.IsLetter(word[end]) || unicode.IsDigit(word[end])) {
				end++
			}
			tok := string(word[j:end])
			if f, ok := fix[strings.ToLower(tok)]; ok {
				tok = f
			}
			b.WriteString(tok)
			j = end
		}
		prev = sp[1]
	}
	b.WriteString(string(rs[prev:]))
	return b.String()
}

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
	// Corrected says the search includes the query with its misspelt words corrected. The
	// first page decides; later pages repeat what it decided.
	Corrected bool
	// Limit is how many hits to return at most.
	Limit int
}

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
}

// Search runs one page of a search over the videos anyone may see: public, ready (so not
// removed) and not held for review. It returns the hits and whether the search includes the
// corrected query, which later pages must repeat.
func (s *Store) Search(ctx context.Context, q Search) ([]SearchHit, bool, error) {
	return s.search(ctx, q, nil)
}

// SearchStatements runs a search as Search does and returns the statements it ran, for
// benchmarks that explain them.
func (s *Store) SearchStatements(ctx context.Context, q Search) ([]Statement, error) {
	var stmts []Statement
	_, _, err := s.search(ctx, q, func(st Statement) { stmts = append(stmts, st) })
	return stmts, err
}

func (s *Store) search(ctx context.Context, q Search, trace func(Statement)) ([]SearchHit, bool, error) {
	run := func(st Statement, scan func(pgx.Rows) error) error {
		if trace != nil {
			trace(st)
		}
		rows, err := s.pool.Query(ctx, st.SQL, st.Args...)
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
	page := func(q Search, corrected string) ([]SearchHit, error) {
		var hits []SearchHit
		err := run(searchStatement(q, corrected), func(rows pgx.Rows) error {
			var h SearchHit
			err := rows.Scan(append(videoDest(&h.Video), &h.Score)...)
			hits = append(hits, h)
			return err
		})
		return hits, err
	}
	// correct returns the query with its unknown words replaced by the nearest words of the
	// vocabulary, or "" when no word needed or found a correction.
	correct := func() (string, error) {
		toks := q.Terms.correctable()
		if len(toks) == 0 {
			return "", nil
		}
		fix := map[string]string{}
		err := run(Statement{SQL: correctionSQL, Args: []any{toks, SimilarityThreshold}}, func(rows pgx.Rows) error {
			var tok, term string
			err := rows.Scan(&tok, &term)
			fix[tok] = term
			return err
		})
		if err != nil || len(fix) == 0 {
			return "", err
		}
		return q.Terms.rewrite(fix), nil
	}

	if q.After != nil {
		corrected := ""
		if q.Corrected {
			var err error
			if corrected, err = correct(); err != nil {
				return nil, false, err
			}
		}
		hits, err := page(q, corrected)
		return hits, q.Corrected, err
	}
	// The first page: enough exact matches to tell whether they are few.
	want := q.Limit
	q.Limit = max(want, fewMatches)
	hits, err := page(q, "")
	if err != nil || len(hits) >= fewMatches {
		return hits[:min(len(hits), want)], false, err
	}
	q.Limit = want
	corrected, err := correct()
	if err != nil || corrected == "" {
		return hits[:min(len(hits), want)], false, err
	}
	hits, err = page(q, corrected)
	return hits, true, err
}

// correctionSQL finds, for each token that is not a word of the vocabulary, its nearest word.
// The % operator (similarity above pg_trgm.similarity_threshold, 0.3 by default) is the one
// the trigram index serves; the explicit bound above it is the one that counts.
const correctionSQL = `
	SELECT w.token, c.term
	FROM unnest($1::text[]) AS w(token)
	CROSS JOIN LATERAL (SELECT lower(unaccent(w.token)) AS norm) n
	CROSS JOIN LATERAL (
		SELECT t.term FROM search_terms t
		WHERE t.term % n.norm AND similarity(t.term, n.norm) >= $2::real
		ORDER BY similarity(t.term, n.norm) DESC, t.term
		LIMIT 1) c
	WHERE NOT EXISTS (SELECT 1 FROM search_terms k WHERE k.term = n.norm)`

// Ranking. The score of a video for sort=relevance is
//
//	relevance × (1 + 0.5 × recency + 0.5 × popularity)
//
// where relevance is ts_rank_cd with weights A (title) 1.0, B (tags, channel) 0.4, C
// (description, captions) 0.2 and D 0.1, normalised by rank/(rank+1) into [0, 1): one title
// hit scores 0.5, one description hit 0.17. Recency is 1 / (1 + age in days / 30): 1 when
// new, ½ after a month, 0.08 after a year. Popularity is video_popularity of the counts
// (migration 00006): ln(1 + views + 10 × max(likes − dislikes, 0)) / ln(10⁶), capped at 1, so
// a thousand views score 0.5 and a million 1. The factor lies in [1, 2]: recency and
// popularity order videos of similar relevance, but never lift a single description match over
// a single title match.
const (
	searchRank  = `ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', s.document, tq.q, 32)`
	searchBoost = `(1 + 0.5 / (1 + greatest(date_part('epoch', tq.now - s.published_at), 0) / 2592000) + 0.5 * s.popularity)`
	// searchVisible is who may see a video in search, as video_searchable says. video_search
	// holds only such videos; the page checks its rows again, which costs nothing for a page.
	searchVisible = `v.visibility = 'public' AND v.status = 'ready' AND v.moderation <> 'held'`
)

// searchStatement builds the statement of one page of q; corrected, when not "", is the query
// with its misspelt words corrected, searched for as well. Clauses are left out rather than
// switched off with parameters, so that every variant gets a plan of its own.
//
// The inner query scores every match, which is what ranking needs (a GIN index finds matches,
// not the best ones), keeps the page's rows with a top-N sort, and only those are joined to
// videos and users. The tsquery is computed once, in tq (OFFSET 0 keeps the planner from
// copying its expression into every row's).
func searchStatement(q Search, corrected string) Statement {
	args := []any{q.Terms.Text, q.Now}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	tsquery := `websearch_to_tsquery('video_search', $1)`
	if corrected != "" {
		tsquery += ` || websearch_to_tsquery('video_search', ` + arg(corrected) + `)`
	}
	from := `video_search s`
	where := []string{`s.document @@ tq.q`}
	switch q.Duration {
	case DurationShort:
		where = append(where, `s.duration_seconds < 240`)
	case DurationMedium:
		where = append(where, `s.duration_seconds BETWEEN 240 AND 1200`)
	case DurationLong:
		where = append(where, `s.duration_seconds > 1200`)
	}
	if q.Since != nil {
		where = append(where, `s.published_at >= `+arg(*q.Since)+`::timestamptz`)
	}

	// key is the order's sort key, keyset-paginated with the id breaking ties.
	key, keyType, score := searchRank+` * `+searchBoost, `float8`, `page.key`
	var after any
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
	}
	keyset := ``
	if q.After != nil {
		keyset = ` WHERE (m.key, m.id) < (` + arg(after) + `::` + keyType + `, ` + arg(q.After.ID) + `::text)`
	}
	sql := `WITH page AS (
		SELECT m.id, m.key FROM (
			SELECT s.video_id AS id, ` + key + ` AS key
			FROM ` + from + `, (SELECT ` + tsquery + ` AS q, $2::timestamptz AS now OFFSET 0) tq
			WHERE ` + strings.Join(where, ` AND `) + `) m` + keyset + `
		ORDER BY m.key DESC, m.id DESC LIMIT ` + arg(q.Limit) + `)
	SELECT ` + videoColumns + `, ` + score + `
	FROM page JOIN videos v ON v.id = page.id JOIN users u ON u.id = v.owner_id
	WHERE ` + searchVisible + `
	ORDER BY page.key DESC, page.id DESC`
	return Statement{SQL: sql, Args: args}
}
