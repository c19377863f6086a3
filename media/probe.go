package media

import "math"

// Rational is an exact fraction, as libav uses for time bases and rates.
type Rational struct {
	Num int `json:"num"`
	Den int `json:"den"`
}

// Float returns the fraction's value, or 0 for a zero denominator.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Probe is what the split task learns about a source.
type Probe struct {
	Container string       `json:"container"`
	Size      int64        `json:"sizeBytes"`
	Duration  float64      `json:"durationSeconds"`
	Streams   []StreamInfo `json:"streams"`
	Video     *VideoStream `json:"video,omitempty"`
	Audio     *AudioStream `json:"audio,omitempty"`
	// Warnings describe damage found while reading the file.
	Warnings []string `json:"warnings,omitempty"`
}

// StreamInfo summarises one stream of the container.
type StreamInfo struct {
	Index int    `json:"index"`
	Type  string `json:"type"`
	Codec string `json:"codec"`
}

// VideoStream describes the video stream the ladder is made from.
type VideoStream struct {
	Index       int      `json:"index"`
	Codec       string   `json:"codec"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	SAR         Rational `json:"sampleAspectRatio"`
	Rotation    int      `json:"rotation"` // clockwise degrees to turn the picture upright: 0, 90, 180 or 270
	PixelFormat string   `json:"pixelFormat"`
	BitDepth    int      `json:"bitDepth"`
	Chroma      string   `json:"chroma"`
	Interlaced  bool     `json:"interlaced"`
	FrameRate   Rational `json:"frameRate"` // average rate over the whole stream
	VFR         bool     `json:"variableFrameRate"`
	// PeakFrameRate is the highest rate the stream reaches: the nominal rate
	// of a variable-rate phone video, FrameRate otherwise.
	PeakFrameRate Rational `json:"peakFrameRate"`
	TimeBase      Rational `json:"timeBase"`
	// OriginPTS is the first keyframe's timestamp: time zero of the output timeline.
	OriginPTS int64 `json:"originPts"`
	// EndPTS is where the last frame ends.
	EndPTS int64 `json:"endPts"`
	// LastPTS is the timestamp of the last frame.
	LastPTS int64 `json:"lastPts"`
	Frames  int   `json:"frames"`
	// Keyframes lists keyframe timestamps in decode order.
	Keyframes []int64 `json:"-"`
	KeyCount  int     `json:"keyframes"`
	// MaxGOP is the longest distance between keyframes, in seconds.
	MaxGOP float64 `json:"maxGopSeconds"`
}

// Seconds converts a timestamp of this stream to seconds on the output timeline.
func (v *VideoStream) Seconds(pts int64) float64 {
	return float64(pts-v.OriginPTS) * v.TimeBase.Float()
}

// DisplaySize is the upright picture size with square pixels.
func (v *VideoStream) DisplaySize() (w, h int) {
	w, h = v.Width, v.Height
	if v.SAR.Num > 0 && v.SAR.Den > 0 && v.SAR.Num != v.SAR.Den {
		w = int(math.Round(float64(w) * v.SAR.Float()))
	}
	if v.Rotation == 90 || v.Rotation == 270 {
		w, h = h, w
	}
	return w, h
}

// AudioStream describes the audio stream that is published.
type AudioStream struct {
	Index      int      `json:"index"`
	Codec      string   `json:"codec"`
	SampleRate int      `json:"sampleRate"`
	Channels   int      `json:"channels"`
	TimeBase   Rational `json:"timeBase"`
	StartPTS   int64    `json:"startPts"`
	// StartSeconds is where the sound starts on the source timeline: the
	// stream's start time, which leaves out encoder priming that the first
	// packets carry (and the decoder skips).
	StartSeconds float64 `json:"startSeconds"`
	Packets      int     `json:"packets"`
}

// Limits reject sources too large to accept before any encoding starts.
type Limits struct {
	MaxWidth    int
	MaxHeight   int
	MaxDuration float64 // seconds
}

// DefaultLimits are the limits of a production platform.
var DefaultLimits = Limits{MaxWidth: 8192, MaxHeight: 8192, MaxDuration: 12 * 3600}
