-- Signed-in devices (issue #13): a user lists their sessions and ends the ones they do not
-- recognise, so each session remembers what it was last used from. Only the network (IPv4
-- /24, IPv6 /48) is kept, not the address: enough to tell home from elsewhere, less to leak.
-- A session ended from that list is revoked with revoked_why 'device'.

-- +goose Up
ALTER TABLE sessions
    ADD COLUMN user_agent text NOT NULL DEFAULT '',
    ADD COLUMN network    text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions DROP COLUMN network, DROP COLUMN user_agent;
