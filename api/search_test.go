package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/store"
)

func TestSearchRelevance(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	day := 24 * time.Hour
	e.seedSearch(alice, searchVideo{title: "Kittens playing with yarn", tags: []string{"pets"}})
	e.seedSearch(alice, searchVideo{title: "Red panda eats bamboo"})
	e.seedSearch(alice, searchVideo{title: "The panda is red and sleepy"})
	e.seedSearch(alice, searchVideo{title: "Cats being cats"})
	e.seedSearch(alice, searchVideo{title: "Cats and dogs together"})
	e.seedSearch(alice, searchVideo{title: "Morning routine", tags: []string{"sourdough", "baking"}})
	e.seedSearch(alice, searchVideo{title: "Weekend project", description: "We restore a vintage typewriter, key by key."})
	e.seedSearch(alice, searchVideo{title: "Interview at dusk", captions: "and then the aurora borealis appeared over the hills"})
	e.seedSearch(alice, searchVideo{title: "Paper folding for everyone", description: "How to fold an origami crane from one sheet."})
	e.seedSearch(alice, searchVideo{title: "Origami crane, step by step"})
	e.seedSearch(alice, searchVideo{title: "Lighthouse restoration diary", age: 700 * day})
	e.seedSearch(alice, searchVideo{title: "Lighthouse restoration diary", age: day, views: 120_000, likes: 3000})
	e.seedSearch(alice, searchVideo{title: "Café crème at home"})

	// A channel renamed after its videos were published: the users trigger refreshes them.
	bob := e.user("bob")
	e.seedSearch(bob, searchVideo{title: "Untitled clip"})
	if _, err := e.db.Pool().Exec(context.Background(),
		`UPDATE users SET display_name = 'Marguerite Okonkwo' WHERE username = $1`, bob.User.Username); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, query string
		want        []string // in order
	}{
		{"typo", "kitens", []string{"Kittens playing with yarn"}},
		{"typo beside a correct word", "kitens yarn", []string{"Kittens playing with yarn"}},
		{"stemming", "kitten", []string{"Kittens playing with yarn"}},
		{"phrase", `"red panda"`, []string{"Red panda eats bamboo"}},
		{"words in any order", "red panda", []string{"Red panda eats bamboo", "The panda is red and sleepy"}},
		{"exclusion", "cats -dogs", []string{"Cats being cats"}},
		{"exclusion of a phrase", `cats -"and dogs"`, []string{"Cats being cats"}},
		{"or", "typewriter or sourdough", []string{"Morning routine", "Weekend project"}},
		{"tag", "sourdough", []string{"Morning routine"}},
		{"description", "typewriter", []string{"Weekend project"}},
		{"captions", "borealis", []string{"Interview at dusk"}},
		{"channel name", "okonkwo", []string{"Untitled clip"}},
		{"channel name misspelt", "okonkow", []string{"Untitled clip"}},
		{"accents folded", "cafe creme", []string{"Café crème at home"}},
		{"title above description", "origami", []string{"Origami crane, step by step", "Paper folding for everyone"}},
		{"case", "ORIGAMI Crane", []string{"Origami crane, step by step", "Paper folding for everyone"}},
		{"nothing", "zeppelin", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := searchTitles(e.search("", searchArgs("q", tc.query)))
			if tc.name == "or" {
				slices.Sort(got) // equal relevance; only the set matters
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %q: got %q, want %q", tc.query, got, tc.want)
			}
		})
	}

	t.Run("typo with an exclusion", func(t *testing.T) {
		// "togther" matches nothing exactly; by similarity it finds the dogs video, which the
		// exclusion removes.
		got := searchTitles(e.search("", searchArgs("q", "togther")))
		if !slices.Equal(got, []string{"Cats and dogs together"}) {
			t.Errorf(`search "togther": got %q, want the dogs video`, got)
		}
		got = searchTitles(e.search("", searchArgs("q", "togther -dogs")))
		if len(got) != 0 {
			t.Errorf(`search "togther -dogs": got %q, want nothing`, got)
		}
	})
	t.Run("typo keeps the phrase exact", func(t *testing.T) {
		got := searchTitles(e.search("", searchArgs("q", `"red panda" bambo`)))
		if !slices.Equal(got, []string{"Red panda eats bamboo"}) {
			t.Errorf("got %q", got)
		}
		got = searchTitles(e.search("", searchArgs("q", `"panda red" bambo`)))
		if len(got) != 0 {
			t.Errorf(`"panda red" bambo: got %q, want nothing (no video has the phrase)`, got)
		}
	})
	t.Run("recent and popular above old and unpopular", func(t *testing.T) {
		page := e.search("", searchArgs("q", "lighthouse restoration"))
		if len(page.Videos) != 2 {
			t.Fatalf("got %q, want both lighthouse videos", searchTitles(page))
		}
		if page.Videos[0].Stats.Views != 120_000 || page.Videos[1].Stats.Views != 0 {
			t.Errorf("views in order: %d, %d; want the popular, recent one first",
				page.Videos[0].Stats.Views, page.Videos[1].Stats.Views)
		}
	})
}

func TestSearchFilters(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	seed := func(title string, age time.Duration, duration float64, views int64) {
		e.seedSearch(alice, searchVideo{title: title, age: age, duration: duration, views: views})
	}
	day := 24 * time.Hour
	seed("Glacier short", 30*time.Minute, 239, 50)
	seed("Glacier medium low", 3*day, 240, 10)
	seed("Glacier medium high", 60*day, 1200, 9000)
	seed("Glacier long", 2*365*day, 1201, 700)

	for _, tc := range []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"short", searchArgs("duration", "short"), []string{"Glacier short"}},
		{"medium", searchArgs("duration", "medium", "sort", "date"), []string{"Glacier medium low", "Glacier medium high"}},
		{"long", searchArgs("duration", "long"), []string{"Glacier long"}},
		{"hour", searchArgs("uploaded", "hour"), []string{"Glacier short"}},
		{"day", searchArgs("uploaded", "day"), []string{"Glacier short"}},
		{"week", searchArgs("uploaded", "week", "sort", "date"), []string{"Glacier short", "Glacier medium low"}},
		{"month", searchArgs("uploaded", "month", "sort", "date"), []string{"Glacier short", "Glacier medium low"}},
		{"year", searchArgs("uploaded", "year", "sort", "date"), []string{"Glacier short", "Glacier medium low", "Glacier medium high"}},
		{"both", searchArgs("uploaded", "year", "duration", "medium", "sort", "views"), []string{"Glacier medium high", "Glacier medium low"}},
		{"by date", searchArgs("sort", "date"), []string{"Glacier short", "Glacier medium low", "Glacier medium high", "Glacier long"}},
		{"by views", searchArgs("sort", "views"), []string{"Glacier medium high", "Glacier long", "Glacier short", "Glacier medium low"}},
		{"by views, misspelt", searchArgs("sort", "views", "q", "glacierr"), []string{"Glacier medium high", "Glacier long", "Glacier short", "Glacier medium low"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.params.Has("q") {
				tc.params.Set("q", "glacier")
			}
			got := searchTitles(e.search("", tc.params))
			if tc.params.Get("sort") == "" {
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %v: got %q, want %q", tc.params, got, tc.want)
			}
		})
	}
}

func TestSearchPagination(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	var all []string
	for i := range 31 {
		// Groups of three share age and views, and so their score: the id breaks the tie.
		all = append(all, e.seedSearch(alice, searchVideo{
			title: fmt.Sprintf("Meteor shower over the desert, night %d", i),
			age:   time.Duration(i/3) * 36 * time.Hour, views: int64(1000 * (i / 3 % 4)),
		}))
	}
	e.seedSearch(alice, searchVideo{title: "Comet sighting"})
	slices.Sort(all)

	for _, tc := range []struct {
		name   string
		params url.Values
	}{
		{"relevance", searchArgs("q", "meteor")},
		{"relevance, misspelt", searchArgs("q", "meteorr shower")},
		{"date", searchArgs("q", "meteor", "sort", "date")},
		{"views", searchArgs("q", "meteor", "sort", "views")},
	} {
		for _, limit := range []int{1, 4, 7, 31, 100} {
			t.Run(fmt.Sprintf("%s/limit %d", tc.name, limit), func(t *testing.T) {
				params := url.Values{}
				for k, v := range tc.params {
					params[k] = v
				}
				params.Set("limit", strconv.Itoa(limit))
				first := e.search("", params)
				if want := min(limit, len(all)); len(first.Videos) != want {
					t.Fatalf("first page: %d videos, want %d", len(first.Videos), want)
				}
				got := e.searchAll("", params)
				// The order is the search's, and the same whichever the page size.
				if limit == 1 {
					all1 := slices.Clone(got)
					params.Set("limit", "100")
					params.Del("cursor")
					if one := e.searchAll("", params); !slices.Equal(one, all1) {
						t.Errorf("pages of 1 give another order than one page of 100:\n%q\n%q", all1, one)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, all) {
					t.Errorf("got %d ids (%d distinct), want each of the %d meteor videos once",
						len(got), len(slices.Compact(got)), len(all))
				}
			})
		}
	}

	t.Run("scores do not increase down the pages", func(t *testing.T) {
		page := e.search("", searchArgs("q", "meteor", "limit", "100"))
		for i := 1; i < len(page.Videos); i++ {
			a, b := page.Videos[i-1], page.Videos[i]
			if a.Stats.Views < b.Stats.Views && a.PublishedAt.Before(*b.PublishedAt) {
				t.Errorf("%s (older, fewer views) ranks above %s", a.Title, b.Title)
			}
		}
	})
	t.Run("cursor keeps the moment of the first page", func(t *testing.T) {
		// A video published after the first page, ranking above the cursor, is not slipped
		// into later pages, and nothing repeats.
		page := e.search("", searchArgs("q", "meteor", "limit", "10"))
		e.seedSearch(alice, searchVideo{title: "Meteor shower, brand new", views: 5000})
		ids := []string{}
		for _, v := range page.Videos {
			ids = append(ids, v.Id)
		}
		ids = append(ids, e.searchAll("", searchArgs("q", "meteor", "limit", "10", "cursor", *page.NextCursor))...)
		slices.Sort(ids)
		if !slices.Equal(ids, all) {
			t.Errorf("with a video published between pages: %d ids, want the %d of the first page's search", len(ids), len(all))
		}
	})
}

func TestSearchVisibility(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	mod := e.moderator()
	ctx := context.Background()

	public := e.seedSearch(owner, searchVideo{title: "Nebula timelapse public"})
	e.seedSearch(owner, searchVideo{title: "Nebula timelapse unlisted", visibility: store.Unlisted})
	private := e.seedSearch(owner, searchVideo{title: "Nebula timelapse private", visibility: store.Private})
	held := e.seedSearch(owner, searchVideo{title: "Nebula timelapse held"})
	if ok, err := e.db.Hold(ctx, held, "reported"); err != nil || !ok {
		t.Fatalf("hold: %v %v", ok, err)
	}
	removed := e.seedSearch(owner, searchVideo{title: "Nebula timelapse removed"})
	restricted := e.seedSearch(owner, searchVideo{title: "Nebula timelapse restricted"})
	processing := e.seedSearch(owner, searchVideo{title: "Nebula timelapse processing"})
	for _, stmt := range []struct {
		sql string
		id  string
	}{
		{`UPDATE videos SET status = 'removed' WHERE id = $1`, removed},
		{`UPDATE videos SET moderation = 'restricted', content_warnings = '{violence}' WHERE id = $1`, restricted},
		{`UPDATE videos SET status = 'processing' WHERE id = $1`, processing},
	} {
		if _, err := e.db.Pool().Exec(ctx, stmt.sql, stmt.id); err != nil {
			t.Fatal(err)
		}
	}
	// An upload that never finished is not searchable either.
	e.upload(owner.Token, "Nebula timelapse uploading", []byte("bytes"))

	want := []string{public, restricted}
	slices.Sort(want)
	for _, who := range []struct {
		name, token string
	}{{"anonymous", ""}, {"owner", owner.Token}, {"moderator", mod.Token}} {
		for _, query := range []string{"nebula timelapse", "nebulla", `"nebula timelapse"`, "timelapse -unlisted"} {
			t.Run(who.name+"/"+query, func(t *testing.T) {
				var got []string
				for _, v := range e.search(who.token, searchArgs("q", query)).Videos {
					got = append(got, v.Id)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("search %q as %s: got %q, want the public and the restricted video %q", query, who.name, got, want)
				}
			})
		}
	}

	// Search follows changes at once: approval, publication, edits, holds and deletion.
	ids := func(query string) []string {
		var got []string
		for _, v := range e.search("", searchArgs("q", query)).Videos {
			got = append(got, v.Id)
		}
		slices.Sort(got)
		return got
	}
	if _, err := e.db.Pool().Exec(ctx, `UPDATE videos SET moderation = 'ok', held_reason = '' WHERE id = $1`, held); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+private, owner.Token, map[string]any{"visibility": "public"})
	want = []string{public, restricted, held, private}
	slices.Sort(want)
	if got := ids("nebula"); !slices.Equal(got, want) {
		t.Errorf("after approving the held video and publishing the private one: got %q, want %q", got, want)
	}
	e.must(http.StatusOK, "PATCH", "/api/v1/videos/"+public, owner.Token, map[string]any{"title": "Quasar timelapse"})
	if got := ids("quasar"); !slices.Equal(got, []string{public}) {
		t.Errorf("after renaming: quasar finds %q, want %q", got, public)
	}
	if got := ids("nebula"); slices.Contains(got, public) {
		t.Errorf("after renaming, nebula still finds the renamed video")
	}
	if ok, err := e.db.Hold(ctx, private, "reported again"); err != nil || !ok {
		t.Fatalf("hold: %v %v", ok, err)
	}
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+restricted, owner.Token, nil)
	want = []string{public, held}
	slices.Sort(want)
	if got := ids("timelapse"); !slices.Equal(got, want) {
		t.Errorf("after holding one video and deleting another: got %q, want %q", got, want)
	}
}

func TestSearchBadInput(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	for range 3 {
		e.seedSearch(alice, searchVideo{title: "Volcano eruption"})
	}
	page := e.search("", searchArgs("q", "volcano", "limit", "1"))
	if page.NextCursor == nil {
		t.Fatal("no cursor after the first of three results")
	}
	cursor := *page.NextCursor

	for _, tc := range []struct {
		name, query string
		field       string
	}{
		{"no q", "", "q"},
		{"empty q", "q=", "q"},
		{"blank q", "q=%20%20", "q"},
		{"long q", "q=" + strings.Repeat("a", 201), "q"},
		{"control character", "q=a%00b", "q"},
		{"newline", "q=a%0Ab", "q"},
		{"invalid UTF-8", "q=%ff%fe", "q"},
		{"only exclusions", "q=-dogs%20-cats", "q"},
		{"duration", "q=volcano&duration=forever", "duration"},
		{"uploaded", "q=volcano&uploaded=decade", "uploaded"},
		{"sort", "q=volcano&sort=best", "sort"},
		{"limit 0", "q=volcano&limit=0", "limit"},
		{"limit 101", "q=volcano&limit=101", "limit"},
		{"limit not a number", "q=volcano&limit=many", "limit"},
		{"garbage cursor", "q=volcano&cursor=not-a-cursor", "cursor"},
		{"cursor of another query", "q=eruption&cursor=" + cursor, "cursor"},
		{"cursor of another sort", "q=volcano&sort=date&cursor=" + cursor, "cursor"},
		{"cursor of other filters", "q=volcano&duration=short&cursor=" + cursor, "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/search?"+tc.query, "", nil)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			body := r.errorBody(t)
			if body.Fields == nil || (*body.Fields)[tc.field] == "" {
				t.Errorf("fields %v: want %q named", body.Fields, tc.field)
			}
		})
	}

	t.Run("200 characters are fine", func(t *testing.T) {
		e.search("", searchArgs("q", strings.Repeat("é", 200)))
	})
	t.Run("punctuation only", func(t *testing.T) {
		if got := e.search("", searchArgs("q", `!!! ??? "" -`)); len(got.Videos) != 0 {
			t.Errorf("got %q", searchTitles(got))
		}
	})
	t.Run("stop words only", func(t *testing.T) {
		e.search("", searchArgs("q", "the and of"))
	})
	t.Run("tsquery syntax is not interpreted", func(t *testing.T) {
		if got := e.search("", searchArgs("q", "volcano:* & (!")); len(got.Videos) != 3 {
			t.Errorf("got %q, want the three volcano videos", searchTitles(got))
		}
	})
}

func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		q                        string
		words, phrases, excluded []string
	}{
		{"kittens", []string{"kittens"}, nil, nil},
		{"  cats   -dogs ", []string{"cats"}, nil, []string{"dogs"}},
		{`"red panda" bamboo`, []string{"bamboo"}, []string{`"red panda"`}, nil},
		{`cats -"big  dogs" -mice`, []string{"cats"}, nil, []string{`"big dogs"`, "mice"}},
		{"cats or dogs OR mice", []string{"cats", "dogs", "mice"}, nil, nil},
		{`"unterminated phrase`, nil, []string{`"unterminated phrase"`}, nil},
		{"--double", []string{"double"}, nil, nil},
		{"pixel-art", []string{"pixel-art"}, nil, nil},
		{`- "" -`, nil, nil, nil},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got := store.ParseSearch(tc.q)
			if got.Text != tc.q || !slices.Equal(got.Words, tc.words) || !slices.Equal(got.Phrases, tc.phrases) ||
				!slices.Equal(got.Excluded, tc.excluded) {
				t.Errorf("got words %q, phrases %q, excluded %q; want %q, %q, %q", got.Words, got.Phrases, got.Excluded,
					tc.words, tc.phrases, tc.excluded)
			}
		})
	}
}

func TestSearchTypos(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	day := 24 * time.Hour
	maple := "Autumn maple tree swaying in the wind"
	coffee := "Coffee cup on a wooden desk"
	landscape := "Landscape photography at dawn"
	e.seedSearch(alice, searchVideo{title: maple})
	e.seedSearch(alice, searchVideo{title: coffee})
	e.seedSearch(alice, searchVideo{title: landscape})
	e.seedSearch(alice, searchVideo{title: "Three little pigs"})
	// More popular and newer than the coffee video: only exactness can put it second.
	toffee := "Toffee apple recipe"
	e.seedSearch(alice, searchVideo{title: toffee, views: 900_000, likes: 20_000})
	e.seedSearch(alice, searchVideo{title: "Coffee roasting at home", age: 400 * day})

	for _, tc := range []struct {
		name, query string
		want        []string // in order
	}{
		{"swapped letters, other word exact", "mapel tree", []string{maple}},
		{"last word being typed", "maple tre", []string{maple}},
		{"missing letter", "coffe cup", []string{coffee}},
		{"replaced letter", "wodden desk", []string{coffee}},
		{"prefix alone", "autu", []string{maple}},
		{"prefix that stemming cuts", "maple swayi", []string{maple}},
		{"two typos in a word of nine letters", "lnadscpae photography", []string{landscape}},
		{"three typos in a word of nine letters", "lnadscpea photography", []string{}},
		{"two typos in a word of eight letters", "photography lnadscap", []string{}},
		{"two typos in a word of six letters", "wuuden desk", []string{}},
		{"no typo in a word of four letters", "dsek wooden", []string{}},
		{"no typo in a word of three letters", "cap", []string{}},
		{"no typo in a short word before the last", "cap wooden", []string{}},
		{"stop words are not corrected", "there", []string{}},
		{"exact above corrected", "coffee", []string{coffee, "Coffee roasting at home", toffee}},
		{"excluded words are not corrected", "coffee -tofee", []string{coffee, "Coffee roasting at home", toffee}},
		{"quoted words are not corrected", `"wodden desk"`, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := searchTitles(e.search("", searchArgs("q", tc.query)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %q: got %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

func TestSearchTyposPaginate(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	var exact, corrected []string
	for i := range 7 {
		exact = append(exact, e.seedSearch(alice, searchVideo{title: fmt.Sprintf("Harbour at night %d", i), views: int64(i)}))
		// Popular, so that only exactness ranks them after the harbour videos.
		corrected = append(corrected, e.seedSearch(alice, searchVideo{title: fmt.Sprintf("Barbour jacket review %d", i), views: 500_000}))
	}
	for _, limit := range []int{1, 3, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := e.searchAll("", searchArgs("q", "harbour", "limit", strconv.Itoa(limit)))
			if len(got) != len(exact)+len(corrected) {
				t.Fatalf("got %d videos, want %d", len(got), len(exact)+len(corrected))
			}
			gotExact, gotCorrected := slices.Clone(got[:len(exact)]), slices.Clone(got[len(exact):])
			slices.Sort(gotExact)
			slices.Sort(gotCorrected)
			if !slices.Equal(gotExact, sorted(exact)) || !slices.Equal(gotCorrected, sorted(corrected)) {
				t.Errorf("got %q, want the %d exact matches, then the %d corrected ones", got, len(exact), len(corrected))
			}
		})
	}
}

func TestSearchLongQueries(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	e.seedSearch(alice, searchVideo{title: "Volcano lava flow"})

	t.Run("too many words", func(t *testing.T) {
		q := strings.TrimSpace(strings.Repeat("lava ", store.MaxSearchWords+1))
		r := e.do("GET", "/api/v1/search?"+searchArgs("q", q).Encode(), "", nil)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%d words: status %d, want 400: %s", store.MaxSearchWords+1, r.status, r.body)
		}
		if body := r.errorBody(t); body.Fields == nil || !strings.Contains((*body.Fields)["q"], "at most") {
			t.Errorf("fields %v: want q named with the limit", body.Fields)
		}
	})
	t.Run("a thousand words", func(t *testing.T) {
		q := strings.TrimSpace(strings.Repeat("lava ", 1000))
		if r := e.do("GET", "/api/v1/search?"+searchArgs("q", q).Encode(), "", nil); r.status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", r.status, r.body)
		}
	})
	t.Run("the most words, each corrected", func(t *testing.T) {
		words := make([]string, store.MaxSearchWords)
		for i := range words {
			words[i] = "lavaa"
		}
		words[0] = "volcno"
		q := strings.Join(words, " ")
		if got := searchTitles(e.search("", searchArgs("q", q))); !slices.Equal(got, []string{"Volcano lava flow"}) {
			t.Errorf("got %q, want the volcano video", got)
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestSearchLexemeCounts checks that search_lexemes (migration 00021), from which search
// bounds the matches of a query, stays equal to a recount over the documents through every
// way a document changes.
func TestSearchLexemeCounts(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	kept := e.seedSearch(alice, searchVideo{title: "Sourdough starter from scratch", tags: []string{"baking"}})
	edited := e.seedSearch(alice, searchVideo{title: "Sourdough loaf shaping", description: "A rustic loaf."})
	hidden := e.seedSearch(bob, searchVideo{title: "Rustic bread oven build"})
	removed := e.seedSearch(bob, searchVideo{title: "Starter feeding schedule"})
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.db.Pool().Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// mismatches counts the lexemes whose count differs from a recount, either way.
	mismatches := func() int64 {
		return e.sqlCount(`SELECT count(*) FROM (
			(SELECT lexeme, documents FROM search_lexemes EXCEPT SELECT word, ndoc FROM ts_stat('SELECT document FROM video_search'))
			UNION ALL
			(SELECT word, ndoc FROM ts_stat('SELECT document FROM video_search') EXCEPT SELECT lexeme, documents FROM search_lexemes)) d`)
	}
	documents := func(lexeme string) int64 {
		return e.sqlCount(`SELECT coalesce((SELECT documents FROM search_lexemes WHERE lexeme = $1), 0)`, lexeme)
	}
	if n := mismatches(); n != 0 || documents("sourdough") != 2 || documents("starter") != 2 {
		t.Fatalf("after publishing: %d lexemes off, sourdough in %d, starter in %d", n, documents("sourdough"), documents("starter"))
	}

	exec(`UPDATE videos SET title = 'Whole wheat loaf shaping', description = '' WHERE id = $1`, edited)
	exec(`UPDATE videos SET view_count = 1000000, like_count = 5000 WHERE id = $1`, kept) // popularity only
	exec(`UPDATE videos SET visibility = 'private' WHERE id = $1`, hidden)
	exec(`DELETE FROM videos WHERE id = $1`, removed)
	exec(`UPDATE users SET display_name = 'Alice Bakes' WHERE id = (SELECT owner_id FROM videos WHERE id = $1)`, kept)
	if n := mismatches(); n != 0 {
		t.Fatalf("after edits, a private video, a deletion and a renamed channel: %d lexemes off a recount", n)
	}
	if documents("sourdough") != 1 || documents("rustic") != 0 || documents("bake") != 2 {
		t.Errorf("sourdough in %d (want 1), rustic in %d (want 0: no document has it), bake in %d (want 2)",
			documents("sourdough"), documents("rustic"), documents("bake"))
	}
	if n := e.sqlCount(`SELECT count(*) FROM search_lexemes WHERE documents <= 0`); n != 0 {
		t.Errorf("%d lexemes no document has are still counted", n)
	}
}
