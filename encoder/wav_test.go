package encoder

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// wavInfo is what a canonical WAV header says.
type wavInfo struct {
	riffSize, fmtSize          uint32
	format, channels           uint16
	rate, byteRate             uint32
	blockAlign, bitsPerSample  uint16
	dataSize                   uint32
	riff, wave, fmtTag, dataID string
}

func readWAVHeader(t *testing.T, path string) (wavInfo, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < wavHeaderSize {
		t.Fatalf("%s: %d bytes, want at least the %d-byte header", path, len(b), wavHeaderSize)
	}
	le := binary.LittleEndian
	return wavInfo{
		riff: string(b[0:4]), riffSize: le.Uint32(b[4:]), wave: string(b[8:12]),
		fmtTag: string(b[12:16]), fmtSize: le.Uint32(b[16:]), format: le.Uint16(b[20:]), channels: le.Uint16(b[22:]),
		rate: le.Uint32(b[24:]), byteRate: le.Uint32(b[28:]), blockAlign: le.Uint16(b[32:]), bitsPerSample: le.Uint16(b[34:]),
		dataID: string(b[36:40]), dataSize: le.Uint32(b[40:]),
	}, int64(len(b))
}

// wantWAVHeader checks a canonical 16-bit PCM header against the file's size.
func wantWAVHeader(t *testing.T, path string, rate, channels int) wavInfo {
	t.Helper()
	h, size := readWAVHeader(t, path)
	want := wavInfo{
		riff: "RIFF", riffSize: uint32(size - 8), wave: "WAVE", fmtTag: "fmt ", fmtSize: 16, format: 1,
		channels: uint16(channels), rate: uint32(rate), byteRate: uint32(2 * rate * channels),
		blockAlign: uint16(2 * channels), bitsPerSample: 16, dataID: "data", dataSize: uint32(size - wavHeaderSize),
	}
	if h != want {
		t.Errorf("%s header = %+v, want %+v", filepath.Base(path), h, want)
	}
	return h
}

func TestWAVWriter(t *testing.T) {
	tests := []struct {
		name     string
		channels int
		writes   [][]byte
		limit    int64
		wantData int
		wantFull bool
	}{
		{name: "empty", channels: 1, wantData: 0},
		{name: "mono", channels: 1, writes: [][]byte{{1, 0, 2, 0}, {3, 0}}, wantData: 6},
		{name: "stereo", channels: 2, writes: [][]byte{{1, 0, 2, 0, 3, 0, 4, 0}}, wantData: 8},
		{name: "full", channels: 1, writes: [][]byte{{1, 0, 2, 0}, {3, 0, 4, 0}, {5, 0}}, limit: 6, wantData: 6, wantFull: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "a.wav")
			w, err := createWAV(path, 16000, tt.channels)
			if err != nil {
				t.Fatalf("createWAV: %v", err)
			}
			if tt.limit > 0 {
				w.limit = tt.limit
			}
			var full bool
			for _, p := range tt.writes {
				if err := w.write(p); errors.Is(err, errWAVFull) {
					full = true
				} else if err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			if full != tt.wantFull {
				t.Errorf("errWAVFull returned: %v, want %v", full, tt.wantFull)
			}
			size, err := w.close()
			if err != nil {
				t.Fatalf("close: %v", err)
			}
			if want := int64(wavHeaderSize + tt.wantData); size != want {
				t.Errorf("close() size = %d, want %d", size, want)
			}
			h := wantWAVHeader(t, path, 16000, tt.channels)
			if int(h.dataSize) != tt.wantData {
				t.Errorf("data size %d, want %d", h.dataSize, tt.wantData)
			}
			if got, want := w.samples(), int64(tt.wantData/(2*tt.channels)); got != want {
				t.Errorf("samples() = %d, want %d", got, want)
			}
		})
	}
}

func TestWAVWriterAbortRemovesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	w, err := createWAV(path, 16000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.write([]byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	w.abort()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat after abort: %v, want the file gone", err)
	}
}
