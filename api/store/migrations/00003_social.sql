-- Social features: comment moderation flags, watch history, the indexes behind view
-- de-duplication, channel pages and feeds, and the notifications that carry live counts.

-- +goose Up

-- A held comment (the term policy) is visible only to its author, the video's owner and
-- moderators, and is not in the video's comment_count until a moderator approves it.
ALTER TABLE comments
    ADD COLUMN held   boolean NOT NULL DEFAULT false,
    ADD COLUMN edited boolean NOT NULL DEFAULT false;
-- Top-level comments newest first, replies oldest first.
CREATE INDEX comments_top_level ON comments (video_id, created_at DESC, id DESC) WHERE parent_id IS NULL;
DROP INDEX comments_parent;
CREATE INDEX comments_parent ON comments (parent_id, created_at, id) WHERE parent_id IS NOT NULL;

-- One row per user and video: the last time they watched it and where they stopped.
CREATE TABLE watch_history (
    user_id          bigint           NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    video_id         text             NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    position_seconds double precision NOT NULL DEFAULT 0 CHECK (position_seconds >= 0),
    updated_at       timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX watch_history_recent ON watch_history (user_id, updated_at DESC, video_id DESC);
CREATE INDEX watch_history_video ON watch_history (video_id);

-- "Has this viewer been counted on this video in the last 24 h?", for each kind of viewer.
CREATE INDEX views_dedupe_user ON views (video_id, user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX views_dedupe_viewer ON views (video_id, viewer, created_at) WHERE viewer IS NOT NULL;

-- Channel pages and feeds: one owner's public ready videos, newest first.
CREATE INDEX videos_channel_newest ON videos (owner_id, published_at DESC, id DESC)
    WHERE visibility = 'public' AND status = 'ready' AND moderation <> 'held';

-- Every API replica LISTENs on sunomi_counts and tells its WebSockets when a video's counts,
-- status, visibility or moderation change, or the video is deleted. A trigger rather than
-- calls in each query: every writer (likes, views, comments, moderation, deletion) notifies in
-- the transaction of its change, and PostgreSQL delivers the notice only if it commits.
-- +goose StatementBegin
CREATE FUNCTION notify_video_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('sunomi_counts', OLD.id);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('sunomi_counts', NEW.id);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER videos_notify_change AFTER UPDATE ON videos FOR EACH ROW
    WHEN (OLD.view_count IS DISTINCT FROM NEW.view_count
        OR OLD.like_count IS DISTINCT FROM NEW.like_count
        OR OLD.dislike_count IS DISTINCT FROM NEW.dislike_count
        OR OLD.comment_count IS DISTINCT FROM NEW.comment_count
        OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.visibility IS DISTINCT FROM NEW.visibility
        OR OLD.moderation IS DISTINCT FROM NEW.moderation)
    EXECUTE FUNCTION notify_video_change();
CREATE TRIGGER videos_notify_delete AFTER DELETE ON videos FOR EACH ROW
    EXECUTE FUNCTION notify_video_change();

-- +goose Down
DROP TRIGGER videos_notify_delete ON videos;
DROP TRIGGER videos_notify_change ON videos;
DROP FUNCTION notify_video_change();
DROP INDEX videos_channel_newest;
DROP INDEX views_dedupe_viewer;
DROP INDEX views_dedupe_user;
DROP TABLE watch_history;
DROP INDEX comments_parent;
CREATE INDEX comments_parent ON comments (parent_id) WHERE parent_id IS NOT NULL;
DROP INDEX comments_top_level;
ALTER TABLE comments DROP COLUMN held, DROP COLUMN edited;
