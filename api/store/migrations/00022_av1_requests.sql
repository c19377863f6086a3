-- AV1 renditions per video (issue #15).
--
-- segments is the segment container the video's job was submitted with ('fmp4' or 'ts'; ''
-- for videos submitted before it was recorded, whose format the API does not know). AV1
-- rungs exist in fMP4 only, so only 'fmp4' videos are ever given them.
--
-- av1_requested_at is when the API decided that the video gets AV1 rungs: at submission under
-- the policy "all" (the job itself carries the request), or when the video passed the minimum
-- views under "popular". It is set once, by an UPDATE that requires it unset, which makes the
-- decision exactly-once across replicas and restarts. A request is sent to the farm through
-- an outbox like job submissions: av1_send_due_at is when a replica may next try to send it
-- (each try first claims it by pushing the time forward, so replicas never send it together),
-- NULL once av1_sent_at records that the farm accepted it. A request recorded but not sent
-- (the farm down, or a farm that cannot add AV1 rungs to a finished ladder) stays due.

-- +goose Up
ALTER TABLE videos ADD COLUMN segments text NOT NULL DEFAULT '' CHECK (segments IN ('', 'fmp4', 'ts'));
ALTER TABLE videos ADD COLUMN av1_requested_at timestamptz;
ALTER TABLE videos ADD COLUMN av1_send_due_at timestamptz;
ALTER TABLE videos ADD COLUMN av1_sent_at timestamptz;
-- The "popular" sweep looks at ready fMP4 videos without AV1, by views.
CREATE INDEX videos_av1_candidates ON videos (view_count)
    WHERE status = 'ready' AND segments = 'fmp4' AND av1_requested_at IS NULL;
CREATE INDEX videos_av1_send_due ON videos (av1_send_due_at) WHERE av1_send_due_at IS NOT NULL;

-- +goose Down
DROP INDEX videos_av1_send_due;
DROP INDEX videos_av1_candidates;
ALTER TABLE videos DROP COLUMN av1_sent_at;
ALTER TABLE videos DROP COLUMN av1_send_due_at;
ALTER TABLE videos DROP COLUMN av1_requested_at;
ALTER TABLE videos DROP COLUMN segments;
