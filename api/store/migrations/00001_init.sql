-- The first schema: accounts, videos and the social tables.
--
-- Cascade rules are deliberate. Deleting a user deletes what only makes sense with them (their
-- identities, videos, comments, likes, subscriptions) but keeps the views they counted, with the
-- viewer set to NULL: a view is a fact about the video, and a user with views must stay deletable.

-- +goose Up
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    -- NULL for accounts that only sign in through an identity provider.
    password_hash text,
    avatar_url    text        NOT NULL DEFAULT '',
    role          text        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'moderator', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_identities (
    provider   text        NOT NULL,
    subject    text        NOT NULL,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject),
    -- One identity per provider and user: linking a second GitHub account is refused.
    UNIQUE (user_id, provider)
);

CREATE TABLE videos (
    id               text        PRIMARY KEY,
    owner_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title            text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    tags             text[]      NOT NULL DEFAULT '{}',
    visibility       text        NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted', 'private')),
    status           text        NOT NULL DEFAULT 'uploading'
                                 CHECK (status IN ('uploading', 'queued', 'processing', 'ready', 'failed', 'removed')),
    failure_reason   text        NOT NULL DEFAULT '',
    duration_seconds double precision,
    rungs            text[]      NOT NULL DEFAULT '{}',
    poster_key       text        NOT NULL DEFAULT '',
    storyboard_key   text        NOT NULL DEFAULT '',
    job_id           text        NOT NULL DEFAULT '',
    -- The upload: the declared size, and the multipart upload id ('' for a single PUT).
    source_filename  text        NOT NULL DEFAULT '',
    source_size      bigint      NOT NULL,
    upload_id        text        NOT NULL DEFAULT '',
    part_size        bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz
);
-- The home page: public ready videos, newest first, keyset-paginated.
CREATE INDEX videos_public_newest ON videos (published_at DESC, id DESC)
    WHERE visibility = 'public' AND status = 'ready';
CREATE INDEX videos_owner_newest ON videos (owner_id, created_at DESC, id DESC);
-- Reconciliation with the farm looks at the few videos still in flight.
CREATE INDEX videos_in_flight ON videos (id) WHERE status IN ('queued', 'processing');

CREATE TABLE comments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id   text        NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id  bigint      REFERENCES comments (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_video ON comments (video_id, created_at DESC, id DESC);
CREATE INDEX comments_parent ON comments (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_author ON comments (author_id);

CREATE TABLE likes (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    video_id   text        NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    -- 1 for a like, -1 for a dislike.
    value      smallint    NOT NULL CHECK (value IN (-1, 1)),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX likes_video ON likes (video_id);

CREATE TABLE subscriptions (
    subscriber_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber_id, channel_id),
    CHECK (subscriber_id <> channel_id)
);
CREATE INDEX subscriptions_channel ON subscriptions (channel_id);

CREATE TABLE views (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id   text        NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    -- Kept when the viewer's account is deleted: the view still happened.
    user_id    bigint      REFERENCES users (id) ON DELETE SET NULL,
    -- A salted hash identifying anonymous viewers; never a raw address.
    viewer     bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX views_video ON views (video_id, created_at);
CREATE INDEX views_user ON views (user_id) WHERE user_id IS NOT NULL;

-- Fixed-window counters shared by every API replica (login throttling).
CREATE TABLE rate_limits (
    bucket       text        PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer     NOT NULL
);

-- +goose Down
DROP TABLE rate_limits, views, subscriptions, likes, comments, videos, oauth_identities, users;
