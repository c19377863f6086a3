-- Uploads bound to what was declared (issue #13).
--
-- upload_grants records every video upload a user was allowed to start, with its declared size.
-- The daily byte quota sums the grants of the last 24 hours, and a grant outlives its video, so
-- deleting an upload does not give its bytes back; the concurrent-upload quota counts the
-- grants whose video is still uploading.
--
-- blob_garbage lists objects to delete once due_at has passed: the objects of uploads that
-- expired, and staging objects that a presigned URL may still write after their upload ended.
-- Whoever deletes them first pushes due_at forward (a claim with a lease), and the deletes are
-- idempotent, so replicas share the list without coordinating.

-- +goose Up
CREATE TABLE upload_grants (
    video_id   text        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    bytes      bigint      NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX upload_grants_user ON upload_grants (user_id, created_at);
INSERT INTO upload_grants (video_id, user_id, bytes, created_at)
    SELECT id, owner_id, source_size, created_at FROM videos WHERE status = 'uploading';

CREATE TABLE blob_garbage (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key       text        NOT NULL,
    upload_id text        NOT NULL DEFAULT '',
    due_at    timestamptz NOT NULL
);
CREATE INDEX blob_garbage_due ON blob_garbage (due_at);

-- +goose Down
DROP TABLE blob_garbage;
DROP TABLE upload_grants;
