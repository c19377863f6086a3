-- A channel's own description, edited with the profile and shown on the channel page.

-- +goose Up
ALTER TABLE users ADD COLUMN bio text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN bio;
