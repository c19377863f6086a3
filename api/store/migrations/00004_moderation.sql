-- Moderation: users' reports, the moderators' audit log, and the perceptual hashes that catch
-- re-uploads of removed videos.

-- +goose Up
CREATE TABLE reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Kept when the reporter's account is deleted: the report is still evidence for the review.
    reporter_id bigint      REFERENCES users (id) ON DELETE SET NULL,
    -- Exactly one target. A comment report needs no video_id: its video is found through it.
    video_id    text        REFERENCES videos (id) ON DELETE CASCADE,
    comment_id  bigint      REFERENCES comments (id) ON DELETE CASCADE,
    reason      text        NOT NULL CHECK (reason IN ('spam', 'harassment', 'hate', 'violence', 'sexual',
                                                       'copyright', 'misleading', 'other')),
    note        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set when a moderator decides on the video: resolved reports no longer count towards
    -- holding it again.
    resolved_at timestamptz,
    CHECK ((video_id IS NULL) <> (comment_id IS NULL))
);
-- One report per reporter and target, ever: a repeated report changes nothing, and after an
-- approval the same people cannot hide the video again on their own.
CREATE UNIQUE INDEX reports_video_reporter ON reports (video_id, reporter_id) WHERE video_id IS NOT NULL;
CREATE UNIQUE INDEX reports_comment_reporter ON reports (comment_id, reporter_id) WHERE comment_id IS NOT NULL;
CREATE INDEX reports_reporter ON reports (reporter_id);

CREATE TABLE moderation_audit (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    moderator_id bigint      REFERENCES users (id) ON DELETE SET NULL,
    -- The moderator's username when they decided; the log must read the same after renames
    -- and deleted accounts.
    moderator    text        NOT NULL,
    action       text        NOT NULL CHECK (action IN ('approve', 'remove', 'restrict')),
    -- No foreign key: the log outlives the videos it is about.
    video_id     text        NOT NULL,
    labels       text[]      NOT NULL DEFAULT '{}',
    note         text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_audit_newest ON moderation_audit (created_at DESC, id DESC);
CREATE INDEX moderation_audit_video ON moderation_audit (video_id);

-- The 64-bit DCT perceptual hash of one frame every few seconds of a published video, as the
-- pipeline computed it (phash.json), in frame order.
CREATE TABLE video_frame_hashes (
    video_id text   NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    idx      integer NOT NULL,
    hash     bigint NOT NULL,
    PRIMARY KEY (video_id, idx)
);

-- The reference set of re-upload matching: the frame hashes of every removed video, copied
-- at removal. No foreign key, on purpose: the owner deleting a removed video (or their
-- account) must not let them upload it again unnoticed.
CREATE TABLE removed_frame_hashes (
    video_id text   NOT NULL,
    idx      integer NOT NULL,
    hash     bigint NOT NULL,
    PRIMARY KEY (video_id, idx)
);

-- +goose Down
DROP TABLE removed_frame_hashes, video_frame_hashes, moderation_audit, reports;
