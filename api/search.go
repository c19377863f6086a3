package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// maxQuery bounds a search query, as the contract does.
const maxQuery = 200

// SearchVideos searches the videos anyone may see: public, ready and neither held for review
// nor removed. The rule is the same for everyone, the owner and moderators included: they
// find their hidden videos in /me/videos and the moderation queue, not in search.
func (s *Server) SearchVideos(w http.ResponseWriter, r *http.Request, params oapi.SearchVideosParams) {
	s.handle(w, r, func() error {
		q, key, err := s.searchParams(params)
		if err != nil {
			return err
		}
		limit := q.Limit
		q.Limit++ // one more row says whether there is a next page
		hits, _, err := s.db.Search(r.Context(), q)
		if err != nil {
			return err
		}
		page := oapi.VideoPage{Videos: make([]oapi.Video, 0, min(len(hits), limit))}
		hits, page.NextCursor = trimPage(hits, limit, func(h store.SearchHit) string { return encodeSearchCursor(q, key, h) })
		for _, h := range hits {
			page.Videos = append(page.Videos, s.toAPIVideo(r, h.Video))
		}
		// Anonymous results may be cached for a moment, as the home page is; signed-in callers
		// see their own moderation state on the videos they own.
		if _, signedIn := caller(r); signedIn {
			w.Header().Set("Cache-Control", "private, no-cache")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=5")
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	})
}

// searchParams validates a search request, reporting every offending parameter at once. It
// returns the search and the key that its cursors carry.
func (s *Server) searchParams(p oapi.SearchVideosParams) (store.Search, string, error) {
	fields := map[string]string{}
	q := store.Search{Sort: store.SortRelevance, Limit: defaultLimit, Now: s.now().UTC().Truncate(time.Microsecond)}

	text := strings.TrimSpace(p.Q)
	switch {
	case text == "":
		fields["q"] = "must not be empty"
	case !utf8.ValidString(text):
		fields["q"] = "must be valid UTF-8"
	default:
		if problem := checkText(text, maxQuery, false); problem != "" {
			fields["q"] = problem
		} else if q.Terms = store.ParseSearch(text); !q.Terms.Positive() {
			fields["q"] = "must name something to look for, not only words to exclude"
		} else if n := q.Terms.Clauses(); n > store.MaxSearchWords {
			fields["q"] = fmt.Sprintf("must have at most %d words and phrases, got %d", store.MaxSearchWords, n)
		}
	}
	if p.Duration != nil {
		switch d := string(*p.Duration); d {
		case store.DurationShort, store.DurationMedium, store.DurationLong:
			q.Duration = d
		default:
			fields["duration"] = "must be short, medium or long"
		}
	}
	var uploaded string
	if p.Uploaded != nil {
		switch uploaded = string(*p.Uploaded); uploaded {
		case "hour", "day", "week", "month", "year":
		default:
			fields["uploaded"] = "must be hour, day, week, month or year"
		}
	}
	if p.Sort != nil {
		switch o := string(*p.Sort); o {
		case store.SortRelevance, store.SortDate, store.SortViews:
			q.Sort = o
		default:
			fields["sort"] = "must be relevance, date or views"
		}
	}
	if p.Limit != nil {
		if *p.Limit < 1 || *p.Limit > 100 {
			fields["limit"] = "must be between 1 and 100"
		} else {
			q.Limit = *p.Limit
		}
	}
	key := searchKey(text, q.Duration, uploaded, q.Sort)
	if p.Cursor != nil && *p.Cursor != "" {
		c, err := decodeSearchCursor(*p.Cursor, key, q.Sort)
		if err != nil {
			fields["cursor"] = err.Error()
		} else {
			q.After, q.Now = &c.after, c.now
		}
	}
	if len(fields) > 0 {
		return q, key, errInvalid("some search parameters are invalid", fields)
	}
	// Upload dates count back from the search's moment, which the cursor keeps for later pages.
	if uploaded != "" {
		since := sinceOf(q.Now, uploaded)
		q.Since = &since
	}
	return q, key, nil
}

// Search cursors are keyset positions: the last hit's sort key and id, plus what must stay
// fixed for the pages to fit together: the moment recency is measured from (scores depend on
// it) and a hash of the query, its filters and order, so that any other search refuses the
// cursor. Offset cursors would be simpler, but a video published or removed between two
// requests would shift every later page by one, repeating or skipping a result; a keyset
// position stays put. Every page scores the same bounded candidates (store.RankedCandidates),
// so a deep page costs what the first one does.
type searchCursorJSON struct {
	Score float64 `json:"k,omitempty"`
	Time  int64   `json:"t,omitempty"` // publication, µs since the epoch, for sort=date
	Views int64   `json:"v,omitempty"`
	ID    string  `json:"i"`
	Now   int64   `json:"n"` // µs since the epoch
	Key   string  `json:"h"`
}

type searchCursor struct {
	after store.SearchCursor
	now   time.Time
}

// searchKey identifies a search's query, filters and order.
func searchKey(q, duration, uploaded, sort string) string {
	h := fnv.New32a()
	for _, s := range []string{q, duration, uploaded, sort} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

func encodeSearchCursor(q store.Search, key string, last store.SearchHit) string {
	c := searchCursorJSON{ID: last.Video.ID, Now: q.Now.UnixMicro(), Key: key}
	switch q.Sort {
	case store.SortDate:
		c.Time = last.Video.PublishedAt.UnixMicro()
	case store.SortViews:
		c.Views = last.Video.Views
	default:
		c.Score = last.Score
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sinceOf is the earliest publication time the uploaded filter keeps.
func sinceOf(now time.Time, uploaded string) time.Time {
	switch uploaded {
	case "hour":
		return now.Add(-time.Hour)
	case "day":
		return now.AddDate(0, 0, -1)
	case "week":
		return now.AddDate(0, 0, -7)
	case "month":
		return now.AddDate(0, -1, 0)
	}
	return now.AddDate(-1, 0, 0)
}

func decodeSearchCursor(s, key, sort string) (searchCursor, error) {
	var c searchCursorJSON
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" || c.Now == 0 {
		return searchCursor{}, errors.New("is not a cursor this API returned")
	}
	if c.Key != key {
		return searchCursor{}, errors.New("belongs to another search: send the same q, filters and sort as for the first page")
	}
	out := searchCursor{after: store.SearchCursor{ID: c.ID, Score: c.Score, Views: c.Views}, now: time.UnixMicro(c.Now).UTC()}
	if sort == store.SortDate {
		if c.Time == 0 {
			return searchCursor{}, errors.New("is not a cursor this API returned")
		}
		out.after.Published = time.UnixMicro(c.Time).UTC()
	}
	return out, nil
}
