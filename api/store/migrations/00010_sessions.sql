-- Sessions you can end (issue #13).
--
-- A session is one sign-in: a password login, a registration or a GitHub sign-in. It holds a
-- family of refresh tokens, of which only the newest may be exchanged: refreshing marks the
-- presented token rotated and adds its successor. A rotated token presented again means it was
-- copied, so the whole family (the session) is revoked. Tokens are stored as SHA-256 hashes: a
-- leak of this table signs nobody in.
--
-- Access tokens name their session (the sid claim); every authenticated request reads the user
-- joined with a live session, so revoking a session ends its access tokens at once too.
--
-- login_codes are the one-time codes the GitHub callback hands the browser: the code and the
-- nonce of the browser's signed state cookie are stored hashed, and POST /auth/github/exchange
-- deletes the row as it reads it, so a code works once and only with its cookie.

-- +goose Up
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    -- Idle expiry: every refresh pushes it forward by the session lifetime.
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    -- logout, logout_all, password, reuse
    revoked_why  text
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       bytea PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Set when exchanged for its successor; presenting it again revokes the session.
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_codes (
    hash       bytea PRIMARY KEY,
    nonce_hash bytea NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE login_codes;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
