-- Columns the social, moderation, caption and search features share on videos.
--
-- Counts are denormalised onto the row, updated in the same transaction as the like, view or
-- comment that changes them, so listing and ranking never count rows.

-- +goose Up
ALTER TABLE videos
    ADD COLUMN view_count      bigint      NOT NULL DEFAULT 0,
    ADD COLUMN like_count      bigint      NOT NULL DEFAULT 0,
    ADD COLUMN dislike_count   bigint      NOT NULL DEFAULT 0,
    ADD COLUMN comment_count   bigint      NOT NULL DEFAULT 0,
    -- ok, held (hidden pending review) or restricted (viewers confirm content warnings).
    -- Removal by a moderator is status 'removed'.
    ADD COLUMN moderation      text        NOT NULL DEFAULT 'ok' CHECK (moderation IN ('ok', 'held', 'restricted')),
    ADD COLUMN held_reason     text        NOT NULL DEFAULT '',
    ADD COLUMN held_at         timestamptz,
    ADD COLUMN content_warnings text[]     NOT NULL DEFAULT '{}',
    -- The text of every caption track, for search.
    ADD COLUMN caption_text    text        NOT NULL DEFAULT '';

DROP INDEX videos_public_newest;
CREATE INDEX videos_public_newest ON videos (published_at DESC, id DESC)
    WHERE visibility = 'public' AND status = 'ready' AND moderation <> 'held';
CREATE INDEX videos_held ON videos (held_at, id) WHERE moderation = 'held' AND status <> 'removed';

-- +goose Down
DROP INDEX videos_held;
DROP INDEX videos_public_newest;
CREATE INDEX videos_public_newest ON videos (published_at DESC, id DESC)
    WHERE visibility = 'public' AND status = 'ready';
ALTER TABLE videos
    DROP COLUMN view_count, DROP COLUMN like_count, DROP COLUMN dislike_count, DROP COLUMN comment_count,
    DROP COLUMN moderation, DROP COLUMN held_reason, DROP COLUMN held_at, DROP COLUMN content_warnings,
    DROP COLUMN caption_text;
