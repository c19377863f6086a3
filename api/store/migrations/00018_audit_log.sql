-- The audit log becomes the record of every moderator action, and a list moderators filter by
-- moderator, action and date: a moderator holding a video for review ('hold'), and an operator
-- changing an account's role ('set-role', which names the account in subject and is about no
-- video), join the decisions on videos and comments.

-- +goose Up
ALTER TABLE moderation_audit
    ALTER COLUMN video_id DROP NOT NULL,
    -- The username whose role changed, as it was then; the log outlives renames and accounts.
    ADD COLUMN subject text,
    DROP CONSTRAINT moderation_audit_action_check,
    ADD CONSTRAINT moderation_audit_action_check
        CHECK (action IN ('approve', 'remove', 'restrict', 'hold', 'set-role')),
    ADD CONSTRAINT moderation_audit_target CHECK ((video_id IS NULL) = (action = 'set-role')),
    ADD CONSTRAINT moderation_audit_subject CHECK ((subject IS NOT NULL) = (action = 'set-role'));
-- The filtered lists, newest first: one moderator's actions, one kind of action.
CREATE INDEX moderation_audit_moderator ON moderation_audit (moderator, created_at DESC, id DESC);
CREATE INDEX moderation_audit_action ON moderation_audit (action, created_at DESC, id DESC);

-- +goose Down
DROP INDEX moderation_audit_action;
DROP INDEX moderation_audit_moderator;
DELETE FROM moderation_audit WHERE action IN ('hold', 'set-role');
ALTER TABLE moderation_audit
    DROP CONSTRAINT moderation_audit_subject,
    DROP CONSTRAINT moderation_audit_target,
    DROP CONSTRAINT moderation_audit_action_check,
    ADD CONSTRAINT moderation_audit_action_check CHECK (action IN ('approve', 'remove', 'restrict')),
    DROP COLUMN subject,
    ALTER COLUMN video_id SET NOT NULL;
