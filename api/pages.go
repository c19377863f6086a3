package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/sunomi/sunomi/api/store"
)

// Lists are paged by keyset: a handler asks the store for limit+1 rows after the cursor, and
// the extra row, if any, says there is a next page, which starts after the last row kept.

// errBadCursor refuses a cursor that this API did not return.
var errBadCursor = errField("cursor", "is not a cursor this API returned")

// pageParams validates a list's cursor and limit; the cursor is nil for the first page.
func pageParams(cursor *string, limit *int) (*store.Cursor, int, error) {
	n := defaultLimit
	if limit != nil {
		if *limit < 1 || *limit > 100 {
			return nil, 0, errField("limit", "must be between 1 and 100")
		}
		n = *limit
	}
	if cursor == nil || *cursor == "" {
		return nil, n, nil
	}
	c, err := decodeCursor(*cursor)
	if err != nil {
		return nil, 0, errBadCursor
	}
	return &c, n, nil
}

// intPageParams is pageParams for lists keyed by a serial id (comments, audit entries), whose
// cursors must carry an integer: anything else would reach the database as a bad query.
func intPageParams(cursor *string, limit *int) (*store.Cursor, int, error) {
	after, n, err := pageParams(cursor, limit)
	if err != nil {
		return nil, 0, err
	}
	if after != nil {
		if _, err := strconv.ParseInt(after.ID, 10, 64); err != nil {
			return nil, 0, errBadCursor
		}
	}
	return after, n, nil
}

// trimPage cuts the limit+1 rows of a list to limit and, when there were more, returns the
// cursor of the next page, which cursor makes from the last row kept.
func trimPage[T any](rows []T, limit int, cursor func(T) string) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := cursor(rows[limit-1])
	return rows, &next
}

// readPage reads one page of a list: parse checks the cursor and limit (pageParams, or
// intPageParams for a list keyed by a serial id), fetch is asked for the limit+1 rows after the
// cursor, and the rows come back cut to the page with the next page's cursor, which next makes
// from the last row kept.
func readPage[T any](ctx context.Context, parse func(cursor *string, limit *int) (*store.Cursor, int, error),
	cursor *string, limit *int, fetch func(ctx context.Context, after *store.Cursor, limit int) ([]T, error),
	next func(T) string) ([]T, *string, error) {
	after, n, err := parse(cursor, limit)
	if err != nil {
		return nil, nil, err
	}
	rows, err := fetch(ctx, after, n+1)
	if err != nil {
		return nil, nil, err
	}
	rows, nextCursor := trimPage(rows, n, next)
	return rows, nextCursor, nil
}

// intCursor is the cursor of a row keyed by time and a serial id.
func intCursor(t time.Time, id int64) string {
	return encodeCursor(store.Cursor{Time: t, ID: strconv.FormatInt(id, 10)})
}

// Cursors are opaque to clients: base64url of {"t": time, "i": id}.
type cursorJSON struct {
	T time.Time `json:"t"`
	I string    `json:"i"`
}

func encodeCursor(c store.Cursor) string {
	b, _ := json.Marshal(cursorJSON{T: c.Time, I: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.Cursor{}, err
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return store.Cursor{}, err
	}
	if c.I == "" || c.T.IsZero() {
		return store.Cursor{}, errors.New("incomplete cursor")
	}
	return store.Cursor{Time: c.T, ID: c.I}, nil
}
