package encoder

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

// Audio output: AAC-LC, 48 kHz, stereo, 128 kb/s for every video.
const (
	AudioSampleRate = 48000
	AudioBitrate    = 128_000
	audioFrameSize  = 1024
	// AudioPreRoll is how many samples before its start the rest of a track
	// split at the head feeds its encoder (see media.AudioPartRest): two
	// AAC frames, the encoder's priming and the overlap of its transform,
	// so that the rest's first kept frame is encoded as in one pass.
	AudioPreRoll = 2 * audioFrameSize
)

// SpeechSampleRate is the rate of the speech track: mono 16-bit PCM WAV at
// 16 kHz, what speech-to-text models (Whisper and the OpenAI-compatible
// transcription endpoints) take.
const SpeechSampleRate = 16000

// SpeechName is the audio task's speech track, relative to the output dir;
// the part and attempt keep attempts from overwriting each other.
func SpeechName(part, attempt int) string {
	return filepath.Join("audio", media.AudioPrefix(part, attempt)+"16k.wav")
}

// EncodeAudio decodes the track, aligns it to the output timeline, downmixes
// to stereo, resamples to 48 kHz, encodes AAC and cuts it into segments on
// the same boundaries as the video. From the same decode it writes the
// speech track: the aligned audio downmixed to mono 16 kHz PCM, streamed
// into a WAV file. A part of the rest of a track split at the head
// (spec.Part) encodes from spec.From to spec.Duration, its segments numbered
// after the head's; the last part's speech track is still the whole
// track's, which it decodes anyway, and the parts before it write none
// (spec.NoSpeech).
func EncodeAudio(ctx context.Context, spec media.AudioSpec) (*media.AudioResult, error) {
	a, err := newAudioEncoder(spec)
	if err != nil {
		return nil, err
	}
	defer a.close()
	if err := a.run(ctx); err != nil {
		return nil, err
	}
	if len(a.res.Segments) == 0 {
		return nil, errors.New("the audio track holds no decodable sound")
	}
	if a.src.errors > 0 {
		a.res.Warnings = append(a.res.Warnings, fmt.Sprintf("audio: %d packets could not be decoded", a.src.errors))
	}
	if err := a.finishSpeech(); err != nil {
		return nil, err
	}
	a.res.Init = a.segOut.initIn("audio")
	return &a.res, nil
}

type audioEncoder struct {
	spec  media.AudioSpec
	src   *decodedInput
	enc   *astiav.CodecContext
	graph *filterGraph
	pkt   *astiav.Packet // encoded
	out   *astiav.Frame  // filtered

	segSamples int64
	from       int64 // the first sample this part keeps (the rest's From)
	segShift   int   // added to a segment's index on the grid: the head's last segment is a short one
	segOut     *segmentOutput
	seg        segmentWriter
	segPath    string
	segIndex   int
	segStart   int64 // first sample of the open segment
	lastEnd    int64
	res        media.AudioResult
	decodedTo  float64 // where the last decoded frame starts on the output timeline, in seconds

	// firstSamples is segment 0's length: the plan's FirstSegment, else
	// segSamples. Segment k >= 1 starts at firstSamples + (k-1)*segSamples.
	firstSamples int64

	// The speech track: libav's PCM encoder turns the filtered frames into
	// bytes (go-astiav exposes no audio frame data), wav streams them out.
	pcm        *astiav.CodecContext
	pcmPkt     *astiav.Packet
	wav        *wavWriter
	speechFull bool // wav reached the format's size limit
}

var audioTB = astiav.NewRational(1, AudioSampleRate)

func newAudioEncoder(spec media.AudioSpec) (*audioEncoder, error) {
	a := &audioEncoder{spec: spec, segIndex: -1, pkt: astiav.AllocPacket(), pcmPkt: astiav.AllocPacket(), out: astiav.AllocFrame(),
		segOut: &segmentOutput{format: spec.Segments, dir: filepath.Join(spec.OutDir, "audio"), prefix: media.AudioPrefix(spec.Part, spec.Attempt),
			frameDuration: astiav.RescaleQ(audioFrameSize, audioTB, OutputTimeBase)},
		segSamples: int64(math.Round(spec.Segment.Seconds() * AudioSampleRate)), res: media.AudioResult{Codec: hls.AACLowComplexity}}
	a.firstSamples = a.segSamples
	if spec.FirstSegment > 0 {
		a.firstSamples = int64(math.Round(spec.FirstSegment.Seconds() * AudioSampleRate))
	}
	if spec.Part >= media.AudioPartRest {
		if err := a.startPart(); err != nil {
			a.close()
			return nil, err
		}
	}
	if err := a.open(); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// startPart sets up a part of the rest of a track split at the head: the
// first sample it keeps, and the shift of its segments' numbers, which
// follows the head's end (HeadEnd; From in a plan of one part that predates
// it), not the part's own start — the head's last segment is a short one
// when the head ends off the segment grid, and every later segment is
// numbered one further than the grid says.
func (a *audioEncoder) startPart() error {
	spec := a.spec
	if spec.From <= 0 || a.segSamples <= 0 {
		return fmt.Errorf("audio: part %d of a track starts at %.3f s, want after the head", spec.Part, spec.From)
	}
	a.from = int64(math.Round(spec.From * AudioSampleRate))
	if a.from%audioFrameSize != 0 {
		return fmt.Errorf("audio: part %d of a track starts at %.6f s, not on an AAC frame boundary", spec.Part, spec.From)
	}
	headEnd := spec.HeadEnd
	if headEnd == 0 {
		headEnd = spec.From
	}
	if (int64(math.Round(headEnd*AudioSampleRate))-a.firstSamples)%a.segSamples != 0 {
		a.segShift = 1
	}
	return nil
}

func (a *audioEncoder) open() error {
	var err error
	if a.src, err = openDecodedInput(a.spec.Source, astiav.MediaTypeAudio, a.spec.Params); err != nil {
		return fmt.Errorf("audio: %w", err)
	}
	enc := astiav.FindEncoder(astiav.CodecIDAac)
	if enc == nil {
		return errors.New("libavcodec has no AAC encoder")
	}
	a.enc = astiav.AllocCodecContext(enc)
	a.enc.SetSampleRate(AudioSampleRate)
	a.enc.SetSampleFormat(astiav.SampleFormatFltp)
	a.enc.SetChannelLayout(astiav.ChannelLayoutStereo)
	a.enc.SetBitRate(AudioBitrate)
	a.enc.SetTimeBase(audioTB)
	if err := a.enc.Open(enc, nil); err != nil {
		return fmt.Errorf("open AAC encoder: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(a.spec.OutDir, "audio"), 0o755); err != nil {
		return err
	}
	if a.spec.NoSpeech {
		return nil
	}
	return a.openSpeech()
}

func (a *audioEncoder) openSpeech() error {
	pcm := astiav.FindEncoder(astiav.CodecIDPcmS16Le)
	if pcm == nil {
		return errors.New("libavcodec has no PCM encoder")
	}
	a.pcm = astiav.AllocCodecContext(pcm)
	a.pcm.SetSampleRate(SpeechSampleRate)
	a.pcm.SetSampleFormat(astiav.SampleFormatS16)
	a.pcm.SetChannelLayout(astiav.ChannelLayoutMono)
	a.pcm.SetTimeBase(astiav.NewRational(1, SpeechSampleRate))
	if err := a.pcm.Open(pcm, nil); err != nil {
		return fmt.Errorf("open PCM encoder: %w", err)
	}
	var err error
	a.wav, err = createWAV(filepath.Join(a.spec.OutDir, SpeechName(a.spec.Part, a.spec.Attempt)), SpeechSampleRate, 1)
	return err
}

// filterDesc aligns the start (aresample pads or trims to first_pts=0),
// converts to 48 kHz stereo and trims to the video; then one branch cuts the
// AAC encoder's 1024-sample frames ([out0]) and the other downmixes the same
// samples to mono 16 kHz 16-bit for the speech track ([out1]), unless the
// task writes none. A part of a split track feeds its encoder from
// AudioPreRoll samples before From.
func (a *audioEncoder) filterDesc() string {
	desc := "[in]aresample=" + strconv.Itoa(AudioSampleRate) + ":async=1:first_pts=0," +
		"aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
	if a.spec.Duration > 0 {
		desc += fmt.Sprintf(",atrim=end_sample=%d", int64(math.Round(a.spec.Duration*AudioSampleRate)))
	}
	aac := ""
	if a.from > 0 {
		aac = fmt.Sprintf("atrim=start_sample=%d,", max(0, a.from-AudioPreRoll))
	}
	frames := fmt.Sprintf(aac+"asetnsamples=n=%d:p=0[out0]", audioFrameSize)
	if a.spec.NoSpeech {
		return desc + "," + frames
	}
	return desc + ",asplit=2[aac][speech];[aac]" + frames + ";" + fmt.Sprintf(
		"[speech]aresample=%d,aformat=sample_fmts=s16:sample_rates=%d:channel_layouts=mono[out1]",
		SpeechSampleRate, SpeechSampleRate)
}

// sinks is how many outputs the filter graph has: the AAC frames, and the
// speech track's samples unless the task writes none.
func (a *audioEncoder) sinks() int {
	if a.spec.NoSpeech {
		return 1
	}
	return 2
}

func (a *audioEncoder) openGraph(f *astiav.Frame) error {
	layout := f.ChannelLayout()
	if !layout.Valid() || layout.NbChannels() == 0 {
		layout = a.src.dec.ChannelLayout()
	}
	args := astiav.FilterArgs{
		"time_base":      astiav.NewRational(1, f.SampleRate()).String(),
		"sample_rate":    strconv.Itoa(f.SampleRate()),
		"sample_fmt":     f.SampleFormat().Name(),
		"channel_layout": layout.String(),
	}
	var err error
	a.graph, err = newFilterGraph(true, args, a.filterDesc(), a.sinks())
	return err
}

func (a *audioEncoder) run(ctx context.Context) error {
	if err := a.src.run(ctx, a.pastEnd, a.filter); err != nil {
		return err
	}
	if a.src.warning != "" {
		a.res.Warnings = append(a.res.Warnings, "audio: "+a.src.warning)
	}
	if a.graph == nil {
		return nil
	}
	if err := a.graph.push(nil); err != nil {
		return err
	}
	if err := a.drainGraph(); err != nil {
		return err
	}
	if err := a.enc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("flush AAC encoder: %w", err)
	}
	if err := a.drainEncoder(); err != nil {
		return err
	}
	return a.finishSegment(a.lastEnd)
}

// decodeBeyondEnd is how far past its end a part of the track decodes
// before it stops reading: more than the resampler holds back, so that
// every sample up to the end has come out of the filter graph (the rest is
// trimmed there anyway).
const decodeBeyondEnd = 1.0 // seconds

// pastEnd reports whether the track has been decoded far enough past the
// task's end: a part of the rest that writes no speech track needs nothing
// after it, and need not read the rest of the file. (The last part writes
// the whole track's speech track and reads on.)
func (a *audioEncoder) pastEnd() bool {
	return a.spec.NoSpeech && a.spec.Duration > 0 && a.decodedTo > a.spec.Duration+decodeBeyondEnd
}

// filter puts a decoded frame on the output timeline, in samples.
func (a *audioEncoder) filter(f *astiav.Frame) error {
	pts := avx.BestEffortTimestamp(f)
	if pts == astiav.NoPtsValue || f.SampleRate() <= 0 {
		return nil
	}
	sr := astiav.NewRational(1, f.SampleRate())
	origin := int64(math.Round(a.spec.Origin * float64(f.SampleRate())))
	f.SetPts(astiav.RescaleQ(pts, a.src.stream.TimeBase(), sr) - origin)
	a.decodedTo = float64(f.Pts()) / float64(f.SampleRate())
	if a.graph == nil {
		if err := a.openGraph(f); err != nil {
			return err
		}
	}
	if err := a.graph.push(f); err != nil {
		return err
	}
	return a.drainGraph()
}

func (a *audioEncoder) drainGraph() error {
	err := a.graph.pull(0, a.out, func(f *astiav.Frame) error {
		if err := a.enc.SendFrame(f); err != nil {
			return fmt.Errorf("encode audio: %w", err)
		}
		return a.drainEncoder()
	})
	if err != nil || a.spec.NoSpeech {
		return err
	}
	return a.graph.pull(1, a.out, func(f *astiav.Frame) error {
		if err := a.pcm.SendFrame(f); err != nil {
			return fmt.Errorf("encode speech track: %w", err)
		}
		return a.drainSpeech()
	})
}

// drainSpeech appends the PCM encoder's packets to the WAV file.
func (a *audioEncoder) drainSpeech() error {
	for {
		err := a.pcm.ReceivePacket(a.pcmPkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode speech track: %w", err)
		}
		if !a.speechFull {
			err = a.wav.write(a.pcmPkt.Data())
		}
		a.pcmPkt.Unref()
		if errors.Is(err, errWAVFull) {
			a.speechFull = true
			a.res.Warnings = append(a.res.Warnings, "audio: the speech track stops at the 4 GiB limit of WAV")
			err = nil
		}
		if err != nil {
			return err
		}
	}
}

// finishSpeech flushes the PCM encoder and completes the WAV file.
func (a *audioEncoder) finishSpeech() error {
	if a.spec.NoSpeech {
		return nil
	}
	if err := a.pcm.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("flush speech track: %w", err)
	}
	if err := a.drainSpeech(); err != nil {
		return err
	}
	w := a.wav
	a.wav = nil
	size, err := w.close()
	if err != nil {
		return err
	}
	a.res.Speech = &media.SpeechTrack{File: SpeechName(a.spec.Part, a.spec.Attempt), Bytes: size, SampleRate: SpeechSampleRate,
		Duration: float64(w.samples()) / SpeechSampleRate}
	return nil
}

func (a *audioEncoder) drainEncoder() error {
	for {
		err := a.enc.ReceivePacket(a.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode audio: %w", err)
		}
		err = a.mux(a.pkt)
		a.pkt.Unref()
		if err != nil {
			return err
		}
	}
}

// mux writes an AAC packet (pts in samples) into the segment its start
// falls in; a part of a split track drops its pre-roll's packets.
func (a *audioEncoder) mux(pkt *astiav.Packet) error {
	pts := pkt.Pts()
	if a.from > 0 && pts < a.from {
		return nil
	}
	seg := 0
	if pts >= a.firstSamples && a.segSamples > 0 {
		seg = 1 + int((pts-a.firstSamples)/a.segSamples) + a.segShift
	}
	if a.seg == nil || seg > a.segIndex {
		if err := a.finishSegment(pts); err != nil {
			return err
		}
		w, path, err := a.segOut.open(seg, a.enc)
		if err != nil {
			return err
		}
		a.seg, a.segPath, a.segIndex, a.segStart = w, path, seg, pts
	}
	a.lastEnd = pts + pkt.Duration()
	if pkt.Duration() <= 0 {
		a.lastEnd = pts + audioFrameSize
	}
	pkt.SetPts(TimelineOffset + astiav.RescaleQ(pts, audioTB, OutputTimeBase))
	pkt.SetDts(TimelineOffset + astiav.RescaleQ(pkt.Dts(), audioTB, OutputTimeBase))
	pkt.SetDuration(astiav.RescaleQ(pkt.Duration(), audioTB, OutputTimeBase))
	return a.seg.write(pkt)
}

// finishSegment closes the open segment, which ends at sample end.
func (a *audioEncoder) finishSegment(end int64) error {
	if a.seg == nil {
		return nil
	}
	size, err := a.seg.finish()
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(a.spec.OutDir, a.segPath)
	a.res.Segments = append(a.res.Segments, media.AudioSegment{
		Index: a.segIndex, File: rel, Bytes: size,
		Start:    float64(a.segStart) / AudioSampleRate,
		Duration: float64(end-a.segStart) / AudioSampleRate,
	})
	a.seg = nil
	return nil
}

func (a *audioEncoder) close() {
	if a.seg != nil {
		a.seg.abort()
	}
	if a.graph != nil {
		a.graph.free()
	}
	if a.enc != nil {
		a.enc.Free()
	}
	if a.wav != nil {
		a.wav.abort()
	}
	if a.pcm != nil {
		a.pcm.Free()
	}
	if a.src != nil {
		a.src.close()
	}
	a.pkt.Free()
	a.pcmPkt.Free()
	a.out.Free()
}
