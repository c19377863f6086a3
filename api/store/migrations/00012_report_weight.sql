-- Reports with weight: a report counts towards holding a video by its reporter's standing
-- (api/moderation.go, reportWeightSQL in store/moderation.go), so what the report must
-- remember of its reporter at the time is kept with it.

-- +goose Up
-- reporter_prefix is the network the report came from (IPv4 /24, IPv6 /48, '' when unknown):
-- reports from one network count as one reporter. new_account says the reporter's account was
-- younger than a day when they reported: such reports count together as at most one reporter,
-- and keep counting so after the account ages (registering accounts in advance gains nothing
-- for reports already made).
ALTER TABLE reports
    ADD COLUMN reporter_prefix text    NOT NULL DEFAULT '',
    ADD COLUMN new_account     boolean NOT NULL DEFAULT false;
UPDATE reports rp SET new_account = u.created_at > rp.created_at - interval '1 day'
    FROM users u WHERE u.id = rp.reporter_id;
-- The weight of open video reports, on every new report and every page of the report queue.
CREATE INDEX reports_open_videos ON reports (video_id) WHERE video_id IS NOT NULL AND resolved_at IS NULL;

-- How moderators decided on what each user reported: removals and restrictions uphold the
-- reports, approvals reject them. Counters, not a view of old reports: a removed comment takes
-- its reports with it, but the reporter's record of having been right stays.
CREATE TABLE reporter_standing (
    user_id  bigint  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    upheld   integer NOT NULL DEFAULT 0 CHECK (upheld >= 0),
    rejected integer NOT NULL DEFAULT 0 CHECK (rejected >= 0)
);

-- +goose Down
DROP TABLE reporter_standing;
DROP INDEX reports_open_videos;
ALTER TABLE reports DROP COLUMN new_account, DROP COLUMN reporter_prefix;
