package testmedia

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/media"
)

// HLSAudioPTS writes an audio task's segments (res, its files relative to
// dir) as one VOD media playlist in dir, reads it through libav's HLS
// demuxer (ffprobe) and returns the audio packets' timestamps, in seconds,
// in the order the demuxer returns them.
func HLSAudioPTS(tb testing.TB, dir string, res *media.AudioResult) []float64 {
	tb.Helper()
	var pl strings.Builder
	pl.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n")
	target := 1
	for _, s := range res.Segments {
		target = max(target, int(s.Duration+0.999))
	}
	pl.WriteString("#EXT-X-TARGETDURATION:" + strconv.Itoa(target) + "\n")
	if res.Init != nil {
		pl.WriteString("#EXT-X-MAP:URI=\"" + res.Init.File + "\"\n")
	}
	for _, s := range res.Segments {
		pl.WriteString("#EXTINF:" + strconv.FormatFloat(s.Duration, 'f', 6, 64) + ",\n" + s.File + "\n")
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	path := filepath.Join(dir, "hls-audio-pts.m3u8")
	if err := os.WriteFile(path, []byte(pl.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	var out struct {
		Packets []struct {
			PTS string `json:"pts_time"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(FFprobeJSON(tb, "-show_packets", "-select_streams", "a", path), &out); err != nil {
		tb.Fatalf("testmedia: decode ffprobe output: %v", err)
	}
	if len(out.Packets) == 0 {
		tb.Fatalf("testmedia: %s: no audio packets", path)
	}
	pts := make([]float64, len(out.Packets))
	for i, p := range out.Packets {
		var err error
		if pts[i], err = strconv.ParseFloat(p.PTS, 64); err != nil {
			tb.Fatalf("testmedia: packet %d: pts %q", i, p.PTS)
		}
	}
	return pts
}
