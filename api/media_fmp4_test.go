package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/storage/layout"
)

// fmp4Ladder is a CMAF ladder two chunks into its transcode: a version 7 rendition playlist
// whose segments follow the first chunk's init segment, and the DASH manifest over the same files.
var fmp4Ladder = map[string]string{
	"hls/360p/playlist.m3u8": "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n" +
		"#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"c00000_a1_init.mp4\"\n" +
		"#EXTINF:2.000000,\nc00000_a1_00000.m4s\n#EXTINF:2.000000,\nc00000_a1_00001.m4s\n" +
		"#EXTINF:2.000000,\nc00001_a1_00002.m4s\n#EXTINF:2.000000,\nc00001_a1_00003.m4s\n",
	"hls/360p/c00000_a1_init.mp4":  "\x00\x00\x00\x10ftypiso6",
	"hls/360p/c00000_a1_00000.m4s": "\x00\x00\x00\x08moof",
	"hls/360p/c00001_a1_00002.m4s": "\x00\x00\x00\x08moof",
	"hls/manifest.mpd": `<?xml version="1.0"?><MPD type="dynamic"><Period><AdaptationSet><Representation id="360p">` +
		`<SegmentList><Initialization sourceURL="360p/c00000_a1_init.mp4"/><SegmentURL media="360p/c00000_a1_00000.m4s"/>` +
		`</SegmentList></Representation></AdaptationSet></Period></MPD>`,
}

// TestServeFMP4: fMP4 segments, init segments and the DASH manifest are served with their
// types and, for the owner of a video in flight, with the token in every URI (the playlist's
// EXT-X-MAP and the manifest's attributes too); others get the init segment and the screened
// segments only, never the manifest of a video still transcoding.
func TestServeFMP4(t *testing.T) {
	e, _ := newClassifierEnv(t, false)
	owner := e.user("owner")
	ladder := map[string]string{}
	for k, v := range growingLadder {
		if !strings.HasPrefix(k, "hls/360p/") {
			ladder[k] = v
		}
	}
	for k, v := range fmp4Ladder {
		ladder[k] = v
	}
	id := e.jobEndedVideo(owner, "CMAF", ladder)
	e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 1, nil))
	if err := e.srv.publisher.jobChanged(t.Context(), id, encodingJob(id, 1)); err != nil {
		t.Fatal(err)
	}
	base := mediaPrefix + id + "/"

	_, query, _ := strings.Cut(e.apiVideo(id, owner.Token).Playback.MasterUrl, "?")
	pl := e.must(http.StatusOK, "GET", base+"360p/playlist.m3u8?"+query, "", nil)
	if !strings.Contains(string(pl.body), `#EXT-X-MAP:URI="c00000_a1_init.mp4?`+query+`"`) {
		t.Errorf("the owner's playlist does not sign its init segment (%d bytes):\n%q", len(pl.body), pl.body)
	}
	mpd := e.must(http.StatusOK, "GET", base+layout.DASHManifest+"?"+query, "", nil)
	if ct := mpd.header.Get("Content-Type"); ct != "application/dash+xml" {
		t.Errorf("manifest Content-Type %q", ct)
	}
	for _, want := range []string{`sourceURL="360p/c00000_a1_init.mp4?` + query + `"`, `media="360p/c00000_a1_00000.m4s?` + query + `"`} {
		if !strings.Contains(string(mpd.body), want) {
			t.Errorf("the owner's manifest lacks %s:\n%s", want, mpd.body)
		}
	}
	for rel, ct := range map[string]string{"360p/c00000_a1_init.mp4": "video/mp4", "360p/c00001_a1_00002.m4s": "video/mp4"} {
		if r := e.must(http.StatusOK, "GET", base+rel+"?"+query, "", nil); r.header.Get("Content-Type") != ct {
			t.Errorf("%s: Content-Type %q, want %s", rel, r.header.Get("Content-Type"), ct)
		}
	}

	// Others: the first chunk was screened.
	if got := segmentsOf(e.must(http.StatusOK, "GET", base+"360p/playlist.m3u8", "", nil).body); strings.Join(got, " ") != "c00000_a1_00000.m4s c00000_a1_00001.m4s" {
		t.Errorf("others' playlist lists %v", got)
	}
	e.must(http.StatusOK, "GET", base+"360p/c00000_a1_init.mp4", "", nil)
	e.must(http.StatusOK, "GET", base+"360p/c00000_a1_00000.m4s", "", nil)
	for _, rel := range []string{"360p/c00001_a1_00002.m4s", layout.DASHManifest} {
		if r := e.do("GET", base+rel, "", nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s by others while in flight: status %d, want 404", rel, r.status)
		}
	}
}
