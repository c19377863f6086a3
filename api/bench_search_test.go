package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// Search benchmark (issues 6 and 14): GET /api/v1/search on 100,000 and on 1,000,000 videos,
// for seven kinds of query, measured with wrk over loopback; beside each, the PostgreSQL
// execution time of the statements that search ran (EXPLAIN ANALYZE) and, in the same run for
// reference, of the same statements with the candidate bound lifted, so that every match is
// scored as search did before it had one. It measures and prints; a missed target is
// reported, not failed, but a non-2xx response or an empty result fails it.
//
//	make bench-api                                   # BENCH_DURATION=30s for longer runs
//	BENCH_SEARCH_VIDEOS=100000 make bench-api        # one size only (comma-separated sizes)

const (
	benchSearchVideosEnv = "BENCH_SEARCH_VIDEOS"
	benchSearchUsers     = 500
	// Each kind runs twice: with one connection, whose percentiles are the latency of one
	// search, and with two (one per core of the machine the target is set for), whose rate is
	// what the machine serves. A search is CPU work in PostgreSQL, so more connections than
	// cores only queue, and their percentiles would measure the queue.
	benchSearchLatencyConns    = 1
	benchSearchThroughputConns = 2
	// benchSearchP99Target is issue 14's bound on one search, at one connection, at every size.
	benchSearchP99Target = 50 * time.Millisecond
	// benchSearchGrowthTarget bounds the common word's SQL time at the largest size over the
	// smallest (issue 14: within 2× from 100,000 to 1,000,000 videos).
	benchSearchGrowthTarget = 2.0
	// benchSearchExplainRuns is how many times each statement is explained; the median counts.
	// The reference, every match scored, runs once: it takes seconds at a million videos.
	benchSearchExplainRuns = 5
	// benchSubjects is the size of the made-up vocabulary whose words have Zipf-like
	// frequencies, from thousands of videos for the first to one or two for the last.
	benchSubjects = 8000
)

// benchSearchSizes are the catalogue sizes, by default 100,000 and 1,000,000 videos.
func benchSearchSizes(b *testing.B) []int {
	b.Helper()
	v := os.Getenv(benchSearchVideosEnv)
	if v == "" {
		return []int{100_000, 1_000_000}
	}
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1000 {
			b.Fatalf("%s=%q: want comma-separated numbers of videos, each at least 1000", benchSearchVideosEnv, v)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

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
	// Subjects ranked 1,500 to 3,000 appear in 10 to 25 of every 100,000 videos.
	return []benchSearchKind{
		{"common word", []string{"tutorial", "garden", "beginner guide"}},
		{"rare word", []string{benchSubject(1500), benchSubject(2222), benchSubject(2900)}},
		{"phrase", []string{`"wooden canoe"`, `"espresso machine"`, `"home server" restore`}},
		{"typo", []string{"sourdogh starter", "mechanicl keyboard", "watercolor landscape"}},
		// Two typos each in a word of nine letters or more: swapped neighbours, a missing letter.
		{"two typos", []string{"mecahnicl keyboard", "vegtebale garden", "sytnhesizr patch"}},
		// The last word still being typed.
		{"prefix", []string{"sourdough sta", "mechanical keyb", "espresso mach"}},
		{"exclusion", []string{"tutorial -beginner", "cooking -ramen", "bike -road"}},
	}
}

// benchSearchRow is one kind of query at one size.
type benchSearchRow struct {
	kind                string
	variants            []benchSearchVariant
	latency, throughput benchResult
}

type benchSearchVariant struct {
	query     string
	matches   int
	corrected bool
	// bounded is the SQL time of the search, everyMatch of the same with every match scored.
	bounded, everyMatch time.Duration
}

// BenchmarkSearch seeds the videos at each size, then for each kind of query runs wrk and
// explains the SQL.
func BenchmarkSearch(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is not installed: install the Debian package wrk (make deps does)")
	}
	dur := benchDuration(b)
	b.StopTimer()
	var w bytes.Buffer
	met := true
	sizes := benchSearchSizes(b)
	commonSQL := map[int]time.Duration{}
	for _, size := range sizes {
		rows, searchable, version := benchSearchSize(b, wrk, size, dur)
		fmt.Fprintf(&w, "\nSearch benchmark: %d videos (%d public, ready and searchable) by %d users; wrk over loopback, the "+
			"queries of a kind in turn, %s a run; %d CPUs (%s, %s/%s, GOMAXPROCS %d), PostgreSQL %s\n",
			size, searchable, benchSearchUsers, dur, runtime.NumCPU(), benchCPUModel(), runtime.GOOS,
			runtime.GOARCH, runtime.GOMAXPROCS(0), version)
		fmt.Fprintf(&w, "  %-36s %8s %8s %12s   %-22s  %s\n", "", "matches", "SQL ms", "every match",
			"1 conn: req/s p50  p99", "2 conns: req/s  p50  p99")
		for _, r := range rows {
			fmt.Fprintf(&w, "  %-36s %8s %8s %12s   %11.0f %5.1f %5.1f  %14.0f %5.1f %5.1f\n", r.kind, "", "", "",
				r.latency.rate, ms(r.latency.p50), ms(r.latency.p99), r.throughput.rate, ms(r.throughput.p50), ms(r.throughput.p99))
			for _, v := range r.variants {
				q := v.query
				if v.corrected {
					q += " ~"
				}
				fmt.Fprintf(&w, "    %-34s %8d %8.2f %12.2f\n", q, v.matches, ms(v.bounded), ms(v.everyMatch))
				if r.kind == "common word" {
					commonSQL[size] += v.bounded
				}
			}
			met = met && r.latency.p99 <= benchSearchP99Target
			name := fmt.Sprintf("%dk-%s", size/1000, strings.ReplaceAll(r.kind, " ", "-"))
			b.ReportMetric(ms(r.latency.p99), name+"-p99-ms")
			b.ReportMetric(r.throughput.rate, name+"-req/s")
		}
		// Each size's table as soon as it is measured: the largest takes many minutes more.
		fmt.Print(w.String())
		w.Reset()
	}
	fmt.Fprintf(&w, "  matches: videos the query finds; SQL ms: median PostgreSQL execution time (EXPLAIN ANALYZE) of the "+
		"statements one search runs (the words' lexemes and corrections, then the page), scoring at most %d candidates "+
		"of highest standing; every match: the same with every match scored, as search did before (reference, same run, "+
		"one run); "+
		"~: the search also looked for corrections or completions of the words typed\n", store.RankedCandidates)
	fmt.Fprintf(&w, "  p99 of one search, every kind, every size, ≤ %.0f ms: %s\n", ms(benchSearchP99Target), verdict(met))
	if small, large := sizes[0], sizes[len(sizes)-1]; large > small {
		growth := float64(commonSQL[large]) / float64(commonSQL[small])
		fmt.Fprintf(&w, "  common words' SQL at %d videos over %d: %.2f×, ≤ %.0f×: %s\n", large, small, growth,
			benchSearchGrowthTarget, verdict(growth <= benchSearchGrowthTarget))
	}
	fmt.Print(w.String())
}

// benchSearchSize seeds size videos into a database of their own and measures every kind of
// query on them. It returns the rows, the number of searchable videos and the server's version.
func benchSearchSize(b *testing.B, wrk string, size int, dur time.Duration) ([]benchSearchRow, int, string) {
	b.Helper()
	ctx := context.Background()
	db, baseURL := benchServer(b)
	start := time.Now()
	searchable := benchSearchSeed(ctx, b, db, size)
	b.Logf("seeded %d videos (%d searchable) by %d users in %s", size, searchable, benchSearchUsers,
		time.Since(start).Round(time.Millisecond))

	var rows []benchSearchRow
	dir := b.TempDir()
	for _, kind := range benchSearchKinds() {
		r := benchSearchRow{kind: kind.name}
		var paths []string
		for _, q := range kind.queries {
			path := "/api/v1/search?q=" + url.QueryEscape(q)
			var page oapi.VideoPage
			benchGetJSON(b, baseURL+path, &page)
			if len(page.Videos) == 0 {
				b.Fatalf("search %q found nothing: the seed and the queries disagree", q)
			}
			paths = append(paths, path)
			v := benchSearchVariant{query: q}
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
			v := &r.variants[i]
			v.bounded = benchSearchExplain(ctx, b, db, benchSearch(v.query), benchSearchExplainRuns)
			every := benchSearch(v.query)
			every.Candidates = 1 << 30
			v.everyMatch = benchSearchExplain(ctx, b, db, every, 1)
		}
		rows = append(rows, r)
	}
	var version string
	if err := db.Pool().QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		b.Fatal(err)
	}
	return rows, searchable, version
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
func benchSearchSeed(ctx context.Context, b testing.TB, db *store.Store, videos int) int {
	pool := db.Pool()
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
	exec(`ALTER TABLE video_search DISABLE TRIGGER video_search_lexemes`)
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
		benchSearchUsers, videos)
	// Counted at once, as a bulk load should (migration 00021), rather than a video at a time.
	exec(`SELECT search_lexemes_recount()`)
	exec(`ALTER TABLE video_search ENABLE TRIGGER video_search_lexemes`)
	// What autovacuum would have done by the time the tables have this many rows, to every
	// table the load wrote (the vocabulary's deletions and the lexeme counts too): left to it,
	// it ran while the searches were timed.
	exec(`VACUUM (ANALYZE)`)
	// What the API's first pruning does once the videos are there.
	if _, err := db.RetierSearch(ctx); err != nil {
		b.Fatal(err)
	}
	// The load leaves gigabytes of dirty buffers, which the checkpointer would otherwise
	// write, and fsync, while the searches are timed.
	exec(`CHECKPOINT`)
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

// benchSearchMatches counts the videos q matches, corrections and completions included, and
// reports whether the search looked for any.
func benchSearchMatches(ctx context.Context, b *testing.B, db *store.Store, q string) (int, bool) {
	b.Helper()
	stmts, err := db.SearchStatements(ctx, benchSearch(q))
	if err != nil {
		b.Fatal(err)
	}
	page := stmts[len(stmts)-1]
	expanded, exact := page.Args[0], page.Args[2] // as searchStatement numbers them
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM video_search WHERE document @@ $1::text::tsquery`, expanded).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n, expanded != exact
}

// benchSearchExplain returns the median execution time, over runs, of the statements the API
// runs for q's first page.
func benchSearchExplain(ctx context.Context, b *testing.B, db *store.Store, q store.Search, runs int) time.Duration {
	b.Helper()
	stmts, err := db.SearchStatements(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	var times []time.Duration
	for range runs {
		var total time.Duration
		for _, st := range stmts {
			var plan []byte
			// Planned for its arguments, as Search runs it.
			args := append([]any{pgx.QueryExecModeExec}, st.Args...)
			if err := db.Pool().QueryRow(ctx, `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) `+st.SQL, args...).Scan(&plan); err != nil {
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
		times = append(times, total)
	}
	slices.Sort(times)
	return times[len(times)/2]
}
