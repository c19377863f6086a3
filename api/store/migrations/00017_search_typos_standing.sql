-- Search that forgives typos word by word, and whose cost does not grow with the matches.
--
-- Standing orders the videos a search scores (store.RankedCandidates): popularity (0 to 1,
-- migration 00006) plus 0.1 for every 30 days of publication date. Recency as ranking uses it
-- (1 / (1 + age / 30 days)) depends on the moment of the search and so cannot be indexed;
-- standing gives the same preference for newer videos as a constant offset per day, so its
-- order never changes with time and an index keeps it. Over the index, a search for a common
-- word walks down from the highest standing and stops after a few hundred matches, instead of
-- collecting and scoring every match. The column is generated, so the triggers of 00006, which
-- write popularity and published_at, keep it exact.
--
-- search_term_deletions is the vocabulary (search_terms) under deletions: every word with
-- each one of its letters deleted, and each two for words of seven letters or more, beside
-- the word itself. Two words within k typos (a letter inserted, deleted or replaced, or two
-- neighbours swapped) share a deletion of at most k letters from each, so the words sharing a
-- deletion with a typed word are all its possible corrections, found by index probes whatever
-- the vocabulary's size (the symmetric-delete method of SymSpell). Words of four letters or
-- more get one-letter deletions (a five-letter word may be one typo from a four-letter one),
-- of seven or more two (a nine-letter word may be two typos from a seven-letter one). A word
-- of eight letters has about 37 rows; a vocabulary of 100,000 words about three million short
-- rows. A trigger on search_terms keeps it; words are never removed from either (00006), and
-- rebuilding the vocabulary now takes TRUNCATE search_terms CASCADE before 00006's backfill.
--
-- search_terms gains a byte-wise index for completing the last word of a query by prefix.

-- +goose Up
-- extract(epoch …) of a timestamptz does not depend on the time zone, though date_part is
-- declared stable for the fields that do; the wrapper says immutable so a generated column
-- may use it.
-- +goose StatementBegin
CREATE FUNCTION video_search_standing(popularity real, published_at timestamptz) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT popularity + date_part('epoch', published_at) / 25920000;
END;
-- +goose StatementEnd

ALTER TABLE video_search
    ADD COLUMN standing float8 GENERATED ALWAYS AS (video_search_standing(popularity, published_at)) STORED;
CREATE INDEX video_search_by_standing ON video_search (standing, video_id);

-- The word itself, then each way of deleting one letter (depth ≥ 1), then two (depth ≥ 2).
-- +goose StatementBegin
CREATE FUNCTION search_deletions(word text, depth int) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT word
    UNION
    SELECT overlay(word PLACING '' FROM i FOR 1) FROM generate_series(1, length(word)) AS i WHERE depth >= 1
    UNION
    SELECT overlay(overlay(word PLACING '' FROM j FOR 1) PLACING '' FROM i FOR 1)
    FROM generate_series(1, length(word)) AS i, generate_series(i + 1, length(word)) AS j WHERE depth >= 2;
END;
-- +goose StatementEnd

-- How deep a vocabulary word's deletions go: see above.
-- +goose StatementBegin
CREATE FUNCTION search_term_depth(term text) RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN length(term) >= 7 THEN 2 WHEN length(term) >= 4 THEN 1 ELSE 0 END;
END;
-- +goose StatementEnd

CREATE TABLE search_term_deletions (
    variant text NOT NULL,
    term    text NOT NULL REFERENCES search_terms (term) ON DELETE CASCADE,
    PRIMARY KEY (variant, term)
);

-- +goose StatementBegin
CREATE FUNCTION search_terms_deletions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_term_deletions (variant, term)
    SELECT v, NEW.term FROM search_deletions(NEW.term, search_term_depth(NEW.term)) AS v
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER search_terms_deletions AFTER INSERT ON search_terms
    FOR EACH ROW EXECUTE FUNCTION search_terms_deletions();

INSERT INTO search_term_deletions (variant, term)
SELECT v, t.term FROM search_terms t, search_deletions(t.term, search_term_depth(t.term)) AS v
ON CONFLICT DO NOTHING;

CREATE INDEX search_terms_prefix ON search_terms (term text_pattern_ops);

-- +goose Down
DROP INDEX search_terms_prefix;
DROP TRIGGER search_terms_deletions ON search_terms;
DROP FUNCTION search_terms_deletions();
DROP TABLE search_term_deletions;
DROP FUNCTION search_term_depth(text);
DROP FUNCTION search_deletions(text, int);
DROP INDEX video_search_by_standing;
ALTER TABLE video_search DROP COLUMN standing;
DROP FUNCTION video_search_standing(real, timestamptz);
