-- Transcode warnings (issue #15): what the farm's job found wrong in an upload (frames that could
-- not be decoded and were filled with the previous picture, damage the decoder concealed),
-- recorded when the job ends and shown to the video's owner, who may want to upload a better copy.

-- +goose Up
ALTER TABLE videos ADD COLUMN transcode_warnings text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE videos DROP COLUMN transcode_warnings;
