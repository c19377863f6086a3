package segmenter

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

// The head of a split is what the first chunk's encode needs: the stream's
// settings and the first chunk's packets. ProbeFileHead cuts the first chunk
// while it probes, so that the head exists after a few seconds of the
// source have been read, whatever its length; the probe then goes on to
// the end of the file for the keyframe index and the timeline of the rest.

// Head is the start of a source, as far as the first chunk's end.
type Head struct {
	// Probe describes the source as far as it was read: the video stream's
	// first frames and keyframes (its frame rate measured on them), the
	// container's duration, and the audio stream's header.
	Probe *media.Probe
	// Chunk is the first chunk's file, extracted as Extract would.
	Chunk       string
	VideoShift  int64
	VideoParams media.NUTParams
	// Audio, when the source has an audio stream, is its packets up to
	// HeadAudioMargin past the first chunk's end, extracted as Extract
	// extracts the whole track: enough to encode the audio of the first
	// chunk before the rest of the source is read.
	Audio       string
	AudioShift  int64
	AudioParams media.NUTParams
}

// HeadAudioMargin is how far past the first chunk's end the head's audio
// reaches: the frames the decoder needs to finish the chunk's last samples,
// and some slack for a container that interleaves audio late.
const HeadAudioMargin = 500 * time.Millisecond

// headAudioFile is the name of the head's audio file.
const headAudioFile = "audio_head." + extractFormat

// HeadSpec says where the first chunk ends and what to do with the head.
type HeadSpec struct {
	// Grid is the plan's: where its first chunk ends.
	Grid
	// Dir receives the first chunk's file, named as Extract names it.
	Dir string
	// OnHead is called once, from the reading goroutine, as soon as the
	// first chunk is complete; an error stops the probe.
	OnHead func(Head) error
}

// ProbeFileHead is ProbeFile, and calls spec.OnHead as soon as it has read
// the first chunk of the video (up to the first keyframe at or after its
// end, and the pictures shown before it). It returns the head it reported,
// or nil when the source ended first or has no video.
func ProbeFileHead(ctx context.Context, path string, spec HeadSpec) (*media.Probe, *Head, error) {
	h := &headScan{spec: spec}
	defer h.close()
	p, err := probeFile(ctx, source{path: path}, h)
	if err != nil {
		return nil, nil, err
	}
	return p, h.head, nil
}

// headScan follows the video packets in decode order to cut the first chunk.
type headScan struct {
	spec HeadSpec
	end  int64 // the first chunk's end: a segment boundary
	cw   *chunkWriter
	head *Head

	audio     *astiav.Stream // the source's audio stream, nil without one
	aw        *copyWriter
	audioPath string
	audioEnd  float64 // the latest audio packet's time, in seconds
	audioOK   bool    // the head's audio is complete (or the source has none)
}

func (h *headScan) add(pkt *astiav.Packet, vs *videoScan, partial func() *media.Probe) error {
	if h.head != nil || !vs.started {
		return nil
	}
	if h.cw == nil {
		h.end = h.spec.FirstChunkEnd(&vs.v)
		path := filepath.Join(h.spec.Dir, chunkFile(0))
		c := media.Chunk{SourceStartPTS: vs.v.OriginPTS, SourceEndPTS: media.NoEnd, EndPTS: h.end}
		h.cw = &chunkWriter{chunk: c, path: path, stream: vs.stream, shift: media.DurationToPTS(ExtractShift, vs.v.TimeBase)}
	}
	// The chunk ends at the first keyframe at or after its end, which is
	// the keyframe the plan will name: keyframes come in display order.
	if ts := packetTime(pkt); h.cw.state == chunkOpen && h.cw.chunk.SourceEndPTS == media.NoEnd &&
		pkt.Flags().Has(astiav.PacketFlagKey) && ts != astiav.NoPtsValue && ts >= h.end {
		h.cw.chunk.SourceEndPTS = ts
	}
	if err := h.cw.add(pkt); err != nil {
		return err
	}
	return h.report(vs, partial)
}

// report reports the head once the first chunk is cut, a frame of it was
// decoded (the settings need the pixel format and interlacing) and the
// audio has reached HeadAudioMargin past the chunk's end.
func (h *headScan) report(vs *videoScan, partial func() *media.Probe) error {
	if h.head != nil || h.cw == nil || h.cw.state != chunkDone || vs.decoded == 0 {
		return nil
	}
	if h.audio != nil && !h.audioOK {
		if h.audioEnd < vs.v.Seconds(h.end)+HeadAudioMargin.Seconds() {
			return nil
		}
		if err := h.aw.finish(); err != nil {
			return err
		}
		h.aw, h.audioOK = nil, true
	}
	h.head = &Head{Probe: partial(), Chunk: h.cw.path, VideoShift: h.cw.shift,
		VideoParams: avx.NUTParamsOf(vs.stream.CodecParameters())}
	if h.audio != nil {
		h.head.Audio = h.audioPath
		h.head.AudioShift = media.DurationToPTS(ExtractShift, rationalOf(h.audio.TimeBase()))
		h.head.AudioParams = avx.NUTParamsOf(h.audio.CodecParameters())
	}
	return h.spec.OnHead(*h.head)
}

// addAudio copies an audio packet into the head's audio file until the head
// is reported.
func (h *headScan) addAudio(pkt *astiav.Packet, vs *videoScan, partial func() *media.Probe) error {
	if h.head != nil || h.audioOK {
		return nil
	}
	if h.aw == nil {
		h.audioPath = filepath.Join(h.spec.Dir, headAudioFile)
		var err error
		if h.aw, err = newCopyWriter(h.audioPath, h.audio, media.DurationToPTS(ExtractShift, rationalOf(h.audio.TimeBase()))); err != nil {
			return err
		}
	}
	if err := h.aw.write(pkt); err != nil {
		return err
	}
	if ts := packetTime(pkt); ts != astiav.NoPtsValue {
		h.audioEnd = max(h.audioEnd, float64(ts+pkt.Duration())*h.audio.TimeBase().Float64())
	}
	if vs == nil {
		return nil
	}
	return h.report(vs, partial)
}

// close finishes a first chunk the source ended inside: without a head,
// Extract cuts it again with the rest.
func (h *headScan) close() {
	if h.cw != nil && h.cw.w != nil {
		h.cw.w.close()
	}
	if h.aw != nil {
		h.aw.close()
	}
	// Without a head, its audio file would only be uploaded for nothing: the
	// completion's audio task reads the whole track.
	if h.head == nil && h.audioPath != "" {
		_ = os.Remove(h.audioPath)
	}
}

// partialProbe is the probe as far as the source was read.
func partialProbe(p *media.Probe, in *input, vs *videoScan, as *media.AudioStream) *media.Probe {
	head := *p
	head.Video = vs.summary()
	head.Duration = in.duration()
	if as != nil {
		a := *as
		if a.StartPTS == astiav.NoPtsValue {
			a.StartPTS = 0
		}
		a.StartSeconds = float64(a.StartPTS) * a.TimeBase.Float()
		head.Audio = &a
	}
	head.Warnings = append(head.Warnings[:len(head.Warnings):len(head.Warnings)], vs.warnings()...)
	return &head
}

// chunkFile is the name of a chunk's extracted file.
func chunkFile(index int) string { return fmt.Sprintf("chunk_%05d.%s", index, extractFormat) }
