package segmenter

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

// ExtractShift is added to every timestamp of an extracted file.
const ExtractShift = 10 * time.Second

// extractFormat carries every codec (with avx.NUTParams for what some need
// besides). It may store a finer time base than
// the source's (an exact refinement for video, samples for audio), so readers
// rescale plan timestamps to the file's own time base.
const extractFormat = "nut"

// Extract copies, without decoding, each chunk's packets from the keyframe
// at or before its start to the keyframe at or after its end into its own
// file in dir, plus the audio stream into audio.nut. It reads the source once
// and holds at most a few packets in memory.
func Extract(ctx context.Context, src string, p *media.Probe, plan media.Plan, dir string) (media.Extracted, error) {
	return extract(ctx, src, p, plan, dir, nil)
}

// ExtractRest is Extract for a source whose first chunk ProbeFileHead
// already cut: it extracts the other chunks and the audio.
func ExtractRest(ctx context.Context, src string, p *media.Probe, plan media.Plan, dir string, head *Head) (media.Extracted, error) {
	return extract(ctx, src, p, plan, dir, head)
}

func extract(ctx context.Context, src string, p *media.Probe, plan media.Plan, dir string, head *Head) (media.Extracted, error) {
	in, err := openInput(src)
	if err != nil {
		return media.Extracted{}, err
	}
	defer in.close()
	streams := in.fc.Streams()

	var out media.Extracted
	var chunks []*chunkWriter
	video, audio := -1, -1
	if v := p.Video; v != nil {
		video = v.Index
		out.VideoShift = media.DurationToPTS(ExtractShift, v.TimeBase)
		out.VideoParams = avx.NUTParamsOf(streams[video].CodecParameters())
		for _, c := range plan.Chunks {
			path := filepath.Join(dir, chunkFile(c.Index))
			out.Chunks = append(out.Chunks, path)
			if c.Index == 0 && head != nil {
				continue
			}
			chunks = append(chunks, &chunkWriter{chunk: c, path: path, stream: streams[video], shift: out.VideoShift})
		}
	}
	var aw *copyWriter
	if a := p.Audio; a != nil {
		audio = a.Index
		out.Audio = filepath.Join(dir, "audio."+extractFormat)
		out.AudioShift = media.DurationToPTS(ExtractShift, a.TimeBase)
		out.AudioParams = avx.NUTParamsOf(streams[audio].CodecParameters())
		if aw, err = newCopyWriter(out.Audio, streams[audio], out.AudioShift); err != nil {
			return media.Extracted{}, err
		}
		defer aw.close()
	}
	defer func() {
		for _, c := range chunks {
			if c.w != nil {
				c.w.close()
			}
		}
	}()

	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for {
		if err := ctx.Err(); err != nil {
			return media.Extracted{}, err
		}
		if err := in.fc.ReadFrame(pkt); err != nil {
			if !errors.Is(err, astiav.ErrEof) {
				p.Warnings = append(p.Warnings, fmt.Sprintf("extraction stopped early: %v", err))
			}
			break
		}
		switch pkt.StreamIndex() {
		case video:
			for _, c := range chunks {
				if err := c.add(pkt); err != nil {
					return media.Extracted{}, err
				}
			}
		case audio:
			if err := aw.write(pkt); err != nil {
				return media.Extracted{}, err
			}
		}
		pkt.Unref()
	}
	for _, c := range chunks {
		if c.state == chunkPending {
			return media.Extracted{}, fmt.Errorf("chunk %d: keyframe at %d never found", c.chunk.Index, c.chunk.SourceStartPTS)
		}
		if err := c.finish(); err != nil {
			return media.Extracted{}, err
		}
	}
	if aw != nil {
		if err := aw.finish(); err != nil {
			return media.Extracted{}, err
		}
	}
	return out, nil
}

type chunkState int

const (
	chunkPending chunkState = iota // before its first keyframe
	chunkOpen                      // copying every packet
	chunkTail                      // past the end keyframe: copying its leading pictures only
	chunkDone
)

// chunkWriter follows one chunk through the packet stream in decode order.
type chunkWriter struct {
	chunk  media.Chunk
	path   string
	stream *astiav.Stream
	shift  int64
	state  chunkState
	w      *copyWriter
}

func (c *chunkWriter) add(pkt *astiav.Packet) (err error) {
	ts := packetTime(pkt)
	key := pkt.Flags().Has(astiav.PacketFlagKey)
	switch c.state {
	case chunkPending:
		if !key || ts != c.chunk.SourceStartPTS {
			return nil
		}
		if c.w, err = newCopyWriter(c.path, c.stream, c.shift); err != nil {
			return err
		}
		c.state = chunkOpen
	case chunkOpen:
		if key && ts == c.chunk.SourceEndPTS {
			c.state = chunkTail
		}
	case chunkTail:
		// Open-GOP leading pictures follow the end keyframe in decode order
		// but are shown before it, so they may still belong to this chunk.
		if ts == astiav.NoPtsValue || ts >= c.chunk.SourceEndPTS {
			c.state = chunkDone
			return c.finish()
		}
	case chunkDone:
		return nil
	}
	return c.w.write(pkt)
}

func (c *chunkWriter) finish() error {
	if c.w == nil {
		return nil
	}
	err := c.w.finish()
	c.w = nil
	return err
}

// copyWriter stream-copies packets of one source stream into a file.
type copyWriter struct {
	path    string
	fc      *astiav.FormatContext
	io      *astiav.IOContext
	inTB    astiav.Rational
	outTB   astiav.Rational
	shift   int64 // added to every timestamp, in inTB
	scratch *astiav.Packet
}

func newCopyWriter(path string, in *astiav.Stream, shift int64) (*copyWriter, error) {
	fc, err := astiav.AllocOutputFormatContext(nil, extractFormat, path)
	if err != nil || fc == nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	w := &copyWriter{path: path, fc: fc, inTB: in.TimeBase(), shift: shift, scratch: astiav.AllocPacket()}
	s := fc.NewStream(nil)
	if s == nil {
		w.close()
		return nil, fmt.Errorf("create %s: no stream", path)
	}
	if err := in.CodecParameters().Copy(s.CodecParameters()); err != nil {
		w.close()
		return nil, fmt.Errorf("create %s: copy codec parameters: %w", path, err)
	}
	s.CodecParameters().SetCodecTag(avx.NUTCodecTag(in.CodecParameters()))
	s.SetTimeBase(in.TimeBase())
	if b := in.SideData(astiav.PacketSideDataTypeDisplaymatrix); len(b) > 0 {
		_ = s.AddSideData(astiav.PacketSideDataTypeDisplaymatrix, b)
	}
	if w.io, err = astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
		w.close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	fc.SetPb(w.io)
	if err := fc.WriteHeader(nil); err != nil {
		w.close()
		return nil, fmt.Errorf("write header of %s: %w", path, err)
	}
	w.outTB = s.TimeBase()
	return w, nil
}

func (w *copyWriter) write(pkt *astiav.Packet) error {
	if err := w.scratch.Ref(pkt); err != nil {
		return fmt.Errorf("copy packet: %w", err)
	}
	defer w.scratch.Unref()
	w.scratch.SetStreamIndex(0)
	w.scratch.SetPos(-1)
	if ts := w.scratch.Pts(); ts != astiav.NoPtsValue {
		w.scratch.SetPts(ts + w.shift)
	}
	if ts := w.scratch.Dts(); ts != astiav.NoPtsValue {
		w.scratch.SetDts(ts + w.shift)
	}
	w.scratch.RescaleTs(w.inTB, w.outTB)
	if err := w.fc.WriteFrame(w.scratch); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

func (w *copyWriter) finish() error {
	defer w.close()
	if err := w.fc.WriteTrailer(); err != nil {
		return fmt.Errorf("finish %s: %w", w.path, err)
	}
	return nil
}

func (w *copyWriter) close() {
	if w.fc == nil {
		return
	}
	if w.io != nil {
		_ = w.io.Close()
		w.io = nil
	}
	w.fc.Free()
	w.fc = nil
	w.scratch.Free()
}
