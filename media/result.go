package media

import "github.com/sunomi/sunomi/phash"

// SegmentTiming places a segment on the output timeline; every rung shares it.
type SegmentTiming struct {
	Index    int     `json:"index"`
	Start    float64 `json:"start"`
	Duration float64 `json:"duration"`
}

// SegmentFile is one rung's file for a segment, relative to the output dir.
type SegmentFile struct {
	Index int    `json:"index"`
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
}

// RungOutput is what an encode task wrote for one rung.
type RungOutput struct {
	Name  string `json:"name"`
	Codec string `json:"codec"` // RFC 6381, from the stream's SPS
	// Encoder is the H.264 encoder that wrote the rung on the agent that ran
	// the task (empty in results recorded before it was reported).
	Encoder string        `json:"encoder,omitempty"`
	Files   []SegmentFile `json:"files"`
	// Init is the init segment of fMP4 output (nil for MPEG-TS).
	Init *InitSegment `json:"init,omitempty"`
}

// ImageFile is a thumbnail or poster candidate written by an encode task.
type ImageFile struct {
	Time  float64 `json:"time"`
	File  string  `json:"file"`
	Score float64 `json:"score,omitempty"`
}

// FrameHashes are the perceptual hashes of an encode task's frames: one for
// every mark of the output timeline, every Interval seconds, that falls in
// the chunk ([Start, End)). Hashes[i] belongs to mark First+i and is the hash
// of the first frame at or after it; marks after the chunk's last frame (a
// gap before the next chunk) get the last frame's hash, which is on screen
// there. Concatenated in chunk order they give the video's phash.Track.
type FrameHashes struct {
	Interval float64      `json:"interval"`
	First    int          `json:"first"`
	Hashes   []phash.Hash `json:"hashes"`
}

// ChunkResult reports what an encode task produced.
type ChunkResult struct {
	Index      int             `json:"index"`
	Frames     int             `json:"frames"`
	Segments   []SegmentTiming `json:"segments"`
	Rungs      []RungOutput    `json:"rungs"`
	Thumbnails []ImageFile     `json:"thumbnails"`
	Poster     *ImageFile      `json:"poster,omitempty"`
	PHash      *FrameHashes    `json:"phash,omitempty"`
	Warnings   []string        `json:"warnings,omitempty"`
}

// AudioSegment is one audio segment file, relative to the output dir.
type AudioSegment struct {
	Index    int     `json:"index"`
	File     string  `json:"file"`
	Start    float64 `json:"start"`
	Duration float64 `json:"duration"`
	Bytes    int64   `json:"bytes"`
}

// AudioResult reports what the audio task wrote.
type AudioResult struct {
	Codec    string         `json:"codec"`
	Segments []AudioSegment `json:"segments"`
	// Init is the init segment of fMP4 output (nil for MPEG-TS).
	Init *InitSegment `json:"init,omitempty"`
	// Speech is the track downmixed to mono 16 kHz PCM WAV, on the same
	// timeline as the segments.
	Speech   *SpeechTrack `json:"speech,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
}

// SpeechTrack is the audio task's WAV file for speech recognition.
type SpeechTrack struct {
	File       string  `json:"file"` // relative to the output dir
	Bytes      int64   `json:"bytes"`
	SampleRate int     `json:"sampleRate"`
	Duration   float64 `json:"duration"`
}
