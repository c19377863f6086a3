package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/internal/postgres"
	"github.com/sunomi/sunomi/storage"
)

// API benchmark (issue 5): wrk over loopback against the public list and one video, on a
// database of 10,000 public ready videos, beside pgbench -S against the same PostgreSQL server
// in the same run, with the same connections, threads and duration, so that the figures say
// how far the API is from what the database alone serves on this machine. It measures and
// prints; a missed target is reported, not failed, but a non-2xx response or a socket error
// fails it.
//
//	make bench-api                      # BENCH_DURATION=30s make bench-api for longer runs

// Targets of issue 5 for the first page of the public list.
const (
	benchListRPSTarget = 3000.0
	benchListP99Target = 50 * time.Millisecond
)

const (
	benchVideos      = 10_000
	benchUsers       = 500
	benchThreads     = 2  // wrk -t and pgbench -j
	benchConnections = 50 // wrk -c and pgbench -c
	benchPGScale     = 10 // pgbench -s: 1,000,000 accounts, 150 MB
	// benchWarmup runs each endpoint before it is measured: pgx prepares its statements, the
	// pool fills, PostgreSQL's caches and the Go heap reach their steady state.
	benchWarmup = 2 * time.Second
	// benchDurationEnv sets how long each measured run lasts (a Go duration or seconds).
	benchDurationEnv     = "BENCH_DURATION"
	benchDefaultDuration = 10 * time.Second
	// benchProfileEnv names a directory where each measured wrk run leaves a CPU profile of
	// the API (list.pprof, video.pprof); -cpuprofile would mix in the seeding and both runs.
	benchProfileEnv = "BENCH_PROFILE"
	// benchMarker starts the line the wrk scripts' done() prints.
	benchMarker = "SUNOMI_BENCH"
)

// BenchmarkAPI runs wrk against GET /api/v1/videos and GET /api/v1/videos/{id}, then pgbench -S,
// one after another (together they would share the CPUs), and prints a table of the three.
func BenchmarkAPI(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatal("wrk is not installed: install the Debian package wrk (make deps does)")
	}
	pgbench := benchPgbenchPath(b)
	dur := benchDuration(b)
	ctx := context.Background()
	b.StopTimer()

	db, baseURL := benchServer(b)
	start := time.Now()
	ids := benchSeed(ctx, b, db.Pool(), rand.New(rand.NewPCG(5, 2026)), time.Now().UTC())
	b.Logf("seeded %d videos by %d users in %s", len(ids), benchUsers, time.Since(start).Round(time.Millisecond))
	benchCheckResponses(b, baseURL, ids[0])

	dir := b.TempDir()
	listScript := filepath.Join(dir, "list.lua")
	videoScript := filepath.Join(dir, "video.lua")
	benchWriteFile(b, listScript, benchDoneLua)
	benchWriteFile(b, videoScript, benchVideoLua(ids))

	listURL := baseURL + "/api/v1/videos"
	videoURL := baseURL + "/api/v1/videos/" // the script appends the ids
	b.StartTimer()
	runWrk(b, wrk, listURL, listScript, benchThreads, benchConnections, benchWarmup)
	stop := benchProfile(b, "list")
	list := benchQuietly(b, "GET /api/v1/videos", func() benchResult { return runWrk(b, wrk, listURL, listScript, benchThreads, benchConnections, dur) })
	stop()
	runWrk(b, wrk, videoURL, videoScript, benchThreads, benchConnections, benchWarmup)
	stop = benchProfile(b, "video")
	video := benchQuietly(b, "GET /api/v1/videos/{id}", func() benchResult { return runWrk(b, wrk, videoURL, videoScript, benchThreads, benchConnections, dur) })
	stop()
	b.StopTimer()

	pgURL := pgtest.NewDatabase(b)
	pgbenchInit(b, pgbench, pgURL)
	pg := benchQuietly(b, "pgbench -S", func() benchResult { return runPgbench(b, pgbench, pgURL, dur) })

	var version string
	if err := db.Pool().QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
		b.Fatal(err)
	}
	met := list.rate >= benchListRPSTarget && list.p99 <= benchListP99Target
	var w bytes.Buffer
	fmt.Fprintf(&w, "\nAPI benchmark: %d public ready videos by %d users; wrk %d threads × %d connections over loopback, "+
		"%s a run; %d CPUs (%s, %s/%s, GOMAXPROCS %d), PostgreSQL %s\n",
		len(ids), benchUsers, benchThreads, benchConnections, dur, runtime.NumCPU(), benchCPUModel(), runtime.GOOS,
		runtime.GOARCH, runtime.GOMAXPROCS(0), version)
	fmt.Fprintf(&w, "  %-38s %8s %7s %7s %7s %8s   %-20s %s\n", "", "req/s", "p50 ms", "p90 ms", "p99 ms", "KiB/resp",
		"CPU µs/req: API  PG  load", "others' CPU s (tries)")
	for _, r := range []struct {
		name string
		res  benchResult
	}{
		{"GET /api/v1/videos (first page of 24)", list},
		{"GET /api/v1/videos/{id} (random ids)", video},
		{fmt.Sprintf("pgbench -S -M prepared -s %d (tps)", benchPGScale), pg},
	} {
		kib := "-"
		if r.res.bytes > 0 {
			kib = fmt.Sprintf("%.1f", float64(r.res.bytes)/float64(r.res.count)/1024)
		}
		perReq := func(s float64) float64 { return s * 1e6 / float64(r.res.count) }
		fmt.Fprintf(&w, "  %-38s %8.0f %7.2f %7.2f %7.2f %8s   %15.0f %4.0f %5.0f   %5.1f (%d)\n", r.name, r.res.rate,
			ms(r.res.p50), ms(r.res.p90), ms(r.res.p99), kib, perReq(r.res.cpu.self), perReq(r.res.cpu.pg),
			perReq(r.res.cpu.tool), r.res.cpu.others, r.res.tries)
	}
	fmt.Fprintf(&w, "  pgbench: latency average %.2f ms (its own figure: clients / tps)\n", pg.avgMs)
	fmt.Fprintf(&w, "  list: %.0f req/s (target ≥ %.0f), p99 %.2f ms (target ≤ %.0f ms): %s; %.1f%% of pgbench's tps, "+
		"one video %.1f%%\n", list.rate, benchListRPSTarget, ms(list.p99), ms(benchListP99Target), verdict(met),
		100*list.rate/pg.rate, 100*video.rate/pg.rate)
	fmt.Print(w.String())

	b.ReportMetric(list.rate, "list-req/s")
	b.ReportMetric(ms(list.p99), "list-p99-ms")
	b.ReportMetric(video.rate, "video-req/s")
	b.ReportMetric(ms(video.p99), "video-p99-ms")
	b.ReportMetric(pg.rate, "pgbench-tps")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchDuration is BENCH_DURATION in whole seconds (pgbench -T takes no fractions).
func benchDuration(b *testing.B) time.Duration {
	b.Helper()
	v := os.Getenv(benchDurationEnv)
	if v == "" {
		return benchDefaultDuration
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			b.Fatalf("%s=%q: want a duration such as 10s", benchDurationEnv, v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < time.Second {
		b.Fatalf("%s=%q: want at least 1s", benchDurationEnv, v)
	}
	return d.Round(time.Second)
}

// benchProfile starts a CPU profile of the API into $BENCH_PROFILE/name.pprof, if that is set,
// and returns what stops it.
func benchProfile(b *testing.B, name string) (stop func()) {
	b.Helper()
	dir := os.Getenv(benchProfileEnv)
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("%s: %v (drop -cpuprofile)", benchProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPgbenchPath is the pgbench of the server binaries pgtest runs, so that client and
// server are one version.
func benchPgbenchPath(b *testing.B) string {
	b.Helper()
	dir, err := postgres.FindBinDir()
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "pgbench")
	if _, err := os.Stat(p); err != nil {
		b.Fatalf("no pgbench beside the PostgreSQL server in %s: install the Debian package postgresql (pgbench ships with the server)", dir)
	}
	return p
}

// benchServer starts the API as cmd/api runs it (a text logger at info level, here writing
// nowhere) on a fresh database, served by an httptest server on 127.0.0.1. newEnv takes a
// *testing.T and logs at debug level to stderr under -v, so the benchmark has its own. Each of
// configure may change the configuration before the API starts; blobDir is the blob directory.
func benchServer(b *testing.B, configure ...func(c *Config, blobDir string)) (*store.Store, string) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := db.Migrate(ctx, logger); err != nil {
		b.Fatal(err)
	}

	ts := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + ts.Listener.Addr().String()
	blobDir := filepath.Join(b.TempDir(), "blobs")
	blobs, err := storage.NewLocal(blobDir, storage.Options{PublicURL: baseURL, Secret: []byte("api-bench-blob-secret-0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	// No farm unless configure starts one: nothing is in flight, so the service never calls it.
	deadFarm := "http://" + deadAddr(b)
	cfg := Config{
		Store:       db,
		Blobs:       blobs,
		Farm:        client.New([]string{deadFarm}, nil, nil),
		Auth:        AuthConfig{SigningKeys: []SigningKey{{ID: "bench", Secret: []byte("bench-signing-key-0123456789abcdefghij")}}},
		MediaSecret: []byte("bench-media-secret-0123456789"),
		PublicURL:   baseURL,
		Logger:      logger,
	}
	for _, c := range configure {
		c(&cfg, blobDir)
	}
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	serve(ctx, b, srv, ts)
	return db, baseURL
}

// Word lists for titles, descriptions, tags and names: enough variety that rows have the
// lengths and the spread of real ones.
var (
	benchFirst = []string{"Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kemi", "Lars", "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
		"Wen", "Ximena", "Yusuf", "Zoë"}
	benchLast = []string{"Andersen", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
		"Ito", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi",
		"Schmidt", "Tanaka", "Weber"}
	benchTitleForms = []string{
		"How to %s %s in %d minutes",
		"%s %s: a beginner's guide",
		"I tried to %s %s for %d days",
		"The ultimate %s %s tutorial (part %d)",
		"Why nobody can %s %s anymore",
		"%s %s — full walkthrough, episode %d",
		"Live: we %s %s with viewers",
		"%d mistakes people make when they %s %s",
	}
	benchVerbs = []string{"build", "repair", "cook", "paint", "record", "restore", "learn", "film", "design",
		"grow", "edit", "tune", "brew", "sketch", "climb", "code"}
	benchNouns = []string{"a sourdough starter", "a wooden canoe", "a mechanical keyboard", "a vegetable garden",
		"a short film", "a retro game console", "a bass guitar", "a home server", "an espresso machine",
		"a road bike", "a pixel-art game", "a timber frame shed", "a ramen broth", "a synthesizer patch",
		"a watercolour landscape", "a drone"}
	benchSentences = []string{
		"In this video I walk through every step, including the ones that went wrong the first time.",
		"All the tools and parts are listed below, with what I would buy differently next time.",
		"Thanks to everyone who asked questions in the comments of the last episode; the answers are at the end.",
		"Timestamps: 00:00 intro, 01:30 preparation, 07:45 the main work, 18:20 results and lessons.",
		"Filmed over a weekend with one camera and a lot of coffee.",
		"If you want to support the channel, subscribing is the best way, and it is free.",
		"Music by a friend of the channel, used with permission.",
		"This is a longer one: grab a drink and settle in, there is a lot to cover.",
		"Questions, corrections and ideas for the next video are welcome in the comments.",
		"No sponsor this time; everything shown was bought with my own money.",
		"The project files and notes are on my website, linked in the channel description.",
		"Safety first: wear eye protection and read the manual before you try this at home.",
	}
	benchTags = []string{"diy", "tutorial", "howto", "vlog", "cooking", "woodworking", "music", "gaming",
		"tech", "electronics", "gardening", "travel", "review", "beginner", "advanced", "live", "restoration",
		"art", "painting", "coffee", "bikes", "outdoors", "homelab", "linux", "retro", "synth", "film",
		"timelapse", "asmr", "education", "science", "maker", "crafts", "fitness", "climbing", "drone",
		"photography", "editing", "sourdough", "ramen"}
	benchLadders = [][]string{{"1080p", "720p", "480p", "360p"}, {"720p", "480p", "360p"}, {"480p", "360p"}}
)

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// benchSeed inserts benchUsers users and benchVideos public ready videos, each owned by one of
// them and published at some moment of the past year, with one COPY each; it returns the
// videos' ids.
func benchSeed(ctx context.Context, b *testing.B, pool *pgxpool.Pool, rng *rand.Rand, now time.Time) []string {
	b.Helper()
	year := 365 * 24 * time.Hour
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"username", "display_name", "password_hash", "avatar_url", "created_at"},
		pgx.CopyFromSlice(benchUsers, func(i int) ([]any, error) {
			first, last := pick(rng, benchFirst), pick(rng, benchLast)
			avatar := ""
			if i%3 != 0 {
				avatar = fmt.Sprintf("https://avatars.example.com/u/%d.jpg", i)
			}
			// A password hash of the real shape; nobody signs in during the benchmark.
			return []any{fmt.Sprintf("viewer_%03d", i), first + " " + last,
				"$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
				avatar, now.Add(-year - time.Duration(rng.Int64N(int64(year))))}, nil
		}))
	if err != nil {
		b.Fatalf("seed users: %v", err)
	}
	rows, err := pool.Query(ctx, `SELECT id FROM users ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		b.Fatal(err)
	}

	ids := make([]string, benchVideos)
	var idBytes [8]byte
	for i := range ids {
		binary.LittleEndian.PutUint64(idBytes[:], rng.Uint64())
		ids[i] = base64.RawURLEncoding.EncodeToString(idBytes[:])
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"videos"},
		[]string{"id", "owner_id", "title", "description", "tags", "visibility", "status", "duration_seconds",
			"rungs", "poster_key", "storyboard_key", "job_id", "source_filename", "source_size", "created_at",
			"updated_at", "published_at"},
		pgx.CopyFromSlice(benchVideos, func(i int) ([]any, error) {
			published := now.Add(-time.Duration(rng.Int64N(int64(year))))
			created := published.Add(-time.Duration(60+rng.IntN(1800)) * time.Second)
			tags := make([]string, 0, 8)
			for range 2 + rng.IntN(7) {
				if t := pick(rng, benchTags); !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
			var desc strings.Builder
			for range 1 + rng.IntN(6) {
				if desc.Len() > 0 {
					desc.WriteString(" ")
				}
				desc.WriteString(pick(rng, benchSentences))
			}
			duration := 30 + rng.Float64()*3600
			return []any{ids[i], pick(rng, owners), benchTitle(rng), desc.String(), tags, store.Public,
				store.StatusReady, duration, pick(rng, benchLadders), "hls/poster.jpg", "hls/storyboard.vtt",
				fmt.Sprintf("%016x", rng.Uint64()), fmt.Sprintf("VID_%08d.mp4", rng.IntN(1e8)),
				int64(duration * (1 << 20) * (0.5 + rng.Float64())), created, published, published}, nil
		}))
	if err != nil {
		b.Fatalf("seed videos: %v", err)
	}
	// What autovacuum would have done by the time a table has this many rows.
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) users, videos`); err != nil {
		b.Fatal(err)
	}
	return ids
}

func benchTitle(rng *rand.Rand) string {
	form := pick(rng, benchTitleForms)
	verb, noun, n := pick(rng, benchVerbs), pick(rng, benchNouns), 2+rng.IntN(29)
	var t string
	switch {
	case strings.HasPrefix(form, "%d"):
		t = fmt.Sprintf(form, n, verb, noun)
	case strings.Count(form, "%") == 3:
		t = fmt.Sprintf(form, verb, noun, n)
	default:
		t = fmt.Sprintf(form, verb, noun)
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// benchCheckResponses makes sure wrk will measure full answers, not errors: a first page of 24
// with a next cursor, and one video.
func benchCheckResponses(b *testing.B, baseURL, id string) {
	b.Helper()
	var page oapi.VideoPage
	benchGetJSON(b, baseURL+"/api/v1/videos", &page)
	if len(page.Videos) != defaultLimit || page.NextCursor == nil {
		b.Fatalf("GET /api/v1/videos: %d videos, next cursor %v; want %d and a cursor", len(page.Videos), page.NextCursor != nil, defaultLimit)
	}
	var v oapi.Video
	benchGetJSON(b, baseURL+"/api/v1/videos/"+id, &v)
	if v.Id != id || v.Playback == nil {
		b.Fatalf("GET /api/v1/videos/%s: got id %q, playback %v", id, v.Id, v.Playback != nil)
	}
}

func benchGetJSON(b *testing.B, url string, v any) {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		b.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

func benchWriteFile(b *testing.B, path, content string) {
	b.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

// benchDoneLua prints wrk's totals and latency percentiles (microseconds) on one line that
// runWrk parses, rather than scraping wrk's human-readable units.
const benchDoneLua = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("` + benchMarker + ` requests=%.0f duration_us=%.0f bytes=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`

// benchVideoLua asks for a random one of ids on every request. The requests are formatted
// once per thread, so that wrk spends no more CPU per request than on a fixed URL.
func benchVideoLua(ids []string) string {
	return wrkScript("ids", ids, `local reqs
function init(args)
  math.randomseed(thread_no)
  reqs = {}
  for i, id in ipairs(ids) do
    reqs[i] = wrk.format("GET", wrk.path .. id)
  end
end
function request()
  return reqs[math.random(#reqs)]
end
`)
}

// wrkScript is a wrk script with values in the Lua table name, each thread numbered 1, 2, …
// as thread_no (a seed or a starting point, so that threads differ), then body (init and
// request), then benchDoneLua.
func wrkScript(name string, values []string, body string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "local %s = {\n", name)
	for _, v := range values {
		fmt.Fprintf(&s, "  %q,\n", v)
	}
	s.WriteString(`}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
`)
	s.WriteString(body)
	s.WriteString(benchDoneLua)
	return s.String()
}

// benchResult is one measured run: of wrk (requests) or pgbench (transactions).
type benchResult struct {
	count         int64   // requests or transactions
	rate          float64 // per second
	bytes         int64   // read by wrk; 0 for pgbench
	p50, p90, p99 time.Duration
	avgMs         float64 // pgbench's own latency average
	cpu           cpuUse
	tries         int
}

// runWrk runs wrk with threads and connections for d and fails the benchmark on any error or
// non-2xx response.
func runWrk(b *testing.B, wrk, url, script string, threads, connections int, d time.Duration) benchResult {
	b.Helper()
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(connections),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), "--timeout", "5s", "--latency", "-s", script, url}
	cmd := exec.Command(wrk, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var line string
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, benchMarker+" ") {
			line = l
		}
	}
	if line == "" {
		b.Fatalf("wrk %s printed no %s line:\n%s", strings.Join(args, " "), benchMarker, out)
	}
	fields := map[string]int64{}
	for _, f := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("wrk: bad field %q in %q", f, line)
		}
		fields[k] = n
	}
	us := func(k string) time.Duration { return time.Duration(fields[k]) * time.Microsecond }
	errs := map[string]int64{}
	for _, k := range []string{"connect", "read", "write", "status", "timeout"} {
		if fields[k] != 0 {
			errs[k] = fields[k] // status: responses other than 2xx and 3xx
		}
	}
	if len(errs) > 0 || fields["requests"] == 0 || fields["duration_us"] == 0 {
		b.Fatalf("wrk %s: %d requests, errors %v:\n%s", url, fields["requests"], errs, out)
	}
	return benchResult{count: fields["requests"], rate: float64(fields["requests"]) / us("duration_us").Seconds(),
		bytes: fields["bytes"], p50: us("p50_us"), p90: us("p90_us"), p99: us("p99_us"),
		cpu: cpuUse{tool: processCPU(cmd)}}
}

// pgbenchInit creates pgbench's tables in url's database (and vacuums them).
func pgbenchInit(b *testing.B, pgbench, url string) {
	b.Helper()
	if out, err := exec.Command(pgbench, "-i", "-q", "-s", strconv.Itoa(benchPGScale), url).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v\n%s", err, out)
	}
}

// runPgbench runs pgbench's select-only script for d with prepared statements, as pgx runs
// the API's queries. Percentiles come from its per-transaction log.
func runPgbench(b *testing.B, pgbench, url string, d time.Duration) benchResult {
	b.Helper()
	logDir := b.TempDir()
	args := []string{"-S", "-M", "prepared", "-n", "-c", strconv.Itoa(benchConnections), "-j", strconv.Itoa(benchThreads),
		"-T", strconv.Itoa(int(d.Seconds())), "-l", "--log-prefix", filepath.Join(logDir, "tx"), url}
	cmd := exec.Command(pgbench, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench %s: %v\n%s", strings.Join(args[:len(args)-1], " "), err, out)
	}
	r := benchResult{cpu: cpuUse{tool: processCPU(cmd)}}
	for l := range strings.Lines(string(out)) {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "tps = "); ok {
			r.rate, _ = strconv.ParseFloat(strings.Fields(v)[0], 64)
		}
		if v, ok := strings.CutPrefix(l, "latency average = "); ok {
			r.avgMs, _ = strconv.ParseFloat(strings.Fields(v)[0], 64)
		}
		if v, ok := strings.CutPrefix(l, "number of failed transactions: "); ok && !strings.HasPrefix(v, "0 ") {
			b.Fatalf("pgbench: %s\n%s", l, out)
		}
	}
	if r.rate == 0 {
		b.Fatalf("pgbench printed no tps:\n%s", out)
	}
	lat := pgbenchLatencies(b, logDir)
	r.count = int64(len(lat))
	r.p50, r.p90, r.p99 = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99)
	return r
}

// pgbenchLatencies reads the logs of pgbench -l, one file a thread, whose lines start
// "client_id transaction_no latency_us".
func pgbenchLatencies(b *testing.B, dir string) []time.Duration {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "tx.*"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no pgbench transaction logs in %s (%v)", dir, err)
	}
	var lat []time.Duration
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for l := range strings.Lines(string(data)) {
			fs := strings.Fields(l)
			if len(fs) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fs[2], 10, 64)
			if err != nil {
				b.Fatalf("%s: bad line %q", f, l)
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
	}
	slices.Sort(lat)
	return lat
}

// percentile is the nearest-rank percentile p of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Runs that other processes disturbed are repeated, as in the transcode benchmark: at most
// benchTries runs, until the rest of the machine used under benchQuiet of the CPU time the
// benchmark's own processes used.
const (
	benchTries = 3
	benchQuiet = 0.05
)

// cpuUse is CPU time in seconds during a run: this process (the API; the benchmark itself
// idles while wrk runs), the PostgreSQL cluster pgtest started (every backend), the load
// generator, and everything else on the machine.
type cpuUse struct{ self, pg, tool, others float64 }

// benchQuietly measures run, and runs it again while other processes competed for the CPUs;
// it keeps the least disturbed run.
func benchQuietly(b *testing.B, what string, run func() benchResult) benchResult {
	b.Helper()
	var best benchResult
	for try := 1; try <= benchTries; try++ {
		before := sampleCPU()
		r := run()
		after := sampleCPU()
		r.cpu.self = after.self - before.self
		r.cpu.pg = after.pg - before.pg
		r.cpu.others = max(0, after.machine-before.machine-r.cpu.self-r.cpu.pg-r.cpu.tool)
		if try == 1 || r.cpu.others < best.cpu.others {
			best = r
		}
		best.tries = try
		if r.cpu.others < benchQuiet*(r.cpu.self+r.cpu.pg+r.cpu.tool) {
			break
		}
		b.Logf("%s: other processes used %.1f CPU s during try %d of %d", what, r.cpu.others, try, benchTries)
	}
	return best
}

type cpuSample struct{ self, pg, machine float64 }

func sampleCPU() cpuSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return cpuSample{self: tv(ru.Utime) + tv(ru.Stime), pg: clusterCPU(), machine: machineBusy()}
}

func processCPU(cmd *exec.Cmd) float64 {
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

// clusterCPU is the CPU time of the PostgreSQL server this process started (pgtest's): the
// postmaster with the backends it reaped, plus the live backends. 0 without /proc.
func clusterCPU() float64 {
	procs := readProcs()
	self := os.Getpid()
	var total float64
	for pid, p := range procs {
		if p.ppid != self || p.comm != "postgres" {
			continue
		}
		total += p.cpu + p.children
		for _, c := range procs {
			if c.ppid == pid {
				total += c.cpu
			}
		}
	}
	return total
}

type procCPU struct {
	ppid          int
	comm          string
	cpu, children float64 // seconds: its own, and its reaped children's
}

// readProcs reads /proc/<pid>/stat of every process.
func readProcs() map[int]procCPU {
	entries, _ := os.ReadDir("/proc")
	procs := map[int]procCPU{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited
		}
		// "pid (comm) state ppid … utime stime cutime cstime …": comm may hold spaces.
		open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(data[end+1:]))
		if len(f) < 15 {
			continue
		}
		num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / 100 } // USER_HZ
		ppid, _ := strconv.Atoi(f[1])
		procs[pid] = procCPU{ppid: ppid, comm: string(data[open+1 : end]), cpu: num(11) + num(12), children: num(13) + num(14)}
	}
	return procs
}

// machineBusy is the CPU time the machine's processes have used since boot (user, nice,
// system) plus the time the hypervisor stole, from /proc/stat; 0 without it. Interrupt time is
// left out: loopback traffic is handled there, and no process is charged for it.
func machineBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 8} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0
		}
		ticks += v
	}
	return ticks / 100
}

func benchCPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for l := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
