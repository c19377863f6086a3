package api

// Caption files are checked (hls.ParseWebVTT) before they are stored, whoever wrote them (an
// owner's upload or a transcription service), so that players never meet a file they cannot
// parse.

// maxCaptionBytes bounds one caption file: about eight hours of speech.
const maxCaptionBytes = 1 << 20

// captionTimelineStart is where cue time 0 lies on the 90 kHz MPEG-TS timeline of the video's
// segments, for the X-TIMESTAMP-MAP of the caption files served to HLS players. The pipeline
// writes every segment with PTS = encoder.TimelineOffset (90000, one second) + the time since
// the video's first frame, muxed with mpegts_copyts so the muxer adds nothing; cue time 0 is
// therefore PTS 90000, not the 900000 (10 s) other packagers use.
// TestCaptionsOnTranscodedVideo checks that real segments start there.
const captionTimelineStart = 90000
