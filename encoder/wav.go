package encoder

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// wavHeaderSize is the size of the canonical header: RIFF, a 16-byte PCM
// fmt chunk and the data chunk's header. Speech-to-text services and every
// audio library read this form.
const wavHeaderSize = 44

// maxWAVData is the most sample bytes a WAV file can describe: its sizes
// are 32-bit. (16 kHz mono 16-bit fills it after 37 hours, three times the
// longest upload.)
const maxWAVData = 1<<32 - 1 - (wavHeaderSize - 8)

// errWAVFull reports samples dropped at the 4 GiB limit of the format.
var errWAVFull = errors.New("the WAV file reached its 4 GiB limit")

// wavWriter streams 16-bit little-endian PCM into a WAV file: the header
// goes first with zero sizes, and close fills them in, so that the samples
// never need to be held in memory.
type wavWriter struct {
	path     string
	f        *os.File
	w        *bufio.Writer
	rate     int
	channels int
	data     int64 // sample bytes written
	limit    int64 // most sample bytes the file may hold
}

func createWAV(path string, rate, channels int) (*wavWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	w := &wavWriter{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10), rate: rate, channels: channels, limit: maxWAVData}
	if _, err := w.w.Write(w.header()); err != nil {
		w.abort()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return w, nil
}

// header is the canonical 44-byte header for the samples written so far.
func (w *wavWriter) header() []byte {
	const bytesPerSample = 2
	h := make([]byte, 0, wavHeaderSize)
	le := binary.LittleEndian
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(wavHeaderSize-8+w.data))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16) // fmt chunk size
	h = le.AppendUint16(h, 1)  // WAVE_FORMAT_PCM
	h = le.AppendUint16(h, uint16(w.channels))
	h = le.AppendUint32(h, uint32(w.rate))
	h = le.AppendUint32(h, uint32(w.rate*w.channels*bytesPerSample)) // byte rate
	h = le.AppendUint16(h, uint16(w.channels*bytesPerSample))        // block align
	h = le.AppendUint16(h, 8*bytesPerSample)                         // bits per sample
	h = append(h, "data"...)
	return le.AppendUint32(h, uint32(w.data))
}

// write appends interleaved samples; past the format's limit it drops them
// and returns errWAVFull.
func (w *wavWriter) write(p []byte) error {
	if room := w.limit - w.data; int64(len(p)) > room {
		p = p[:room]
		if len(p) == 0 {
			return errWAVFull
		}
	}
	n, err := w.w.Write(p)
	w.data += int64(n)
	if err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if w.data == w.limit {
		return errWAVFull
	}
	return nil
}

// samples is how many samples per channel the file holds.
func (w *wavWriter) samples() int64 { return w.data / int64(2*w.channels) }

// close writes the final sizes into the header and returns the file's size.
func (w *wavWriter) close() (int64, error) {
	err := w.w.Flush()
	if err == nil {
		_, err = w.f.WriteAt(w.header(), 0)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(w.path)
		return 0, fmt.Errorf("finish %s: %w", w.path, err)
	}
	return wavHeaderSize + w.data, nil
}

// abort closes and removes an unfinished file: without its sizes the
// header lies about the samples.
func (w *wavWriter) abort() {
	_ = w.f.Close()
	_ = os.Remove(w.path)
}
