-- How many searchable videos have each lexeme: search_lexemes.
--
-- Search chooses how to collect the candidates of a query by how many videos match it
-- (store.searchStatement): the document index when the matches are few, a walk down the
-- standing index when they are many. A match has every lexeme of an alternative of every
-- group of the query, so the counts bound the matches from above: at most the rarest
-- lexeme's videos. The planner's statistics cannot tell this: they list only the lexemes of
-- more than about one video in three hundred, and guess the matches of several words as if
-- the words were independent ("sourdough starter": a guess of 8,000 of 873,000 videos, where
-- 54,800 match).
--
-- A trigger keeps the counts in the transaction that changes a document; lexemes no document
-- has any more are removed. It runs only when a document changes (publishing, editing, a
-- channel renamed, a video leaving search), never for views and likes. Lexemes are counted in
-- order, so that two uploads sharing new words wait for each other rather than deadlock.
-- Bulk loads may disable the trigger and recount afterwards with search_lexemes_recount().

-- +goose Up
CREATE TABLE search_lexemes (
    lexeme    text    PRIMARY KEY,
    documents integer NOT NULL
);
-- Sums the lexemes a query's last word begins (a byte-wise range, as search_terms_prefix).
CREATE INDEX search_lexemes_prefix ON search_lexemes (lexeme text_pattern_ops);

-- +goose StatementBegin
CREATE FUNCTION search_lexemes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- NEW is null in a DELETE trigger, OLD in an INSERT one: unnest(NULL) adds nothing.
    INSERT INTO search_lexemes AS l (lexeme, documents)
    SELECT lexeme, sum(delta)::int FROM (
        SELECT unnest(tsvector_to_array(NEW.document)), 1
        UNION ALL
        SELECT unnest(tsvector_to_array(OLD.document)), -1) AS change(lexeme, delta)
    GROUP BY lexeme HAVING sum(delta) <> 0
    ORDER BY lexeme
    ON CONFLICT (lexeme) DO UPDATE SET documents = l.documents + EXCLUDED.documents;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_lexemes WHERE lexeme = ANY (tsvector_to_array(OLD.document)) AND documents <= 0;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER video_search_lexemes AFTER INSERT OR DELETE ON video_search
    FOR EACH ROW EXECUTE FUNCTION search_lexemes_count();
-- videos_search_sync (00006) assigns the document whenever a video's row changes what search
-- reads; most such changes leave it as it was.
CREATE TRIGGER video_search_lexemes_update AFTER UPDATE OF document ON video_search
    FOR EACH ROW WHEN (OLD.document IS DISTINCT FROM NEW.document) EXECUTE FUNCTION search_lexemes_count();

-- +goose StatementBegin
CREATE FUNCTION search_lexemes_recount() RETURNS void LANGUAGE sql
BEGIN ATOMIC
    DELETE FROM search_lexemes;
    INSERT INTO search_lexemes (lexeme, documents) SELECT word, ndoc FROM ts_stat('SELECT document FROM video_search');
END;
-- +goose StatementEnd

SELECT search_lexemes_recount();

-- +goose Down
DROP FUNCTION search_lexemes_recount();
DROP TRIGGER video_search_lexemes_update ON video_search;
DROP TRIGGER video_search_lexemes ON video_search;
DROP FUNCTION search_lexemes_count();
DROP TABLE search_lexemes;
