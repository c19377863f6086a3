package store

import (
	"context"
	"fmt"
)

// MaxTranscodeWarnings bounds the warnings kept per video: a badly damaged upload reports one
// per chunk, and its owner needs the first ones and the count, not every line.
const MaxTranscodeWarnings = 50

// RecordTranscodeWarnings replaces what the transcoding job of a video reported about its
// source, keeping the first MaxTranscodeWarnings and a line counting the rest. Recording the
// same job's warnings again changes nothing. A video that no longer exists is not an error.
func (s *Store) RecordTranscodeWarnings(ctx context.Context, id string, warnings []string) error {
	kept := make([]string, 0, min(len(warnings), MaxTranscodeWarnings+1))
	kept = append(kept, warnings[:min(len(warnings), MaxTranscodeWarnings)]...)
	if n := len(warnings) - MaxTranscodeWarnings; n > 0 {
		kept = append(kept, fmt.Sprintf("and %d more", n))
	}
	if _, err := s.pool.Exec(ctx, `UPDATE videos SET transcode_warnings = $2 WHERE id = $1`, id, kept); err != nil {
		return fmt.Errorf("record transcode warnings: %w", err)
	}
	return nil
}

// TranscodeWarnings returns what RecordTranscodeWarnings recorded for a video: none when the
// video does not exist or its job reported nothing.
func (s *Store) TranscodeWarnings(ctx context.Context, id string) ([]string, error) {
	var ws []string
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT transcode_warnings FROM videos WHERE id = $1), '{}')`, id).Scan(&ws)
	if err != nil {
		return nil, fmt.Errorf("read transcode warnings: %w", err)
	}
	return ws, nil
}
