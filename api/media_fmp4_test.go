package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/hls"
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

// TestDASHCaptions: a ready video's caption tracks are served in its DASH manifest as text
// adaptation sets whose WebVTT file carries the video's media token like every other URI of a
// private video's manifest, and a manifest that already lists text sets is left alone.
func TestDASHCaptions(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner")
	m := hls.DASHManifest{Duration: 6.5, Sets: []hls.DASHAdaptationSet{{ContentType: "video", MimeType: "video/mp4",
		Representations: []hls.DASHRepresentation{{ID: "360p", Codecs: "avc1.64001e", Timescale: 90000, PresentationTimeOffset: 90000,
			Init: "360p/c00000_a1_init.mp4", Segments: []hls.DASHSegment{{URI: "360p/c00000_a1_00000.m4s", Time: 90000, Duration: 585000}}}}}}}
	mpd, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, visibility string }{{"public", store.Public}, {"private", store.Private}} {
		t.Run(tt.name, func(t *testing.T) {
			id := e.readyVideo(owner, tt.visibility, "Captioned CMAF")
			e.putBlob(layout.Ladder(id, layout.DASHManifest), string(mpd))
			base := mediaPrefix + id + "/"
			_, query, _ := strings.Cut(e.apiVideo(id, owner.Token).Playback.MasterUrl, "?")
			withQuery := func(rel string) string {
				if query == "" {
					return rel
				}
				return rel + "?" + query
			}
			plain := get(t, e.URL+base+withQuery(layout.DASHManifest), nil)
			if plain.status != http.StatusOK || strings.Contains(string(plain.body), `contentType="text"`) {
				t.Fatalf("manifest of a video without captions: status %d:\n%s", plain.status, plain.body)
			}
			if r := e.putVTT(owner.Token, id, "pt-BR", vttFrench); r.status != http.StatusOK {
				t.Fatalf("PUT caption: status %d: %s", r.status, r.body)
			}
			r := get(t, e.URL+base+withQuery(layout.DASHManifest), nil)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/dash+xml" {
				t.Fatalf("manifest: status %d, type %q", r.status, r.header.Get("Content-Type"))
			}
			got, err := hls.ParseDASHManifest(r.body)
			if err != nil {
				t.Fatalf("%v:\n%s", err, r.body)
			}
			if len(got.Sets) != 2 || got.Sets[1].ContentType != "text" || got.Sets[1].Lang != "pt-BR" ||
				got.Sets[1].Label != "Português (Brasil)" || got.Sets[1].Role != "subtitle" || len(got.Sets[1].Representations) != 1 {
				t.Fatalf("sets %+v, want the video and a pt-BR text set:\n%s", got.Sets, r.body)
			}
			uri := got.Sets[1].Representations[0].BaseURL
			if want := withQuery("subs/pt-BR/captions.vtt"); uri != want {
				t.Errorf("caption URL %q, want %q", uri, want)
			}
			if seg := got.Sets[0].Representations[0].Init; seg != withQuery("360p/c00000_a1_init.mp4") {
				t.Errorf("init URL %q: the media are signed differently from the caption", seg)
			}
			vtt := get(t, e.URL+base+uri, nil)
			if vtt.status != http.StatusOK || !strings.Contains(string(vtt.body), "\nBonjour le monde\n") {
				t.Errorf("the manifest's caption URL: status %d:\n%s", vtt.status, vtt.body)
			}
			if tt.visibility == store.Private {
				if r := get(t, e.URL+base+"subs/pt-BR/captions.vtt", nil); r.status != http.StatusForbidden {
					t.Errorf("the caption without its token: status %d, want 403", r.status)
				}
			}

			// A manifest that lists text sets itself keeps its own.
			own, err := hls.AddDASHTextSets(mpd, []hls.SubtitleTrack{{Language: "en", Name: "English", URI: "en.vtt"}})
			if err != nil {
				t.Fatal(err)
			}
			e.putBlob(layout.Ladder(id, layout.DASHManifest), string(own))
			again := get(t, e.URL+base+withQuery(layout.DASHManifest), nil)
			if n := strings.Count(string(again.body), `contentType="text"`); n != 1 || !strings.Contains(string(again.body), `lang="en"`) {
				t.Errorf("a manifest with its own text set got %d text sets:\n%s", n, again.body)
			}
		})
	}
}
