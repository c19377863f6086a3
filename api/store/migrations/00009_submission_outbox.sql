-- The outbox of job submissions (issue #12, exactly-once submission).
--
-- Completing an upload queues the video and sets submit_due_at in the same UPDATE, before the
-- API calls the farm: the row itself records that a submission is due, so a farm that is down,
-- or an API replica that dies between the two, never leaves the video without a job. The
-- reconciliation loop submits every video whose submit_due_at has passed, always with the video
-- id as the farm's idempotency key, and clears the column in the UPDATE that records the job.
--
-- submit_attempts counts the tries; each try first pushes submit_due_at forward by a backoff
-- that grows with it, which is also how replicas share the work: a video one of them is trying
-- is not due for the others.

-- +goose Up
ALTER TABLE videos ADD COLUMN submit_due_at timestamptz;
ALTER TABLE videos ADD COLUMN submit_attempts integer NOT NULL DEFAULT 0;
CREATE INDEX videos_submit_due ON videos (submit_due_at) WHERE submit_due_at IS NOT NULL;

-- +goose Down
DROP INDEX videos_submit_due;
ALTER TABLE videos DROP COLUMN submit_attempts;
ALTER TABLE videos DROP COLUMN submit_due_at;
