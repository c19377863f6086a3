package media

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Options configure a transcode; the zero value of each field means its default.
type Options struct {
	// Workers is how many tasks `sunomi transcode` runs at once on its one
	// machine; the farm's agents ignore it.
	Workers int
	Segment time.Duration
	Chunk   time.Duration
	// FirstChunk is the first chunk's length (default Chunk); the farm
	// makes it one segment, so that its progressive publishing starts early.
	FirstChunk time.Duration
	Preset     string
	CRF        int
	// Encoder is the requested H.264 encoder: EncoderAuto or a name. It is
	// resolved where each encode task runs.
	Encoder string
	Rungs   []RungSpec
	Limits  Limits
	// MaxFrameRate caps the output rate; faster sources are halved until under it.
	MaxFrameRate float64
	// Segments is the container of the media segments ("": DefaultSegments).
	Segments SegmentFormat
	// AV1 says which rungs also get an AV1 rendition ("": AV1Off); AV1
	// rungs need fMP4 segments (CheckAV1).
	AV1 AV1Policy
	// FirstSegment is segment 0's length when shorter than Segment (0:
	// Segment); the farm makes it FarmFirstSegment, so that its first chunk
	// is encoded sooner still.
	FirstSegment time.Duration
}

// Defaults of a production ladder.
const (
	DefaultSegment      = 4 * time.Second
	DefaultChunk        = 16 * time.Second
	DefaultPreset       = "veryfast"
	DefaultCRF          = 21
	DefaultMaxFrameRate = 60
	// FarmFirstSegment is the first segment of a farm job (at most its
	// Segment): half of DefaultSegment, so that the job's first chunk, one
	// segment, takes half the encoding before it plays.
	FarmFirstSegment = DefaultSegment / 2
)

// WithDefaults fills every zero field with its default.
func (o Options) WithDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Segment <= 0 {
		o.Segment = DefaultSegment
	}
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	if o.FirstChunk <= 0 {
		o.FirstChunk = o.Chunk
	}
	if o.Preset == "" {
		o.Preset = DefaultPreset
	}
	if o.CRF <= 0 {
		o.CRF = DefaultCRF
	}
	if o.Encoder == "" {
		o.Encoder = EncoderAuto
	}
	if len(o.Rungs) == 0 {
		o.Rungs = DefaultRungs
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	if o.MaxFrameRate <= 0 {
		o.MaxFrameRate = DefaultMaxFrameRate
	}
	if o.Segments == "" {
		o.Segments = DefaultSegments
	}
	return o
}

// SplitSpec is the split task's spec; its one input is SplitInput.
type SplitSpec struct {
	Options Options `json:"options"`
}

// SplitInput names the split task's input.
const SplitInput = "source"

// SplitResult is what the split task decides: the source's probe, the
// ladder, the chunk plan, and a spec for every encode task and the audio task.
type SplitResult struct {
	Probe     *Probe         `json:"probe"`
	Plan      *Plan          `json:"plan,omitempty"`
	Video     *VideoSettings `json:"video,omitempty"`
	Chunks    []ChunkSpec    `json:"chunks,omitempty"`
	Audio     *AudioSpec     `json:"audio,omitempty"`
	Extracted Extracted      `json:"extracted"`
	// AV1Rungs are the AV1 rungs a farm job encodes as tasks of their own,
	// after its H.264 ladder (see SeparateAV1); Video.Rungs then holds the
	// H.264 rungs only. Empty for `sunomi transcode`, which encodes both
	// families in one task.
	AV1Rungs []Rung `json:"av1Rungs,omitempty"`
}

// H264Settings are the encode settings shared by every rung.
type H264Settings struct {
	// Encoder is as requested (EncoderAuto or a name) in a split result; the
	// encode task resolves it on the host that runs it.
	Encoder string `json:"encoder"`
	Preset  string `json:"preset"`
	CRF     int    `json:"crf"`
}

// VideoSettings are the settings every encode task of a job shares.
type VideoSettings struct {
	H264        H264Settings `json:"h264"`
	Rungs       []Rung       `json:"rungs"`
	Rotation    int          `json:"rotation"`
	Deinterlace bool         `json:"deinterlace"`
	FrameRate   Rational     `json:"frameRate"` // average of the source
	// PeakFrameRate is the source's highest rate (differs from FrameRate for VFR).
	PeakFrameRate Rational `json:"peakFrameRate"`
	// FrameStep keeps one source frame in FrameStep (2 halves 120 fps to 60).
	FrameStep int `json:"frameStep"`
	// ConstantRate says the source has a frame every 1/FrameRate seconds:
	// the encode tasks fill frames the decoder loses with the previous
	// picture, so that every rung stays constant-rate (false in splits
	// recorded before it existed: those holes stay).
	ConstantRate bool `json:"constantRate,omitempty"`
	// ThumbnailInterval is the distance between storyboard thumbnails in seconds.
	ThumbnailInterval float64 `json:"thumbnailInterval"`
	ThumbnailWidth    int     `json:"thumbnailWidth"`
	// PHashInterval is the distance in seconds between the frames whose
	// perceptual hashes the encode tasks report (0: none).
	PHashInterval float64 `json:"phashInterval,omitempty"`
	// Segments is the container of the rungs' segments ("" in jobs recorded
	// before it existed: MPEG-TS).
	Segments SegmentFormat `json:"segments,omitempty"`
}

// OutputFrameRate is the highest frame rate of every rung, as HLS's
// FRAME-RATE attribute wants it.
func (s VideoSettings) OutputFrameRate() float64 {
	return s.PeakFrameRate.Float() / float64(max(s.FrameStep, 1))
}

// ChunkSpec is one encode task: which frames of an extracted chunk to encode.
type ChunkSpec struct {
	Chunk   Chunk  `json:"chunk"`
	Attempt int    `json:"attempt"`
	Source  string `json:"source"`
	OutDir  string `json:"outDir"`
	// TimeBase and OriginPTS are the plan's: the source video stream's.
	TimeBase  Rational `json:"timeBase"`
	OriginPTS int64    `json:"originPts"`
	// Shift has been added to every timestamp of Source (plan time base).
	Shift int64 `json:"shift"`
	// Params restores what Source, a NUT file, lost of the codec parameters.
	Params NUTParams `json:"params"`
	// Progress, when set, is told how many frames the task has encoded so
	// far. It belongs to the process running the task and never travels.
	Progress func(frames int64) `json:"-"`
	// Threads caps how many rungs encode at the same moment (0: all of
	// them, each on its own goroutine); 1 encodes every rung on the
	// decoding goroutine, so that the task uses one core. Local, as Progress.
	Threads int `json:"-"`
	// Boundaries are the start timestamps of the chunk's segments
	// (FirstSegment…FirstSegment+Segments-1).
	Boundaries []int64 `json:"boundaries"`
}

// AudioSpec is the audio task: the whole track, encoded once, or one of its
// parts when the split reported a head (see AudioPartHead, AudioParts).
type AudioSpec struct {
	Source string `json:"source"` // a file whose first audio stream is encoded
	// Params restores what Source, when the split extracted it, lost of the codec parameters.
	Params  NUTParams `json:"params"`
	OutDir  string    `json:"outDir"`
	Attempt int       `json:"attempt"`
	// Origin is where the output timeline starts on the source timeline, in
	// seconds: earlier samples are cut, a later start is padded with silence.
	Origin float64 `json:"origin"`
	// Duration trims the track to the video's length (0: keep it whole).
	Duration float64       `json:"duration"`
	Segment  time.Duration `json:"segment"`
	// FirstSegment is the length of segment 0, as the plan's (0: Segment),
	// so that the audio's segments start where the video's do.
	FirstSegment time.Duration `json:"firstSegmentDuration,omitempty"`
	// Segments is the container of the segments, as VideoSettings.Segments.
	Segments SegmentFormat `json:"segments,omitempty"`
	// Part is 0 for the whole track or the head's part, which ends at
	// Duration; k >= 1 for the k-th part of the rest, which starts at From.
	Part int `json:"part,omitempty"`
	// From is where a part of the rest starts on the output timeline, in
	// seconds: the end (Duration) of the part before it.
	From float64 `json:"from,omitempty"`
	// HeadEnd is where the head's part ends (part 1's From): every part
	// numbers its segments after the head's from it. 0 in specs planned
	// before the rest had several parts, whose one part starts there.
	HeadEnd float64 `json:"headEnd,omitempty"`
	// NoSpeech leaves out the speech track: every part of the rest decodes
	// the track from its start, and only the last writes the whole track's.
	NoSpeech bool `json:"noSpeech,omitempty"`
}

// The split that reports a head encodes the audio in parts: the head's,
// [0, end of the first chunk), as soon as the head is read, so that the
// first audio segment publishes within seconds, and the rest, [that end,
// Duration), cut on chunk ends into parts 1..N (AudioParts) when the split
// completes. Each part of the rest starts its encoder AudioPreRoll samples
// early and drops what it encodes before From, so that every join has
// neither gap nor overlap; its segments continue the head's numbering.
const (
	AudioPartHead = 0
	AudioPartRest = 1
)

// AudioPrefix is the prefix of an audio attempt's files: parts write
// different names, so that no part's attempt overwrites the other's.
func AudioPrefix(part, attempt int) string {
	if part >= AudioPartRest {
		return fmt.Sprintf("p%d_a%d_", part, attempt)
	}
	return fmt.Sprintf("a%d_", attempt)
}

// EncodeSpec is an encode task's spec; its one input is the chunk file
// named by Chunk.Source.
type EncodeSpec struct {
	Chunk ChunkSpec     `json:"chunk"`
	Video VideoSettings `json:"video"`
}

// StitchSpec is the stitch task's spec: the split's result and the winning
// results as the coordinator recorded them. It forwards them without
// decoding, so that what the agents reported reaches the stitch whole, even
// fields a coordinator of an older version does not know. Its inputs are the
// files Results.Inputs names.
type StitchSpec struct {
	Split json.RawMessage `json:"job"`
	// Chunks are the encode tasks' results by chunk index; a chunk not done
	// yet is empty (or JSON null).
	Chunks []json.RawMessage `json:"chunks"`
	Audio  json.RawMessage   `json:"audio,omitempty"`
}

// Results are a job's recorded results, decoded.
type Results struct {
	Split *SplitResult
	// Chunks holds nil for chunks not done yet.
	Chunks []*ChunkResult
	Audio  *AudioResult
}

// Decode decodes the recorded results.
func (s StitchSpec) Decode() (*Results, error) {
	r := &Results{Chunks: make([]*ChunkResult, len(s.Chunks))}
	if err := json.Unmarshal(s.Split, &r.Split); err != nil {
		return nil, fmt.Errorf("split result: %w", err)
	}
	if r.Split == nil {
		return nil, errors.New("split result: missing")
	}
	for i, raw := range s.Chunks {
		if recorded(raw) {
			if err := json.Unmarshal(raw, &r.Chunks[i]); err != nil {
				return nil, fmt.Errorf("chunk %d result: %w", i, err)
			}
		}
	}
	if recorded(s.Audio) {
		if err := json.Unmarshal(s.Audio, &r.Audio); err != nil {
			return nil, fmt.Errorf("audio result: %w", err)
		}
	}
	return r, nil
}

// recorded reports whether a raw result holds one.
func recorded(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// Inputs lists the files the stitch task needs: every thumbnail and poster
// candidate of the winning chunk attempts, and the winning audio attempt's
// speech track, which the stitch publishes under its final name.
func (r *Results) Inputs() []string {
	var names []string
	for _, c := range r.Chunks {
		if c == nil {
			continue
		}
		for _, t := range c.Thumbnails {
			names = append(names, t.File)
		}
		if c.Poster != nil {
			names = append(names, c.Poster.File)
		}
	}
	if r.Audio != nil && r.Audio.Speech != nil {
		names = append(names, r.Audio.Speech.File)
	}
	return names
}
