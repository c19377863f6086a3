-- Search: full-text search over the videos anyone may see, with corrections for misspelt words.
--
-- pg_trgm and unaccent ship with PostgreSQL (Debian's postgresql-15 package). Both are trusted
-- extensions, so the database's owner may create them; otherwise a superuser must run
-- CREATE EXTENSION pg_trgm; CREATE EXTENSION unaccent; in the database once, beforehand.
--
-- The text search configuration is English with accents folded: English stemming lets
-- "kittens" find "kitten" and "cooking" find "cook", and drops stop words ("how", "to") that
-- would otherwise match most titles; folding lets "cafe" find "Café". Names are stemmed too,
-- but queries go through the same configuration, so both sides agree.
--
-- video_search holds one row per searchable video (public, ready, not held for review;
-- removed videos are not ready): its document, title (weight A), tags and the channel's names
-- (B), description and caption text (C), and what ranking and filters read. It is narrow on
-- purpose. Ranking scores every match, so a common word costs a pass over a large part of the
-- table: over the rows of videos (every column, rewritten on each view and like) the same
-- search measured two to three times slower. Triggers on videos and users keep it exact, in
-- the same transaction as the change, so a video held, removed or made private leaves search
-- at once. Popularity is copied only when it moves by a hundredth, so that views and likes,
-- which change all the time, rarely touch it.
--
-- search_terms is the vocabulary that misspelt words are corrected against: the words of the
-- titles, tags and channel names of searchable videos, with a trigram index. A few thousand to
-- a few hundred thousand short rows, it finds the nearest word in a millisecond, where trigram
-- similarity over every video's text costs a scan of many of them. Words are never removed:
-- one that no video uses any more can only steer a misspelling towards a search that finds
-- nothing, and rebuilding it (TRUNCATE, then the backfill below) drops them.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE TEXT SEARCH CONFIGURATION video_search (COPY = english);
ALTER TEXT SEARCH CONFIGURATION video_search
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

CREATE TABLE video_search (
    video_id         text             PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    document         tsvector         NOT NULL,
    published_at     timestamptz      NOT NULL,
    duration_seconds double precision,
    -- video_popularity of the counts, within a hundredth.
    popularity       real             NOT NULL
);
CREATE INDEX video_search_document ON video_search USING gin (document);

CREATE TABLE search_terms (
    term text PRIMARY KEY
);
CREATE INDEX search_terms_trigrams ON search_terms USING gin (term gin_trgm_ops);

-- SQL-standard function bodies are bound when created, so a caller's search_path cannot
-- redirect what they call.

-- The rule of who sees a video in search: anyone may, or nobody does. Owners find their
-- private, held and removed videos in their own list, moderators in the queue.
-- +goose StatementBegin
CREATE FUNCTION video_searchable(visibility text, status text, moderation text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT visibility = 'public' AND status = 'ready' AND moderation <> 'held';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION video_search_document(title text, tags text[], description text, caption_text text,
                                      username text, display_name text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT setweight(to_tsvector('video_search'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('video_search'::regconfig, array_to_string(tags, ' ')), 'B')
        || setweight(to_tsvector('video_search'::regconfig, coalesce(display_name, '') || ' ' || coalesce(username, '')), 'B')
        || setweight(to_tsvector('video_search'::regconfig, coalesce(description, '') || ' ' || coalesce(caption_text, '')), 'C');
END;
-- +goose StatementEnd

-- Popularity in [0, 1]: ln(1 + views + 10 × max(likes − dislikes, 0)) / ln(10⁶), capped; a
-- thousand views score 0.5, a million 1.
-- +goose StatementBegin
CREATE FUNCTION video_popularity(views bigint, likes bigint, dislikes bigint) RETURNS real
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT least(1, ln((1 + greatest(views, 0) + 10 * greatest(likes - dislikes, 0))::float8) / ln(1e6::float8))::real;
END;
-- +goose StatementEnd

-- The vocabulary words of a text: lower-cased, unaccented runs of letters and digits, three
-- characters or more (shorter ones are not corrected).
-- +goose StatementBegin
CREATE FUNCTION search_words(body text) RETURNS SETOF text
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT DISTINCT w FROM regexp_split_to_table(lower(unaccent(body)), '[^[:alnum:]]+') AS w
    WHERE length(w) >= 3;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION videos_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner_name    text;
    owner_display text;
BEGIN
    IF NOT video_searchable(NEW.visibility, NEW.status, NEW.moderation) THEN
        DELETE FROM video_search WHERE video_id = NEW.id;
        RETURN NULL;
    END IF;
    SELECT u.username, u.display_name INTO owner_name, owner_display FROM users u WHERE u.id = NEW.owner_id;
    INSERT INTO video_search (video_id, document, published_at, duration_seconds, popularity)
    VALUES (NEW.id,
            video_search_document(NEW.title, NEW.tags, NEW.description, NEW.caption_text, owner_name, owner_display),
            coalesce(NEW.published_at, NEW.created_at), NEW.duration_seconds,
            video_popularity(NEW.view_count, NEW.like_count, NEW.dislike_count))
    ON CONFLICT (video_id) DO UPDATE SET
        document = EXCLUDED.document, published_at = EXCLUDED.published_at,
        duration_seconds = EXCLUDED.duration_seconds, popularity = EXCLUDED.popularity;
    -- In order, so that two uploads adding the same new words wait for each other rather
    -- than deadlock.
    INSERT INTO search_terms (term)
    SELECT w FROM search_words(NEW.title || ' ' || array_to_string(NEW.tags, ' ') || ' ' || coalesce(owner_display, '')) AS w
    ORDER BY w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER videos_search_insert AFTER INSERT ON videos
    FOR EACH ROW EXECUTE FUNCTION videos_search_sync();
-- "UPDATE OF" fires whenever a column is assigned, changed or not; the WHEN clause skips the
-- updates that change nothing search reads.
CREATE TRIGGER videos_search_update
    AFTER UPDATE OF title, tags, description, caption_text, owner_id, visibility, status, moderation,
        published_at, duration_seconds ON videos
    FOR EACH ROW
    WHEN ((OLD.title, OLD.tags, OLD.description, OLD.caption_text, OLD.owner_id, OLD.visibility, OLD.status,
           OLD.moderation, OLD.published_at, OLD.duration_seconds)
          IS DISTINCT FROM
          (NEW.title, NEW.tags, NEW.description, NEW.caption_text, NEW.owner_id, NEW.visibility, NEW.status,
           NEW.moderation, NEW.published_at, NEW.duration_seconds))
    EXECUTE FUNCTION videos_search_sync();

-- +goose StatementBegin
CREATE FUNCTION videos_search_popularity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE video_search SET popularity = video_popularity(NEW.view_count, NEW.like_count, NEW.dislike_count)
    WHERE video_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER videos_search_popularity AFTER UPDATE OF view_count, like_count, dislike_count ON videos
    FOR EACH ROW
    WHEN (round(video_popularity(OLD.view_count, OLD.like_count, OLD.dislike_count) * 100)
          <> round(video_popularity(NEW.view_count, NEW.like_count, NEW.dislike_count) * 100))
    EXECUTE FUNCTION videos_search_popularity();

-- +goose StatementBegin
CREATE FUNCTION users_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE video_search s
    SET document = video_search_document(v.title, v.tags, v.description, v.caption_text,
                                         NEW.username, NEW.display_name)
    FROM videos v
    WHERE v.id = s.video_id AND v.owner_id = NEW.id;
    IF FOUND THEN
        INSERT INTO search_terms (term) SELECT w FROM search_words(NEW.display_name) AS w ORDER BY w
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER users_search_sync AFTER UPDATE OF display_name, username ON users
    FOR EACH ROW
    WHEN ((OLD.display_name, OLD.username) IS DISTINCT FROM (NEW.display_name, NEW.username))
    EXECUTE FUNCTION users_search_sync();

INSERT INTO video_search (video_id, document, published_at, duration_seconds, popularity)
SELECT v.id, video_search_document(v.title, v.tags, v.description, v.caption_text, u.username, u.display_name),
       coalesce(v.published_at, v.created_at), v.duration_seconds,
       video_popularity(v.view_count, v.like_count, v.dislike_count)
FROM videos v JOIN users u ON u.id = v.owner_id
WHERE video_searchable(v.visibility, v.status, v.moderation);

INSERT INTO search_terms (term)
SELECT search_words(v.title || ' ' || array_to_string(v.tags, ' ') || ' ' || u.display_name)
FROM videos v JOIN users u ON u.id = v.owner_id
WHERE video_searchable(v.visibility, v.status, v.moderation)
ON CONFLICT DO NOTHING;

-- +goose Down
-- The extensions stay: other objects may use them, and they cost nothing unused.
DROP TRIGGER users_search_sync ON users;
DROP TRIGGER videos_search_popularity ON videos;
DROP TRIGGER videos_search_update ON videos;
DROP TRIGGER videos_search_insert ON videos;
DROP FUNCTION users_search_sync();
DROP FUNCTION videos_search_popularity();
DROP FUNCTION videos_search_sync();
DROP TABLE search_terms, video_search;
DROP FUNCTION search_words(text);
DROP FUNCTION video_popularity(bigint, bigint, bigint);
DROP FUNCTION video_search_document(text, text[], text, text, text, text);
DROP FUNCTION video_searchable(text, text, text);
DROP TEXT SEARCH CONFIGURATION video_search;
