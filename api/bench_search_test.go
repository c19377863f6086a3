package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// Search benchmark (issue 6): GET /api/v1/search on 100,000 videos, for five kinds of query,
// measured with wrk over loopback; beside each, the PostgreSQL execution time of the
// statements that search ran (EXPLAIN ANALYZE), with the search indexes and, in the same run,
// without them (dropped in a transaction that is rolled back), to show what they buy. It
// measures and prints; a missed target is reported, not failed, but a non-2xx response or an
// empty result fails it.
//
//	make bench-api                      # BENCH_DURATION=30s make bench-api for longer runs

const (
	benchSearchVideos = 100_000
	benchSearchUsers  = 500
	// Each kind runs twice: with one connection, whose percentiles are the latency of one
	// search, and with two (one per core of the machine the target is set for), whose rate is
	// what the machine serves. A search is CPU work in PostgreSQL, so more connections than
	// cores only queue, and their percentiles would measure the queue.
	benchSearchLatencyConns    = 1
	benchSearchThroughputConns = 2
	// benchSearchP99Target is issue 6's bound on one search, at one connection.
	benchSearchP99Target = 100 * time.Millisecond
	// benchSearchExplainRuns is how many times each statement is explained; the median counts.
	benchSearchExplainRuns = 5
	// benchSubjects is the size of the made-up vocabulary whose words have Zipf-like
	// frequencies, from thousands of videos for the first to one or two for the last.
	benchSubjects = 8000
)

// benchSyllables make the vocabulary: word i is three syllables chosen by i's digits in base 20.
var benchSyllables = []string{"ka", "lo", "mi", "ren", "tu", "sa", "vo", "ni", "pel", "dor", "qui", "zan",
	"bri", "fo", "gal", "mer", "tas", "lin", "ok", "ves"}

func benchSubject(i int) string {
	n := len(benchSyllables)
	return benchSyllables[i%n] + benchSyllables[i/n%n] + benchSyllables[i/(n*n)%n]
}

// benchSearchForms are titles as format() writes them: %1$s a verb, %2$s a noun, %3$s a
// number, %4$s a subject word.
var benchSearchForms = []string{
	"How to %1$s %2$s in %3$s minutes",
	"%4$s: %2$s, a beginner's guide",
	"I tried to %1$s %2$s for %3$s days (%4$s edition)",
	"The ultimate %2$s tutorial, part %3$s",
	"Why nobody can %1$s %2$s anymore",
	"%2$s with %4$s — full walkthrough, episode %3$s",
	"Live: we %1$s %2$s in %4$s",
	"%3$s mistakes people make when they %1$s %2$s",
}

// benchSearchKind is one kind of query, with the variants wrk cycles through.
type benchSearchKind struct {
	name    string
	queries []string
}

func benchSearchKinds() []benchSearchKind {
	// Subjects ranked 1,500 to 3,000 appear in 10 to 25 videos each.
	return []benchSearchKind{
		{"common word", []string{"tutorial", "garden", "beginner guide"}},
		{"rare word", []string{benchSubject(1500), benchSubject(2222), benchSubject(2900)}},
		{"phrase", []string{`"wooden canoe"`, `"espresso machine"`, `"home server" restore`}},
		{"typo", []string{"sourdogh starter", "mechanicl keyboard", "watercolor landscape"}},
		{"exclusion", []string{"tutorial -beginner", "cooking -ramen", "bike -road"}},
	}
}

// BenchmarkSearch seeds the videos, then for each kind of query runs wrk and explains the SQL.
func BenchmarkSearch(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is not installed: install the Debian package wrk (make deps does)")
	}
	dur := benchDuration(b)
	ctx := context.Background()
	b.StopTimer()

	db, baseURL := benchServer(b)
	start := time.Now()
	searchable := benchSearchSeed(ctx, b, db.Pool())
	b.Logf("seeded %d videos (%d searchable) by %d users in %s", benchSearchVideos, searchable, benchSearchUsers,
		time.Since(start).Round(time.Millisecond))

	type variant struct {
		query              string
		matches            int
		corrected          bool
		indexed, unindexed time.Duration
	}
	type row struct {
		kind                string
		variants            []variant
		latency, throughput benchResult
	}
	var rows []row
	dir := b.TempDir()
	for _, kind := range benchSearchKinds() {
		r := row{kind: kind.name}
		var paths []string
		for _, q := range kind.queries {
			path := "/api/v1/search?q=" + url.QueryEscape(q)
			var page oapi.VideoPage
			benchGetJSON(b, baseURL+path, &page)
			if len(page.Videos) == 0 {
				b.Fatalf("search %q found nothing: the seed and the queries disagree", q)
			}
			paths = append(paths, path)
			v := variant{query: q}
			v.matches, v.corrected = benchSearchMatches(ctx, b, db, q)
			r.variants = append(r.variants, v)
		}
		script := filepath.Join(dir, strings.ReplaceAll(kind.name, " ", "_")+".lua")
		benchWriteFile(b, script, benchPathsLua(paths))
		b.StartTimer()
		runWrk(b, wrk, baseURL, script, benchSearchThroughputConns, benchSearchThroughputConns, benchWarmup)
		r.latency = benchQuietly(b, "search "+kind.name+", 1 connection", func() benchResult {
			return runWrk(b, wrk, baseURL, script, benchSearchLatencyConns, benchSearchLatencyConns, dur)
		})
		r.throughput = benchQuietly(b, "search "+kind.name+", 2 connections", func() benchResult {
			return runWrk(b, wrk, baseURL, script, benchSearchThroughputConns, benchSearchThroughputConns, dur)
		})
		b.StopTimer()
		for i := range r.variants {
			r.variants[i].indexed, r.variants[i].unindexed = benchSearchExplain(ctx, b, db, r.variants[i].query)
		}
		rows = append(rows, r)
	}

	var version string
	if err := db.Pool().QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		b.Fatal(err)
	}
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nSearch benchmark: %d videos (%d public, ready and searchable) by %d users; wrk over loopback, the "+
		"queries of a kind in turn, %s a run; %d CPUs (%s, %s/%s, GOMAXPROCS %d), PostgreSQL %s\n",
		benchSearchVideos, searchable, benchSearchUsers, dur, runtime.NumCPU(), benchCPUModel(), runtime.GOOS,
		runtime.GOARCH, runtime.GOMAXPROCS(0), version)
	fmt.Fprintf(&w, "  %-36s %8s %10s %10s   %-22s  %s\n", "", "matches", "SQL ms", "no indexes",
		"1 conn: req/s p50  p99", "2 conns: req/s  p50  p99")
	met := true
	for _, r := range rows {
		fmt.Fprintf(&w, "  %-36s %8s %10s %10s   %11.0f %5.1f %5.1f  %14.0f %5.1f %5.1f\n", r.kind, "", "", "",
			r.latency.rate, ms(r.latency.p50), ms(r.latency.p99), r.throughput.rate, ms(r.throughput.p50), ms(r.throughput.p99))
		for _, v := range r.variants {
			q := v.query
			if v.corrected {
				q += " ~"
			}
			fmt.Fprintf(&w, "    %-34s %8d %10.2f %10.1f\n", q, v.matches, ms(v.indexed), ms(v.unindexed))
		}
		met = met && r.latency.p99 <= benchSearchP99Target
		name := strings.ReplaceAll(r.kind, " ", "-")
		b.ReportMetric(ms(r.latency.p99), name+"-p99-ms")
		b.ReportMetric(r.throughput.rate, name+"-req/s")
	}
	fmt.Fprintf(&w, "  matches: videos the query finds; SQL ms: median PostgreSQL execution time (EXPLAIN ANALYZE) of the "+
		"statements one search runs, with the search indexes and with them dropped; ~: misspelt words corrected (exact "+
		"matches were fewer than 5): matches of the corrected query, SQL of three statements (exact search, correction, "+
		"corrected search)\n")
	fmt.Fprintf(&w, "  p99 of one search, every kind, ≤ %.0f ms: %s\n", ms(benchSearchP99Target), verdict(met))
	fmt.Print(w.String())
}

// benchPathsLua sends the paths in turn, each connection starting at another one.
func benchPathsLua(paths []string) string {
	return wrkScript("paths", paths, `local reqs, n
function init(args)
  reqs = {}
  for i, p in ipairs(paths) do
    reqs[i] = wrk.format("GET", p)
  end
  n = thread_no
end
function request()
  n = n % #reqs + 1
  return reqs[n]
end
`)
}

// benchSearchSeed inserts the users and the videos with one INSERT … SELECT each, drawing every
// choice from hashes of the row number so that every run seeds the same rows, and returns how
// many videos search may return.
func benchSearchSeed(ctx context.Context, b testing.TB, pool *pgxpool.Pool) int {
	b.Helper()
	exec := func(sql string, args ...any) {
		b.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, sql)
		}
	}
	// u(g, salt) is a uniform number in [0, 1) determined by its arguments.
	exec(`CREATE FUNCTION bench_u(g bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE
		RETURN (hashint8(g * 1000 + salt) & 2147483647)::float8 / 2147483648`)
	exec(`INSERT INTO users (username, display_name, password_hash, created_at)
		SELECT 'creator_' || g, ($1::text[])[1 + floor(bench_u(g, 1) * cardinality($1::text[]))::int] || ' '
			|| ($2::text[])[1 + floor(bench_u(g, 2) * cardinality($2::text[]))::int], '!', now() - interval '3 years'
		FROM generate_series(1, $3::int) g`, benchFirst, benchLast, benchSearchUsers)

	subjects := make([]string, benchSubjects)
	for i := range subjects {
		subjects[i] = benchSubject(i)
	}
	// u is a uniform draw for the row (or for its k-th item, with a seed of g and k).
	u := func(seed string, salt int) string { return fmt.Sprintf("bench_u(%s, %d)", seed, salt) }
	at := func(arr, u string) string {
		return fmt.Sprintf("(%s::text[])[1 + floor(%s * cardinality(%s::text[]))::int]", arr, u, arr)
	}
	// Subject number i (from 1) is drawn with probability ∝ 1/i: log-uniform.
	subject := func(u string) string { return fmt.Sprintf("($5::text[])[floor(exp(ln($6::float8) * %s))::int]", u) }
	title := fmt.Sprintf("format(%s, %s, %s, 2 + floor(%s * 29)::int, %s)",
		at("$7", u("g", 10)), at("$1", u("g", 11)), at("$2", u("g", 12)), u("g", 13), subject(u("g", 14)))
	description := fmt.Sprintf(`(SELECT string_agg(%s, ' ') FROM generate_series(1, 1 + floor(%s * 5)::int) k)
			|| ' Featuring ' || %s || ' and ' || %s || '.'`,
		at("$4", u("g * 16 + k", 21)), u("g", 20), subject(u("g", 15)), subject(u("g", 16)))
	// A fifth of the videos have captions: a few hundred words.
	captions := fmt.Sprintf(`CASE WHEN %s < 0.2 THEN (SELECT string_agg(%s || ' ' || %s, ' ')
			FROM generate_series(1, 5 + floor(%s * 20)::int) k) ELSE '' END`,
		u("g", 30), at("$4", u("g * 64 + k", 32)), subject(u("g * 64 + k", 33)), u("g", 31))
	tags := fmt.Sprintf("ARRAY(SELECT DISTINCT %s FROM generate_series(1, 2 + floor(%s * 5)::int) k)",
		at("$3", u("g * 16 + k", 41)), u("g", 40))
	exec(fmt.Sprintf(`
		INSERT INTO videos (id, owner_id, title, description, tags, caption_text, visibility, status, moderation,
			duration_seconds, rungs, poster_key, storyboard_key, job_id, source_filename, source_size,
			created_at, updated_at, published_at, view_count, like_count, dislike_count)
		SELECT 'sv' || lpad(g::text, 9, '0'),
			(SELECT min(id) FROM users) + floor(bench_u(g, 1) * $8::int)::int,
			upper(left(t.title, 1)) || substr(t.title, 2), %s, %s, %s,
			CASE WHEN bench_u(g, 50) < 0.9 THEN 'public' WHEN bench_u(g, 50) < 0.95 THEN 'unlisted' ELSE 'private' END,
			CASE WHEN bench_u(g, 51) < 0.02 THEN 'processing' ELSE 'ready' END,
			CASE WHEN bench_u(g, 52) < 0.01 THEN 'held' ELSE 'ok' END,
			20 + exp(ln(4000) * bench_u(g, 53)), '{720p,480p,360p}', 'hls/poster.jpg', 'hls/storyboard.vtt',
			'job-' || g, 'VID_' || g || '.mp4', 1 << 24,
			p.at - interval '10 minutes', p.at, p.at,
			v.views, floor(v.views * bench_u(g, 61) / 20), floor(v.views * bench_u(g, 62) / 200)
		FROM generate_series(1, $9::int) g,
			LATERAL (SELECT %s AS title) t,
			LATERAL (SELECT now() - bench_u(g, 54) * interval '730 days' AS at) p,
			LATERAL (SELECT floor(exp(ln(1e6) * bench_u(g, 60))) - 1 AS views) v`,
		description, tags, captions, title),
		benchVerbs, benchNouns, benchTags, benchSentences, subjects, float64(benchSubjects), benchSearchForms,
		benchSearchUsers, benchSearchVideos)
	// What autovacuum would have done by the time a table has this many rows.
	exec(`VACUUM (ANALYZE) users, videos, video_search, search_terms`)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM video_search`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchSearch is the search the API runs for q's first page.
func benchSearch(q string) store.Search {
	return store.Search{Terms: store.ParseSearch(q), Sort: store.SortRelevance, Now: time.Now().UTC().Truncate(time.Microsecond),
		Limit: defaultLimit + 1}
}

// benchSearchMatches counts the videos q matches (the corrected query's too, when the search
// corrected it), and reports whether it did.
func benchSearchMatches(ctx context.Context, b *testing.B, db *store.Store, q string) (int, bool) {
	b.Helper()
	stmts, err := db.SearchStatements(ctx, benchSearch(q))
	if err != nil {
		b.Fatal(err)
	}
	last := stmts[len(stmts)-1]
	// The page's statement with a limit above any count: its last argument.
	args := slices.Clone(last.Args)
	args[len(args)-1] = 1 << 30
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM (`+last.SQL+`) c`, args...).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n, len(stmts) > 1
}

// benchSearchExplain returns the median execution time of the statements the API runs for
// q's first page, with the search indexes and without them.
func benchSearchExplain(ctx context.Context, b *testing.B, db *store.Store, q string) (indexed, unindexed time.Duration) {
	b.Helper()
	stmts, err := db.SearchStatements(ctx, benchSearch(q))
	if err != nil {
		b.Fatal(err)
	}
	measure := func(dropIndexes bool) time.Duration {
		var times []time.Duration
		for range benchSearchExplainRuns {
			tx, err := db.Pool().Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if dropIndexes {
				// Undone by the rollback.
				if _, err := tx.Exec(ctx, `DROP INDEX video_search_document, search_terms_trigrams`); err != nil {
					b.Fatal(err)
				}
			}
			var total time.Duration
			for _, st := range stmts {
				var plan []byte
				if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) `+st.SQL, st.Args...).Scan(&plan); err != nil {
					b.Fatalf("explain: %v\n%s", err, st.SQL)
				}
				var out []struct {
					Execution float64 `json:"Execution Time"`
				}
				if err := json.Unmarshal(plan, &out); err != nil || len(out) != 1 {
					b.Fatalf("explain: %v: %s", err, plan)
				}
				total += time.Duration(out[0].Execution * float64(time.Millisecond))
			}
			if err := tx.Rollback(ctx); err != nil {
				b.Fatal(err)
			}
			times = append(times, total)
		}
		slices.Sort(times)
		return times[len(times)/2]
	}
	return measure(false), measure(true)
}
