package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sunomi/sunomi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migratedStore opens a store on a database of its own, migrated.
func migratedStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return s
}

// seedVideos adds a channel and its videos to s, then analyses the search tables: rows is a
// query giving the columns of videoColumnsSeeded, the channel's id as (SELECT min(id) FROM users).
func seedVideos(t *testing.T, s *Store, rows string) {
	t.Helper()
	for _, sql := range []string{
		`INSERT INTO users (username, display_name, password_hash, created_at) VALUES ('baker', 'The Baker', '!', now())`,
		`INSERT INTO videos (` + videoColumnsSeeded + `) ` + rows,
		`ANALYZE video_search`,
	} {
		if _, err := s.pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// videoColumnsSeeded are the columns seedVideos' rows give, in order.
const videoColumnsSeeded = `id, owner_id, title, description, tags, caption_text, visibility, status, moderation,
	duration_seconds, rungs, poster_key, storyboard_key, job_id, source_filename, source_size,
	created_at, updated_at, published_at, view_count, like_count, dislike_count`

// TestSearchCorrectsOnlyToWordsVideosHave: the vocabulary keeps a word after its last video
// leaves search; a misspelling is no longer corrected towards it.
func TestSearchCorrectsOnlyToWordsVideosHave(t *testing.T) {
	ctx := context.Background()
	s := migratedStore(t)
	seedVideos(t, s, `VALUES ('zv1', (SELECT min(id) FROM users), 'Zeppelin over the harbour', '', '{}', '', 'public',
		'ready', 'ok', 60, '{360p}', 'hls/poster.jpg', 'hls/storyboard.vtt', 'job-z', 'z.mp4', 1, now(), now(), now(), 0, 0, 0)`)
	search := func() ([]SearchHit, bool) {
		t.Helper()
		hits, corrected, err := s.Search(ctx, Search{Terms: ParseSearch("zepelin harbour"), Sort: SortRelevance,
			Now: time.Now(), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return hits, corrected
	}
	if hits, corrected := search(); len(hits) != 1 || !corrected {
		t.Fatalf("while the video is public: %d hits, corrected %v; want 1, true", len(hits), corrected)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE videos SET visibility = 'private' WHERE id = 'zv1'`); err != nil {
		t.Fatal(err)
	}
	if hits, corrected := search(); len(hits) != 0 || corrected {
		t.Errorf("once private: %d hits, corrected %v; want 0, false", len(hits), corrected)
	}
}

// TestSearchPlansAgree checks that how the candidates are found changes only the cost: the
// document index, the walk down the standing index (with the document index when the walk
// finds too few), and the choice by counted matches return the same hits in the same order,
// for words common, middling, rare and absent, words that go together and words that do not,
// typos, prefixes, phrases and exclusions.
func TestSearchPlansAgree(t *testing.T) {
	ctx := context.Background()
	s := migratedStore(t)
	// 6,000 videos: the walk checks at most 2,000 (its floor), so a word in one video of
	// ten has about 200 matches there, fewer than the 300 candidates, and the walk falls back.
	seedVideos(t, s, `
		SELECT 'pv' || lpad(g::text, 6, '0'), (SELECT min(id) FROM users),
			concat_ws(' ',
				CASE WHEN hashint4(g) % 10 < 6 THEN 'tutorial' END,
				CASE WHEN g % 10 = 0 THEN 'garden' END,
				CASE WHEN g % 7 = 0 THEN 'sourdough starter' END,
				CASE WHEN g % 9 = 0 THEN 'home server' END,
				CASE WHEN g % 11 = 0 AND g % 9 <> 0 THEN 'restore' END,
				CASE WHEN g % 13 = 0 THEN 'restoration' END,
				CASE WHEN g % 400 = 0 THEN 'kamerren' END,
				CASE WHEN g % 5 = 0 THEN 'mechanical keyboard' END,
				'video', g::text),
			CASE WHEN g % 3 = 0 THEN 'a review of the keyboard' ELSE '' END, '{}', '',
			'public', 'ready', 'ok', 60, '{360p}', 'hls/poster.jpg', 'hls/storyboard.vtt', 'job-' || g, 'v.mp4', 1,
			now() - (g % 700) * interval '1 day', now(), now() - (g % 700) * interval '1 day',
			(hashint4(g * 7) & 65535), 0, 0
		FROM generate_series(1, 6000) g`)
	// The top tier holds the 600 videos of highest standing: enough of them match "tutorial"
	// to be its candidates, and the other queries fall back to all the matches.
	if _, err := s.retierSearch(ctx, 0, true); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, query := range []string{
		"tutorial", "garden", "kamerren", "nosuchword", "sourdough starter", `"home server" restore`,
		"home restore", "tutorial -garden", "sourdogh startr", "mechanicl keyboard", "restor", "sourdough sta",
		"garden or kamerren",
	} {
		hits := map[candidatePlan][]string{}
		for _, plan := range []candidatePlan{planByMatches, planCollect, planWalk, planTop} {
			got, _, err := s.Search(ctx, Search{Terms: ParseSearch(query), Sort: SortRelevance, Now: now, Limit: 1000, plan: plan})
			if err != nil {
				t.Fatalf("%q: %v", query, err)
			}
			for _, h := range got {
				hits[plan] = append(hits[plan], h.Video.ID)
			}
		}
		for _, plan := range []candidatePlan{planByMatches, planWalk, planTop} {
			if !slices.Equal(hits[planCollect], hits[plan]) {
				t.Errorf("%q: the plans disagree: %d hits collecting, %d with plan %d", query, len(hits[planCollect]),
					len(hits[plan]), plan)
			}
		}
		t.Logf("%-24q %d hits", query, len(hits[planCollect]))
	}
	// The second walk is what the comparison above is for: the first walk reads 500 videos and
	// finds about 70 of the 857 matches of "sourdough starter", too few.
	stmts, err := s.SearchStatements(ctx, Search{Terms: ParseSearch("sourdough starter"), Sort: SortRelevance, Now: now,
		Limit: 1000, plan: planWalk})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stmts[len(stmts)-1].SQL, "matched_walk") {
		t.Errorf("sourdough starter: no second walk in the page statement:\n%s", stmts[len(stmts)-1].SQL)
	}
}

// TestSearchTopTierIndex checks that the tier's candidates come from its own index: the
// threshold the search writes must be the index predicate's number, or the planner cannot use
// the index and the tier saves nothing.
func TestSearchTopTierIndex(t *testing.T) {
	ctx := context.Background()
	s := migratedStore(t)
	seedVideos(t, s, `
		SELECT 'tv' || g, (SELECT min(id) FROM users), 'tutorial video ' || g, '', '{}', '',
			'public', 'ready', 'ok', 60, '{360p}', 'hls/poster.jpg', 'hls/storyboard.vtt', 'job-' || g, 'v.mp4', 1,
			now() - (g % 700) * interval '1 day', now(), now() - (g % 700) * interval '1 day', g, 0, 0
		FROM generate_series(1, 5000) g`)
	if _, err := s.retierSearch(ctx, 0, true); err != nil {
		t.Fatal(err)
	}
	stmts, err := s.SearchStatements(ctx, Search{Terms: ParseSearch("tutorial"), Sort: SortRelevance,
		Now: time.Now(), Limit: 24, plan: planTop})
	if err != nil {
		t.Fatal(err)
	}
	page := stmts[len(stmts)-1]
	if !strings.Contains(page.SQL, "matched_top") {
		t.Fatalf("no tier in the page statement:\n%s", page.SQL)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// At 5,000 videos reading the table is as cheap as any index: rule it out.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+page.SQL, append([]any{pgx.QueryExecModeExec}, page.Args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "video_search_top") {
		t.Errorf("the tier's index is not used:\n%s", strings.Join(plan, "\n"))
	}
}

// TestRetierSearch checks that the threshold moves when the share above it leaves [5%, 20%],
// and only then.
func TestRetierSearch(t *testing.T) {
	ctx := context.Background()
	s := migratedStore(t)
	if _, err := s.pool.Exec(ctx, `INSERT INTO users (username, display_name, password_hash, created_at)
		VALUES ('baker', 'The Baker', '!', now())`); err != nil {
		t.Fatal(err)
	}
	insert := func(from, to int, age string) {
		t.Helper()
		_, err := s.pool.Exec(ctx, `INSERT INTO videos (`+videoColumnsSeeded+`) `+fmt.Sprintf(`
			SELECT 'rv' || g, (SELECT min(id) FROM users), 'video ' || g, '', '{}', '',
				'public', 'ready', 'ok', 60, '{360p}', 'hls/poster.jpg', 'hls/storyboard.vtt', 'job-' || g, 'v.mp4', 1,
				now() - %[3]s, now(), now() - %[3]s, 0, 0, 0
			FROM generate_series(%[1]d, %[2]d) g`, from, to, age))
		if err != nil {
			t.Fatal(err)
		}
		// Retiering reads the number of videos from the statistics, as autovacuum keeps them.
		if _, err := s.pool.Exec(ctx, `ANALYZE video_search`); err != nil {
			t.Fatal(err)
		}
	}
	tier := func() (threshold float64, above int64) {
		t.Helper()
		err := s.pool.QueryRow(ctx, `SELECT t.threshold, (SELECT count(*) FROM video_search WHERE standing >= t.threshold)
			FROM search_top t`).Scan(&threshold, &above)
		if err != nil {
			t.Fatal(err)
		}
		return threshold, above
	}
	retier := func(want bool) {
		t.Helper()
		moved, err := s.retierSearch(ctx, 100, false)
		if err != nil {
			t.Fatal(err)
		}
		if moved != want {
			t.Fatalf("retiering moved the threshold: %v, want %v", moved, want)
		}
	}
	insert(1, 1000, "(g % 700) * interval '1 day'")
	retier(true) // no tier yet
	if threshold, above := tier(); math.IsInf(threshold, 1) || above < 95 || above > 110 {
		t.Fatalf("after the first retiering: threshold %v, %d videos above; want about 100", threshold, above)
	}
	retier(false)
	// 300 uploads today all stand above the threshold: 400 of 1,300 is past 20%.
	insert(1001, 1300, "g * interval '1 minute'")
	retier(true)
	if _, above := tier(); above < 125 || above > 135 {
		t.Fatalf("after uploads: %d videos above the threshold, want about 130", above)
	}
	var indexes int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'video_search_top%'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 1 {
		t.Errorf("%d tier indexes, want 1", indexes)
	}
}
