package hls

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

func TestReadLadder(t *testing.T) {
	files := map[string]string{
		"master.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n" +
			"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Default\",DEFAULT=YES,AUTOSELECT=YES,URI=\"audio/playlist.m3u8\"\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"audio\"\n360p/playlist.m3u8\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240,CODECS=\"avc1.640015,mp4a.40.2\",AUDIO=\"audio\"\n240p/playlist.m3u8\n",
		"360p/playlist.m3u8":  vod("c0_a1_0.ts", 4, "c1_a2_1.ts", 2.5),
		"240p/playlist.m3u8":  vod("c0_a1_0.ts", 4, "c1_a1_1.ts", 2.5),
		"audio/playlist.m3u8": strings.Replace(vod("a1_0.m4s", 4, "a1_1.m4s", 2.5), "#EXTINF", "#EXT-X-MAP:URI=\"a1_init.mp4\"\n#EXTINF", 1),
	}
	var reads []string
	read := func(uri string) ([]byte, error) {
		reads = append(reads, uri)
		b, ok := files[uri]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(b), nil
	}
	l, err := ReadLadder("master.m3u8", read)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"360p/playlist.m3u8", "240p/playlist.m3u8", "audio/playlist.m3u8"}; !slices.Equal(l.URIs, want) {
		t.Errorf("URIs %v, want %v", l.URIs, want)
	}
	if want := append([]string{"master.m3u8"}, l.URIs...); !slices.Equal(reads, want) {
		t.Errorf("read %v, want each playlist once: %v", reads, want)
	}
	wantFiles := []string{"360p/playlist.m3u8", "360p/c0_a1_0.ts", "360p/c1_a2_1.ts", "240p/playlist.m3u8", "240p/c0_a1_0.ts",
		"240p/c1_a1_1.ts", "audio/playlist.m3u8", "audio/a1_init.mp4", "audio/a1_0.m4s", "audio/a1_1.m4s"}
	if got := l.Files(); !slices.Equal(got, wantFiles) {
		t.Errorf("Files() = %v, want %v", got, wantFiles)
	}
	if got := l.Duration(); got != 6.5 {
		t.Errorf("Duration() = %v, want 6.5", got)
	}

	t.Run("a missing rendition", func(t *testing.T) {
		delete(files, "240p/playlist.m3u8")
		if _, err := ReadLadder("master.m3u8", read); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v, want the reader's", err)
		}
	})
	t.Run("a broken playlist is named", func(t *testing.T) {
		files["240p/playlist.m3u8"] = "not a playlist"
		if _, err := ReadLadder("master.m3u8", read); err == nil || !strings.HasPrefix(err.Error(), "240p/playlist.m3u8: ") {
			t.Errorf("error %v, want one naming 240p/playlist.m3u8", err)
		}
	})
}

// vod is a VOD media playlist of two segments.
func vod(first string, d1 float64, second string, d2 float64) string {
	p := MediaPlaylist{Type: PlaylistVOD, Ended: true, Segments: []Segment{{URI: first, Duration: d1}, {URI: second, Duration: d2}}}
	return string(p.Marshal())
}
