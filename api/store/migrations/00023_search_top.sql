-- The top of the standing order, indexed on its own (issue #14).
--
-- video_search_top is the document index of the videos whose standing is at least
-- search_top.threshold: about a tenth of the searchable videos, the ones every relevance
-- search prefers as candidates. Words that are neither rare nor common ("home server" restore
-- among a million videos: 7,073 matches) find their candidates there among ten times fewer
-- rows than in the whole document index. The query says "standing >= threshold" itself, so
-- its results never depend on which index answers it.
--
-- Standing grows with publication date, so the share above a fixed threshold grows with
-- every upload: the API moves the threshold back to the top tenth when the share leaves
-- [5%, 20%] (store.RetierSearch), building the new index concurrently and swapping it in.
-- It starts empty (threshold +∞); the first retiering at the API's start fills it.

-- +goose Up
CREATE TABLE search_top (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    threshold float8 NOT NULL,
    -- videos counts the videos at or above the threshold when the API last looked (every
    -- pruning): searches weigh the tier's cost by it.
    videos bigint NOT NULL
);
INSERT INTO search_top (threshold, videos) VALUES ('Infinity', 0);
CREATE INDEX video_search_top ON video_search USING gin (document) WHERE standing >= 'Infinity'::float8;

-- +goose Down
DROP INDEX video_search_top;
DROP TABLE search_top;
