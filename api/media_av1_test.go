package api

import (
	"net/http"
	"testing"
)

// av1Rung is an AV1 rendition added to a published ladder: its directory is named after its
// H.264 rung, with the -av1 suffix (media.WithAV1).
var av1Rung = map[string]string{
	"hls/360p-av1/playlist.m3u8": "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
		"#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"c00000_a1_init.mp4\"\n" +
		"#EXTINF:2.000000,\nc00000_a1_00000.m4s\n#EXT-X-ENDLIST\n",
	"hls/360p-av1/c00000_a1_init.mp4":  "\x00\x00\x00\x10ftypiso6",
	"hls/360p-av1/c00000_a1_00000.m4s": "\x00\x00\x00\x08moof",
}

// TestServeAV1Rungs: the playlist and segments of an AV1 rung are served like any rung's;
// the API once refused rendition directories with a hyphen, so players saw AV1 variants in
// the master playlist and 404 on each of their files.
func TestServeAV1Rungs(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	id := e.publishVideo(owner, "AV1", av1Rung)
	base := mediaPrefix + id + "/"
	for rel, ct := range map[string]string{
		"360p-av1/playlist.m3u8":       "application/vnd.apple.mpegurl",
		"360p-av1/c00000_a1_init.mp4":  "video/mp4",
		"360p-av1/c00000_a1_00000.m4s": "video/mp4",
	} {
		if r := e.must(http.StatusOK, "GET", base+rel, "", nil); r.header.Get("Content-Type") != ct {
			t.Errorf("%s: Content-Type %q, want %s", rel, r.header.Get("Content-Type"), ct)
		}
	}
	for _, rel := range []string{"-av1/playlist.m3u8", "360p--/../playlist.m3u8"} {
		if r := e.do("GET", base+rel, "", nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", rel, r.status)
		}
	}
}
