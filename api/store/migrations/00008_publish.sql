-- One publisher across replicas, and one source of "playable".
--
-- publish_claim and publish_claim_expires: a replica that sees a video's job end claims the
-- video before it reads the ladder and screens it, so the checks (the classifier is a paid
-- call) run once, whichever replica and path (event relay or reconciliation) saw the end
-- first. The claim expires so that a replica that died while publishing does not leave the
-- video in flight forever.
--
-- playable_at: when the farm reported the video's master playlist written (its playableAt),
-- recorded once, so that requests decide whether to offer playback of a video still processing
-- from the row. A ready video is playable whatever this says.

-- +goose Up
ALTER TABLE videos ADD COLUMN publish_claim text NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN publish_claim_expires timestamptz;
ALTER TABLE videos ADD COLUMN playable_at timestamptz;

-- +goose Down
ALTER TABLE videos DROP COLUMN playable_at;
ALTER TABLE videos DROP COLUMN publish_claim_expires;
ALTER TABLE videos DROP COLUMN publish_claim;
