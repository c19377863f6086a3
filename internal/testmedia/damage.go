package testmedia

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Damaged inputs are written into tb.TempDir(): they are cheap to make from a cached clip and
// tests may want to damage them further.

// corruptSize is how many bytes CorruptMiddle overwrites: a few KB, i.e. a couple of dozen TS
// packets, enough to lose frames in both streams but leave the rest decodable.
const corruptSize = 4 << 10

// Truncated returns a copy of src cut to 40 % of its bytes, as an interrupted upload leaves it.
// For an MP4 written by ffmpeg (moov at the end) the index is gone.
func Truncated(tb testing.TB, src string) string {
	tb.Helper()
	b := readFile(tb, src)
	return writeFile(tb, "truncated-"+filepath.Base(src), b[:len(b)*40/100])
}

// ZeroByte returns an empty file named like an MP4.
func ZeroByte(tb testing.TB) string {
	tb.Helper()
	return writeFile(tb, "zero-byte.mp4", nil)
}

// TextFile returns a file named like an MP4 that holds English prose, as when someone renames the
// wrong file before uploading it.
func TextFile(tb testing.TB) string {
	tb.Helper()
	text := strings.Repeat("This is not a video. It is a plain text file that was given an "+
		".mp4 extension before being uploaded, and a video platform must refuse it politely.\n", 40)
	return writeFile(tb, "text.mp4", []byte(text))
}

// CorruptMiddle returns a copy of src with a few KB in the middle overwritten by pseudo-random
// bytes (fixed seed, so every run damages the same way). Use an MPEG-TS source (CFRTS): the damage
// hits packet headers as well as payload, so the demuxer must resync on a later packet, and decoding
// continues after a glitch.
func CorruptMiddle(tb testing.TB, src string) string {
	tb.Helper()
	b := readFile(tb, src)
	if len(b) < 4*corruptSize {
		tb.Fatalf("testmedia: %s is %d bytes, too small to corrupt in the middle", src, len(b))
	}
	rng := rand.New(rand.NewPCG(0x5eed, 0xc0ffee))
	mid := b[len(b)/2 : len(b)/2+corruptSize]
	for i := range mid {
		mid[i] = byte(rng.Uint32())
	}
	return writeFile(tb, "corrupt-"+filepath.Base(src), b)
}

// readFile returns a private copy of a (possibly cached, shared) file's bytes.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	return b
}

func writeFile(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	return path
}
