-- Moderators decide on comments too: held comments (the term policy) and reported ones. Their
-- decisions go to the same audit log, naming the comment.

-- +goose Up
ALTER TABLE moderation_audit ADD COLUMN comment_id bigint;
-- The comment queue: held comments, oldest first.
CREATE INDEX comments_held ON comments (created_at, id) WHERE held;
CREATE INDEX reports_open_comments ON reports (comment_id) WHERE comment_id IS NOT NULL AND resolved_at IS NULL;

-- +goose Down
DROP INDEX reports_open_comments;
DROP INDEX comments_held;
ALTER TABLE moderation_audit DROP COLUMN comment_id;
