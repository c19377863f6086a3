-- +goose Up
-- Tables that grew without bound (issue #13): every rate-limit row now knows its own window, so
-- one pruning statement serves limits of any window, and views older than the dedup window are
-- rolled up into daily counts per video and deleted. videos.view_count stays the total.
ALTER TABLE rate_limits ADD COLUMN window_length interval NOT NULL DEFAULT interval '1 day';

CREATE TABLE view_days (
    video_id text   NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    day      date   NOT NULL, -- UTC
    views    bigint NOT NULL,
    PRIMARY KEY (video_id, day)
);

-- The roll-up walks the oldest views first.
CREATE INDEX views_created ON views (created_at);

-- +goose Down
DROP INDEX views_created;
DROP TABLE view_days;
ALTER TABLE rate_limits DROP COLUMN window_length;
