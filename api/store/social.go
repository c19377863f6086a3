package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Comment is one comment row with its author's public fields.
type Comment struct {
	ID             int64
	VideoID        string
	ParentID       *int64 // nil for a top-level comment
	AuthorID       int64
	AuthorUsername string
	AuthorName     string
	AuthorAvatar   string
	Body           string
	Held           bool
	Edited         bool
	// ReplyCount counts the replies the reader may see (see Reader).
	ReplyCount int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Reader is who reads comments: held comments are shown to their author, and to everyone
// when SeesHeld (the video's owner and moderators).
type Reader struct {
	UserID   int64 // 0 for anonymous readers
	SeesHeld bool
}

const commentColumns = `c.id, c.video_id, c.parent_id, c.author_id, u.username, u.display_name,
	u.avatar_url, c.body, c.held, c.edited, c.created_at, c.updated_at,
	(SELECT count(*) FROM comments r WHERE r.parent_id = c.id AND (NOT r.held OR r.author_id = $1 OR $2))::int`

const commentFrom = ` FROM comments c JOIN users u ON u.id = c.author_id `

// commentVisible is the reader's filter; $1 and $2 are the Reader's fields.
const commentVisible = ` (NOT c.held OR c.author_id = $1 OR $2) `

func scanComment(row pgx.Row) (Comment, error) {
	var c Comment
	err := row.Scan(&c.ID, &c.VideoID, &c.ParentID, &c.AuthorID, &c.AuthorUsername, &c.AuthorName,
		&c.AuthorAvatar, &c.Body, &c.Held, &c.Edited, &c.CreatedAt, &c.UpdatedAt, &c.ReplyCount)
	return c, notFound(err)
}

// Comment finds a comment by id, with the replies reader may see counted; it does not check
// that reader may see the comment itself.
func (s *Store) Comment(ctx context.Context, id int64, reader Reader) (Comment, error) {
	return scanComment(s.pool.QueryRow(ctx, `SELECT `+commentColumns+commentFrom+`WHERE c.id = $3`,
		reader.UserID, reader.SeesHeld, id))
}

// ListComments lists what reader may see of a video's top-level comments, newest first, or
// (parentID set) of the replies to one comment, oldest first. after is the last comment of the
// previous page; its ID is a comment id.
func (s *Store) ListComments(ctx context.Context, videoID string, parentID *int64, reader Reader, after *Cursor, limit int) ([]Comment, error) {
	args := []any{reader.UserID, reader.SeesHeld, videoID, limit}
	q := `SELECT ` + commentColumns + commentFrom + `WHERE c.video_id = $3 AND` + commentVisible
	order := ` ORDER BY c.created_at DESC, c.id DESC LIMIT $4`
	if parentID == nil {
		q += ` AND c.parent_id IS NULL`
		if after != nil {
			q += ` AND (c.created_at, c.id) < ($5, $6::bigint)`
			args = append(args, after.Time, after.ID)
		}
	} else {
		q += ` AND c.parent_id = $5`
		args = append(args, *parentID)
		order = ` ORDER BY c.created_at, c.id LIMIT $4`
		if after != nil {
			q += ` AND (c.created_at, c.id) > ($6, $7::bigint)`
			args = append(args, after.Time, after.ID)
		}
	}
	rows, err := s.pool.Query(ctx, q+order, args...)
	return scanAll(rows, err, scanComment)
}

// NewComment is a comment to insert.
type NewComment struct {
	VideoID  string
	ParentID *int64
	AuthorID int64
	Body     string
	Held     bool
}

// CreateComment inserts a comment and counts it on its video (unless held), in one
// transaction; ErrNotFound when the video or the parent comment is gone.
func (s *Store) CreateComment(ctx context.Context, n NewComment) (Comment, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The foreign key check locks the parent (FOR KEY SHARE), so a concurrent delete of
		// the parent, which locks it FOR UPDATE first, either counts this reply or refuses it.
		err := tx.QueryRow(ctx, `
			INSERT INTO comments (video_id, parent_id, author_id, body, held)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			n.VideoID, n.ParentID, n.AuthorID, n.Body, n.Held).Scan(&id)
		if isForeignKeyViolation(err) {
			return ErrNotFound
		}
		if err != nil || n.Held {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE videos SET comment_count = comment_count + 1 WHERE id = $1`, n.VideoID)
		return err
	})
	if err != nil {
		return Comment{}, err
	}
	return s.Comment(ctx, id, Reader{UserID: n.AuthorID})
}

// UpdateComment replaces a comment's body and marks it edited. hold holds it for review; an
// edit never releases a held comment (that is a moderator's decision). A comment that becomes
// held leaves its video's comment_count in the same transaction.
func (s *Store) UpdateComment(ctx context.Context, id int64, body string, hold bool) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var videoID string
		var wasHeld bool
		err := tx.QueryRow(ctx, `SELECT video_id, held FROM comments WHERE id = $1 FOR UPDATE`, id).Scan(&videoID, &wasHeld)
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE comments SET body = $2, edited = true, held = held OR $3, updated_at = now()
			WHERE id = $1`, id, body, hold); err != nil {
			return err
		}
		if hold && !wasHeld {
			_, err = tx.Exec(ctx, `UPDATE videos SET comment_count = comment_count - 1 WHERE id = $1`, videoID)
		}
		return err
	})
}

// DeleteComment deletes a comment and, by cascade, its replies, taking the visible ones off
// the video's comment_count in the same transaction.
func (s *Store) DeleteComment(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return deleteComment(ctx, tx, id) })
}

// deleteComment deletes a comment and its replies inside tx, keeping the video's count exact.
func deleteComment(ctx context.Context, tx pgx.Tx, id int64) error {
	var videoID string
	// FOR UPDATE waits for replies being inserted (they hold FOR KEY SHARE on this row)
	// and makes later ones fail their foreign key check, so the count below is exact.
	err := tx.QueryRow(ctx, `SELECT video_id FROM comments WHERE id = $1 FOR UPDATE`, id).Scan(&videoID)
	if err != nil {
		return notFound(err)
	}
	var counted int64
	if err := tx.QueryRow(ctx, `
		SELECT count(*) FROM comments WHERE (id = $1 OR parent_id = $1) AND NOT held`, id).Scan(&counted); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM comments WHERE id = $1`, id); err != nil {
		return err
	}
	if counted > 0 {
		_, err = tx.Exec(ctx, `UPDATE videos SET comment_count = comment_count - $2 WHERE id = $1`, videoID, counted)
	}
	return err
}

// Rating values in the likes table; RatingNone is the absence of a row.
const (
	RatingLike    = 1
	RatingDislike = -1
	RatingNone    = 0
)

// Rating is the user's rating of the video: RatingLike, RatingDislike or RatingNone.
func (s *Store) Rating(ctx context.Context, userID int64, videoID string) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT value FROM likes WHERE user_id = $1 AND video_id = $2`, userID, videoID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return RatingNone, nil
	}
	return v, err
}

// Rate sets the user's rating of the video and moves the video's counts by the difference, in
// one transaction, and returns the counts after it. Counts are changed by increments
// (like_count = like_count + delta), never rewritten from a value read earlier, so any number
// of users rating at once leave them exact; a per-user-and-video advisory lock makes the
// read of the previous rating and the write one step when the same user rates twice at once.
func (s *Store) Rate(ctx context.Context, userID int64, videoID string, value int) (likes, dislikes int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			fmt.Sprintf("rating:%s:%d", videoID, userID)); err != nil {
			return err
		}
		var old int
		err := tx.QueryRow(ctx, `SELECT value FROM likes WHERE user_id = $1 AND video_id = $2`, userID, videoID).Scan(&old)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		switch {
		case value == old:
		case value == RatingNone:
			_, err = tx.Exec(ctx, `DELETE FROM likes WHERE user_id = $1 AND video_id = $2`, userID, videoID)
		default:
			_, err = tx.Exec(ctx, `
				INSERT INTO likes (user_id, video_id, value) VALUES ($1, $2, $3)
				ON CONFLICT (user_id, video_id) DO UPDATE SET value = EXCLUDED.value, created_at = now()`,
				userID, videoID, value)
		}
		if isForeignKeyViolation(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		dLikes, dDislikes := ratingCount(value, RatingLike)-ratingCount(old, RatingLike),
			ratingCount(value, RatingDislike)-ratingCount(old, RatingDislike)
		return notFound(tx.QueryRow(ctx, `
			UPDATE videos SET like_count = like_count + $2, dislike_count = dislike_count + $3
			WHERE id = $1 RETURNING like_count, dislike_count`, videoID, dLikes, dDislikes).Scan(&likes, &dislikes))
	})
	return likes, dislikes, err
}

func ratingCount(value, kind int) int64 {
	if value == kind {
		return 1
	}
	return 0
}

// View is one playback start (or progress report) of a viewer.
type View struct {
	VideoID string
	// UserID identifies a signed-in viewer; Viewer (a salted hash) an anonymous one.
	UserID int64
	Viewer []byte
	At     time.Time
	// Window is how long a viewer counts once (24 h).
	Window time.Duration
	// Position, for a signed-in viewer, is saved as the resume position; nil keeps the saved one.
	Position *float64
}

// RecordView counts the view unless the same viewer was counted on the video within the
// window, and saves a signed-in viewer's history, in one transaction. It returns whether the
// view counted and the video's view count.
func (s *Store) RecordView(ctx context.Context, v View) (counted bool, views int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var lockKey string
		var seen bool
		if v.UserID != 0 {
			lockKey = fmt.Sprintf("view:%s:u%d", v.VideoID, v.UserID)
		} else {
			lockKey = fmt.Sprintf("view:%s:a%x", v.VideoID, v.Viewer)
		}
		// Two players of the same viewer starting at once count once.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, lockKey); err != nil {
			return err
		}
		since := v.At.Add(-v.Window)
		var err error
		if v.UserID != 0 {
			err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM views
				WHERE video_id = $1 AND user_id = $2 AND created_at > $3)`, v.VideoID, v.UserID, since).Scan(&seen)
		} else {
			err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM views
				WHERE video_id = $1 AND viewer = $2 AND created_at > $3)`, v.VideoID, v.Viewer, since).Scan(&seen)
		}
		if err != nil {
			return err
		}
		if !seen {
			var user *int64
			if v.UserID != 0 {
				user = &v.UserID
			}
			_, err := tx.Exec(ctx, `INSERT INTO views (video_id, user_id, viewer, created_at) VALUES ($1, $2, $3, $4)`,
				v.VideoID, user, v.Viewer, v.At)
			if isForeignKeyViolation(err) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `UPDATE videos SET view_count = view_count + 1 WHERE id = $1 RETURNING view_count`,
				v.VideoID).Scan(&views)
			if err != nil {
				return notFound(err)
			}
			counted = true
		} else if err := tx.QueryRow(ctx, `SELECT view_count FROM videos WHERE id = $1`, v.VideoID).Scan(&views); err != nil {
			return notFound(err)
		}
		if v.UserID == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO watch_history (user_id, video_id, position_seconds, updated_at)
			VALUES ($1, $2, coalesce($3::double precision, 0), $4)
			ON CONFLICT (user_id, video_id) DO UPDATE SET
				position_seconds = coalesce($3::double precision, watch_history.position_seconds), updated_at = $4`,
			v.UserID, v.VideoID, v.Position, v.At)
		return err
	})
	return counted, views, err
}

// HistoryEntry is one video of a user's watch history.
type HistoryEntry struct {
	Video     Video
	Position  float64
	WatchedAt time.Time
}

// History lists the videos the user watched, most recently watched first, leaving out those
// the user may no longer see (the rule of the API's canView: their own videos and, for
// moderators, every video; otherwise public or unlisted ones being transcoded or ready and not
// held or removed). after's ID is a video id.
func (s *Store) History(ctx context.Context, userID int64, moderator bool, after *Cursor, limit int) ([]HistoryEntry, error) {
	q := `SELECT h.position_seconds, h.updated_at, ` + videoColumns + `
		FROM watch_history h JOIN videos v ON v.id = h.video_id JOIN users u ON u.id = v.owner_id
		WHERE h.user_id = $1 AND (v.owner_id = $1 OR $2 OR (v.moderation <> 'held'
			AND v.status IN ('queued', 'processing', 'ready') AND v.visibility IN ('public', 'unlisted')))`
	args := []any{userID, moderator, limit}
	if after != nil {
		q += ` AND (h.updated_at, h.video_id) < ($4, $5)`
		args = append(args, after.Time, after.ID)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY h.updated_at DESC, h.video_id DESC LIMIT $3`, args...)
	return scanAll(rows, err, func(row pgx.Row) (HistoryEntry, error) {
		var e HistoryEntry
		v, err := scanVideo(prefixRow{row, []any{&e.Position, &e.WatchedAt}})
		e.Video = v
		return e, err
	})
}

// prefixRow scans leading columns of its own before those scanVideo or scanComment asks for,
// so queries can select extra columns without repeating videoColumns' or commentColumns' scan
// list.
type prefixRow struct {
	pgx.Row
	extra []any
}

func (r prefixRow) Scan(dest ...any) error { return r.Row.Scan(append(r.extra, dest...)...) }

// publicReady is the filter of channel pages and feeds: what anyone may browse.
const publicReady = ` v.visibility = 'public' AND v.status = 'ready' AND v.moderation <> 'held' `

// ListChannel lists one owner's public ready videos (not held), newest first; it reads the
// videos_channel_newest index in order.
func (s *Store) ListChannel(ctx context.Context, ownerID int64, after *Cursor, limit int) ([]Video, error) {
	if after == nil {
		return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`WHERE v.owner_id = $2 AND`+publicReady+`
			ORDER BY v.published_at DESC, v.id DESC LIMIT $1`, limit, ownerID)
	}
	return s.queryVideos(ctx, `SELECT `+videoColumns+videoFrom+`WHERE v.owner_id = $2 AND`+publicReady+`
		AND (v.published_at, v.id) < ($3, $4) ORDER BY v.published_at DESC, v.id DESC LIMIT $1`,
		limit, ownerID, after.Time, after.ID)
}

// Feed lists the public ready videos (not held) of the channels the user subscribes to,
// newest first.
func (s *Store) Feed(ctx context.Context, userID int64, after *Cursor, limit int) ([]Video, error) {
	q := `SELECT ` + videoColumns + videoFrom + `
		WHERE v.owner_id IN (SELECT channel_id FROM subscriptions WHERE subscriber_id = $2) AND` + publicReady
	if after == nil {
		return s.queryVideos(ctx, q+` ORDER BY v.published_at DESC, v.id DESC LIMIT $1`, limit, userID)
	}
	return s.queryVideos(ctx, q+` AND (v.published_at, v.id) < ($3, $4) ORDER BY v.published_at DESC, v.id DESC LIMIT $1`,
		limit, userID, after.Time, after.ID)
}

// Channel is what a channel page counts.
type Channel struct {
	Subscribers int64
	Videos      int64 // public, ready and not held
	Subscribed  bool  // whether the reader subscribes
}

// ChannelStats counts a channel's subscribers and public videos, and says whether readerID
// (0 for anonymous) subscribes.
func (s *Store) ChannelStats(ctx context.Context, channelID, readerID int64) (Channel, error) {
	var c Channel
	err := s.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM subscriptions WHERE channel_id = $1),
			(SELECT count(*) FROM videos v WHERE v.owner_id = $1 AND`+publicReady+`),
			EXISTS (SELECT 1 FROM subscriptions WHERE channel_id = $1 AND subscriber_id = $2)`,
		channelID, readerID).Scan(&c.Subscribers, &c.Videos, &c.Subscribed)
	return c, err
}

// Subscribe subscribes (on) or unsubscribes the subscriber to the channel; doing it twice is
// harmless. It returns the channel's subscriber count after the change.
func (s *Store) Subscribe(ctx context.Context, subscriberID, channelID int64, on bool) (int64, error) {
	var err error
	if on {
		_, err = s.pool.Exec(ctx, `INSERT INTO subscriptions (subscriber_id, channel_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, subscriberID, channelID)
	} else {
		_, err = s.pool.Exec(ctx, `DELETE FROM subscriptions WHERE subscriber_id = $1 AND channel_id = $2`, subscriberID, channelID)
	}
	if isForeignKeyViolation(err) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM subscriptions WHERE channel_id = $1`, channelID).Scan(&n)
	return n, err
}

// SetDisplayName changes a user's display name.
func (s *Store) SetDisplayName(ctx context.Context, userID int64, name string) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `UPDATE users SET display_name = $2 WHERE id = $1 RETURNING `+userColumns, userID, name))
}

// SetAvatar changes a user's avatar URL and returns the previous one, so the caller can delete
// the image it named.
func (s *Store) SetAvatar(ctx context.Context, userID int64, url string) (previous string, u User, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT avatar_url FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&previous); err != nil {
			return notFound(err)
		}
		u, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET avatar_url = $2 WHERE id = $1 RETURNING `+userColumns, userID, url))
		return err
	})
	return previous, u, err
}

// Listener receives PostgreSQL notifications on a dedicated connection (LISTEN does not mix
// with a pool: the connection must stay the same for as long as it listens).
type Listener struct {
	conn *pgx.Conn
}

// Listen opens a connection and LISTENs on channel.
func (s *Store) Listen(ctx context.Context, channel string) (*Listener, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to listen on %s: %w", channel, err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("listen on %s: %w", channel, err)
	}
	return &Listener{conn: conn}, nil
}

// Wait returns the payload of the next notification; an error means the connection is no
// longer usable (or ctx ended), and the listener must be closed and opened again.
func (l *Listener) Wait(ctx context.Context) (string, error) {
	n, err := l.conn.WaitForNotification(ctx)
	if err != nil {
		return "", err
	}
	return n.Payload, nil
}

// Close closes the connection.
func (l *Listener) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}

// isForeignKeyViolation reports whether err is PostgreSQL's foreign_key_violation (23503):
// the row referred to is gone.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// rollUpBatch bounds the views one roll-up statement moves, so a first run over a large table
// holds no lock for long.
const rollUpBatch = 10000

// RollUpViews adds the views counted before `before` (the start of the dedup window: they can
// no longer deduplicate anything) to their video's daily counts in view_days and deletes them,
// so the views table holds one dedup window. It returns how many it moved. Replicas may run it
// at once: a row is deleted, and so counted, by one of them only.
func (s *Store) RollUpViews(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.pool.QueryRow(ctx, `
			WITH gone AS (
				DELETE FROM views WHERE id IN (
					SELECT id FROM views WHERE created_at < $1 ORDER BY created_at LIMIT $2)
				RETURNING video_id, created_at
			), days AS (
				INSERT INTO view_days AS d (video_id, day, views)
				SELECT video_id, (created_at AT TIME ZONE 'UTC')::date, count(*) FROM gone GROUP BY 1, 2
				ON CONFLICT (video_id, day) DO UPDATE SET views = d.views + excluded.views
			)
			SELECT count(*) FROM gone`, before, rollUpBatch).Scan(&n)
		if err != nil {
			return total, err
		}
		total += n
		if n < rollUpBatch {
			return total, nil
		}
	}
}
