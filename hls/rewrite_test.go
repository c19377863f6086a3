package hls

import (
	"strings"
	"testing"
)

func TestRewriteURIs(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"playlist with CRLF",
			"#EXTM3U\r\n#EXT-X-MAP:URI=\"init.mp4\"\r\n#EXTINF:4,\r\nseg.ts\r\nhttps://cdn.example/abs.ts\r\n/root.ts\r\nq.ts?x=1\r\n",
			"#EXTM3U\r\n#EXT-X-MAP:URI=\"init.mp4?token=t\"\r\n#EXTINF:4,\r\nseg.ts?token=t\r\nhttps://cdn.example/abs.ts\r\n/root.ts\r\nq.ts?x=1&token=t\r\n"},
		{"storyboard",
			"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n",
			"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg?token=t#xywh=0,0,160,90\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(RewriteURIs([]byte(c.in), "token=t")); got != c.want {
				t.Fatalf("RewriteURIs:\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestAddSubtitleRenditions(t *testing.T) {
	master := "#EXTM3U\n#EXT-X-VERSION:3\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\n360p/playlist.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240,CODECS=\"avc1.640015,mp4a.40.2\"\r\n240p/playlist.m3u8\n"
	if got := string(AddSubtitleRenditions([]byte(master), "subs", nil)); got != master {
		t.Fatalf("without tracks the master changed:\n%s", got)
	}
	tracks := []SubtitleTrack{
		{Language: "en", Name: "English", URI: "subs/en/playlist.m3u8"},
		{Language: "en-GB", Name: `English "UK"`, URI: "subs/en-GB/playlist.m3u8"},
		{Language: "en-US", Name: "English", URI: "subs/en-US/playlist.m3u8"},
	}
	got := AddSubtitleRenditions([]byte(master), "subs", tracks)
	p, err := ParseMasterPlaylist(got)
	if err != nil {
		t.Fatalf("%v:\n%s", err, got)
	}
	var names []string
	for _, r := range p.Renditions {
		if r.Type != "SUBTITLES" || r.GroupID != "subs" {
			t.Errorf("rendition %+v, want a SUBTITLES rendition of subs", r)
		}
		names = append(names, r.Name+"|"+r.Language+"|"+r.URI)
	}
	want := []string{"English|en|subs/en/playlist.m3u8", "English UK|en-GB|subs/en-GB/playlist.m3u8", "English (en-US)|en-US|subs/en-US/playlist.m3u8"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("renditions %v, want %v", names, want)
	}
	for _, v := range p.Variants {
		if v.Subtitles != "subs" {
			t.Errorf("variant %s: SUBTITLES %q, want subs", v.URI, v.Subtitles)
		}
	}
	if !strings.Contains(string(got), "\"subs\"\r\n240p/playlist.m3u8") {
		t.Errorf("the CRLF of a variant line was not kept:\n%q", got)
	}
}
