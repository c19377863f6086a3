-- Screening as chunks finish: the publisher screens the chunks a job has finished, from the
-- first, as they are published (the leader's screening.json), and lets others watch up to
-- where it screened.
--
-- screened_chunks, screened_seconds: how much of a video in flight has been screened (chunks
-- from the first, and where they end on the timeline). While the video transcodes, callers
-- other than its owner and moderators get its playlists cut there and no segment past it.
-- screened_at: when screening first passed, the moment the public could start watching (for
-- the owner, playable_at).
-- screening_reviewed: a moderator passed the video after the checks held it; the checks, which
-- run again as more chunks are screened and when the job ends, no longer hold it.

-- +goose Up
ALTER TABLE videos
	ADD COLUMN screened_chunks integer NOT NULL DEFAULT 0 CHECK (screened_chunks >= 0),
	ADD COLUMN screened_seconds double precision NOT NULL DEFAULT 0 CHECK (screened_seconds >= 0),
	ADD COLUMN screened_at timestamptz,
	ADD COLUMN screening_reviewed boolean NOT NULL DEFAULT false;
UPDATE videos SET screened_at = coalesce(published_at, updated_at) WHERE screening = 'passed';

-- +goose Down
ALTER TABLE videos DROP COLUMN screened_chunks, DROP COLUMN screened_seconds, DROP COLUMN screened_at, DROP COLUMN screening_reviewed;
