-- Nothing is served to anyone but its owner and moderators before it is screened.
--
-- screening: what the automated checks (perceptual hashes against removed videos, then the
-- classifier) concluded about a video, decided once by the replica holding its publish claim
-- in the same UPDATE that marks it ready: pending until then, passed, or held (the checks held
-- it for review; a moderator who approves or restricts it passes it). Until a video has
-- passed, its media and playback URLs are its owner's and moderators' only, whatever its
-- visibility. Videos published before screening existed were checked as they were published,
-- so the published ones (ready, or removed after publication) start out passed; the others are
-- screened when their job ends.

-- +goose Up
ALTER TABLE videos ADD COLUMN screening text NOT NULL DEFAULT 'pending'
	CHECK (screening IN ('pending', 'passed', 'held'));
UPDATE videos SET screening = 'passed' WHERE status = 'ready' OR (status = 'removed' AND published_at IS NOT NULL);

-- +goose Down
ALTER TABLE videos DROP COLUMN screening;
