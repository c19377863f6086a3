-- Caption tracks: one WebVTT file per video and language, uploaded by the owner or produced by
-- a transcription service. The file lives in the blob store (object_key); text is its cues'
-- plain text, and videos.caption_text (00002) is every track's text joined, kept in step in the
-- same transaction, for search.

-- +goose Up
CREATE TABLE captions (
    video_id   text        NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    -- A BCP 47 tag in canonical case (en, pt-BR); 'und' when a transcription's is unknown.
    language   text        NOT NULL,
    label      text        NOT NULL,
    source     text        NOT NULL CHECK (source IN ('upload', 'transcription')),
    object_key text        NOT NULL,
    text       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, language)
);

-- +goose Down
DROP TABLE captions;
UPDATE videos SET caption_text = '' WHERE caption_text <> '';
