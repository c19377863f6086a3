package encoder

import (
	"context"
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

// decodedInput is a file opened for decoding one of its streams.
type decodedInput struct {
	path   string
	fc     *astiav.FormatContext
	stream *astiav.Stream
	dec    *astiav.CodecContext
	pkt    *astiav.Packet
	frame  *astiav.Frame
	// errors counts packets and frames the decoder rejected: damage that
	// loses frames, not the task.
	errors int
	// warning says why reading stopped before the end of the file, if it did.
	warning string
}

// openDecodedInput opens path and a single-threaded decoder for its first
// stream of the given type, with params restored: parallelism comes from
// running tasks side by side.
func openDecodedInput(path string, media astiav.MediaType, params media.NUTParams) (*decodedInput, error) {
	d := &decodedInput{path: path, fc: astiav.AllocFormatContext(), pkt: astiav.AllocPacket(), frame: astiav.AllocFrame()}
	if err := d.fc.OpenInput(path, nil, nil); err != nil {
		d.fc.Free()
		d.fc = nil
		d.close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := d.open(media, params); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *decodedInput) open(media astiav.MediaType, params media.NUTParams) error {
	if err := d.fc.FindStreamInfo(nil); err != nil {
		return fmt.Errorf("read %s: %w", d.path, err)
	}
	for _, s := range d.fc.Streams() {
		if s.CodecParameters().MediaType() == media {
			d.stream = s
			break
		}
	}
	if d.stream == nil {
		return fmt.Errorf("%s has no %s stream", d.path, media)
	}
	cp := d.stream.CodecParameters()
	if err := avx.RestoreNUTParams(params, cp); err != nil {
		return fmt.Errorf("%s: %w", d.path, err)
	}
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return fmt.Errorf("no decoder for %s", cp.CodecID().Name())
	}
	d.dec = astiav.AllocCodecContext(codec)
	if err := cp.ToCodecContext(d.dec); err != nil {
		return fmt.Errorf("configure decoder: %w", err)
	}
	d.dec.SetThreadCount(1)
	if err := d.dec.Open(codec, nil); err != nil {
		return fmt.Errorf("open decoder: %w", err)
	}
	return nil
}

// run decodes the stream and calls fn with every frame until the file ends
// (then it flushes the decoder) or done reports true. fn must not keep the
// frame.
func (d *decodedInput) run(ctx context.Context, done func() bool, fn func(*astiav.Frame) error) error {
	for !done() {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := d.fc.ReadFrame(d.pkt)
		if errors.Is(err, astiav.ErrEof) {
			break
		}
		if err != nil {
			d.warning = fmt.Sprintf("reading stopped early: %v", err)
			break
		}
		if d.pkt.StreamIndex() == d.stream.Index() {
			err = d.decode(d.pkt, done, fn)
		}
		d.pkt.Unref()
		if err != nil {
			return err
		}
	}
	if done() {
		return nil
	}
	return d.decode(nil, done, fn)
}

// decode sends one packet (nil: flush) and hands out the frames that come out.
func (d *decodedInput) decode(pkt *astiav.Packet, done func() bool, fn func(*astiav.Frame) error) error {
	if err := d.dec.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEof) {
		d.errors++
		return nil
	}
	for !done() {
		err := d.dec.ReceiveFrame(d.frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			d.errors++
			return nil
		}
		err = fn(d.frame)
		d.frame.Unref()
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decodedInput) close() {
	if d.dec != nil {
		d.dec.Free()
	}
	if d.fc != nil {
		d.fc.CloseInput()
		d.fc.Free()
	}
	d.pkt.Free()
	d.frame.Free()
}
