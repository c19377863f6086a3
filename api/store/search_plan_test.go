package store

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

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
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, query := range []string{
		"tutorial", "garden", "kamerren", "nosuchword", "sourdough starter", `"home server" restore`,
		"home restore", "tutorial -garden", "sourdogh startr", "mechanicl keyboard", "restor", "sourdough sta",
		"garden or kamerren",
	} {
		hits := map[candidatePlan][]string{}
		for _, plan := range []candidatePlan{planByMatches, planCollect, planWalk} {
			got, _, err := s.Search(ctx, Search{Terms: ParseSearch(query), Sort: SortRelevance, Now: now, Limit: 1000, plan: plan})
			if err != nil {
				t.Fatalf("%q: %v", query, err)
			}
			for _, h := range got {
				hits[plan] = append(hits[plan], h.Video.ID)
			}
		}
		for _, plan := range []candidatePlan{planByMatches, planWalk} {
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
