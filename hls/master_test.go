package hls

import (
	"bytes"
	"reflect"
	"testing"
)

func sampleMaster() *MasterPlaylist {
	return &MasterPlaylist{
		Renditions: []Rendition{
			{Type: "AUDIO", GroupID: "audio", Name: "English", Language: "en", URI: "audio/playlist.m3u8", Default: true, AutoSelect: true, Channels: "2"},
			{Type: "SUBTITLES", GroupID: "subs", Name: "Français, sous-titres", Language: "fr", URI: "subs/fr.m3u8", AutoSelect: true},
		},
		Variants: []Variant{
			{URI: "1080p/playlist.m3u8", Bandwidth: 6123457, AverageBandwidth: 4200001, Width: 1920, Height: 1080, FrameRate: 29.97,
				Codecs: []string{"avc1.640028", AACLowComplexity}, Audio: "audio", Subtitles: "subs"},
			{URI: "720p/playlist.m3u8", Bandwidth: 3000000, AverageBandwidth: 2100000, Width: 1280, Height: 720, FrameRate: 29.97,
				Codecs: []string{"avc1.64001f", AACLowComplexity}, Audio: "audio", Subtitles: "subs"},
			{URI: "audio/playlist.m3u8", Bandwidth: 140800, Codecs: []string{AACLowComplexity}, Audio: "audio"},
		},
	}
}

func TestMasterPlaylistMarshal(t *testing.T) {
	want := `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/playlist.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français, sous-titres",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,URI="subs/fr.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=6123457,AVERAGE-BANDWIDTH=4200001,RESOLUTION=1920x1080,FRAME-RATE=29.970,CODECS="avc1.640028,mp4a.40.2",AUDIO="audio",SUBTITLES="subs"
1080p/playlist.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2100000,RESOLUTION=1280x720,FRAME-RATE=29.970,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio",SUBTITLES="subs"
720p/playlist.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=140800,CODECS="mp4a.40.2",AUDIO="audio"
audio/playlist.m3u8
`
	if got := string(sampleMaster().Marshal()); got != want {
		t.Errorf("Marshal() got\n%s\nwant\n%s", got, want)
	}
}

func TestMasterPlaylistRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   *MasterPlaylist
	}{
		{"full ladder", sampleMaster()},
		{"single variant without extras", &MasterPlaylist{Variants: []Variant{{URI: "v.m3u8", Bandwidth: 800000}}}},
		{"fractional frame rate", &MasterPlaylist{Variants: []Variant{{URI: "v.m3u8", Bandwidth: 1, Width: 640, Height: 360, FrameRate: 23.976}}}},
		{"rendition without URI", &MasterPlaylist{
			Renditions: []Rendition{{Type: "AUDIO", GroupID: "a", Name: "main"}},
			Variants:   []Variant{{URI: "v.m3u8", Bandwidth: 1, Audio: "a"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.in.Marshal()
			got, err := ParseMasterPlaylist(b)
			if err != nil {
				t.Fatalf("ParseMasterPlaylist error: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("round trip got %+v, want %+v", got, tt.in)
			}
			if again := got.Marshal(); !bytes.Equal(again, b) {
				t.Errorf("second Marshal got\n%s\nwant\n%s", again, b)
			}
		})
	}
}

func TestMasterPlaylistMarshalSanitizes(t *testing.T) {
	m := &MasterPlaylist{
		Renditions: []Rendition{{Type: "AUDIO", GroupID: "a", Name: "Director's \"cut\"\ncommentary", URI: "a.m3u8"}},
		Variants:   []Variant{{URI: "v.m3u8\n#EXT-X-ENDLIST", Bandwidth: 1}},
	}
	got, err := ParseMasterPlaylist(m.Marshal())
	if err != nil {
		t.Fatalf("ParseMasterPlaylist error: %v\n%s", err, m.Marshal())
	}
	if name, want := got.Renditions[0].Name, "Director's cutcommentary"; name != want {
		t.Errorf("rendition name got %q, want %q", name, want)
	}
	if uri, want := got.Variants[0].URI, "v.m3u8#EXT-X-ENDLIST"; uri != want {
		t.Errorf("variant URI got %q, want %q", uri, want)
	}
}

func TestParseMasterPlaylistFFmpeg(t *testing.T) {
	// Shapes written by ffmpeg's hls muxer with -master_pl_name and
	// -var_stream_map (ffmpeg 5.1 hlsplaylist.c): DEFAULT before LANGUAGE,
	// no AUTOSELECT, a blank line after each URI; plus an I-frame playlist
	// and CLOSED-CAPTIONS=NONE from other packagers.
	in := `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud",NAME="audio_0",DEFAULT=YES,LANGUAGE="en",CHANNELS="2",URI="stream_2.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=140800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_aud"
stream_0.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=140800,AVERAGE-BANDWIDTH=130000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="group_aud",CLOSED-CAPTIONS=NONE
stream_1.m3u8

#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI="iframes.m3u8"
`
	got, err := ParseMasterPlaylist([]byte(in))
	if err != nil {
		t.Fatalf("ParseMasterPlaylist error: %v", err)
	}
	want := &MasterPlaylist{
		Renditions: []Rendition{{Type: "AUDIO", GroupID: "group_aud", Name: "audio_0", Default: true, Language: "en", Channels: "2", URI: "stream_2.m3u8"}},
		Variants: []Variant{
			{URI: "stream_0.m3u8", Bandwidth: 140800, Width: 1280, Height: 720, Codecs: []string{"avc1.64001f", "mp4a.40.2"}, Audio: "group_aud"},
			{URI: "stream_1.m3u8", Bandwidth: 140800, AverageBandwidth: 130000, Width: 640, Height: 360, Codecs: []string{"avc1.64001e", "mp4a.40.2"}, Audio: "group_aud"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseMasterPlaylistErrors(t *testing.T) {
	const head = "#EXTM3U\n#EXT-X-VERSION:3\n"
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantMsg  string
	}{
		{"no header", "#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n", 1, "#EXTM3U"},
		{"no variants", head, 2, "no #EXT-X-STREAM-INF"},
		{"STREAM-INF then STREAM-INF", head + "#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv.m3u8\n", 3, "not followed by a URI"},
		{"STREAM-INF at the end", head + "#EXT-X-STREAM-INF:BANDWIDTH=1\n", 3, "not followed by a URI"},
		{"URI without STREAM-INF", head + "v.m3u8\n", 3, "not preceded"},
		{"missing BANDWIDTH", head + "#EXT-X-STREAM-INF:RESOLUTION=1x1\nv.m3u8\n", 3, "missing BANDWIDTH"},
		{"quoted BANDWIDTH", head + "#EXT-X-STREAM-INF:BANDWIDTH=\"1\"\nv.m3u8\n", 3, "BANDWIDTH"},
		{"negative BANDWIDTH", head + "#EXT-X-STREAM-INF:BANDWIDTH=-1\nv.m3u8\n", 3, "BANDWIDTH"},
		{"bad RESOLUTION", head + "#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=1280*720\nv.m3u8\n", 3, "RESOLUTION"},
		{"bad FRAME-RATE", head + "#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE=fast\nv.m3u8\n", 3, "FRAME-RATE"},
		{"unterminated quote", head + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1\nv.m3u8\n", 3, "unterminated"},
		{"text after quote", head + "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1\"x\nv.m3u8\n", 3, "after quoted"},
		{"duplicate attribute", head + "#EXT-X-STREAM-INF:BANDWIDTH=1,BANDWIDTH=2\nv.m3u8\n", 3, "duplicate"},
		{"attribute without value", head + "#EXT-X-STREAM-INF:BANDWIDTH=1,JUNK\nv.m3u8\n", 3, "no value"},
		{"lower-case attribute", head + "#EXT-X-STREAM-INF:bandwidth=1\nv.m3u8\n", 3, "invalid attribute name"},
		{"MEDIA without TYPE", head + "#EXT-X-MEDIA:GROUP-ID=\"a\",NAME=\"a\"\n", 3, "missing TYPE"},
		{"MEDIA with bad DEFAULT", head + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\",DEFAULT=MAYBE\n", 3, "DEFAULT"},
		{"media playlist", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n", 2, "media playlist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMasterPlaylist([]byte(tt.in))
			checkParseError(t, err, tt.wantLine, tt.wantMsg)
		})
	}
}

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]attrValue
	}{
		{"commas inside quotes", `BANDWIDTH=1,CODECS="avc1.64001f,mp4a.40.2",AUDIO="a"`, map[string]attrValue{
			"BANDWIDTH": {value: "1"},
			"CODECS":    {value: "avc1.64001f,mp4a.40.2", quoted: true},
			"AUDIO":     {value: "a", quoted: true},
		}},
		{"equals inside quotes", `URI="a.m3u8?x=1,y=2"`, map[string]attrValue{"URI": {value: "a.m3u8?x=1,y=2", quoted: true}}},
		{"empty quoted value", `NAME=""`, map[string]attrValue{"NAME": {value: "", quoted: true}}},
		{"spaces after commas", `BANDWIDTH=1, RESOLUTION=2x2 , NAME="n"`, map[string]attrValue{
			"BANDWIDTH":  {value: "1"},
			"RESOLUTION": {value: "2x2"},
			"NAME":       {value: "n", quoted: true},
		}},
		{"trailing comma", `BANDWIDTH=1,`, map[string]attrValue{"BANDWIDTH": {value: "1"}}},
		{"empty list", ``, map[string]attrValue{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAttributes(tt.in)
			if err != nil {
				t.Fatalf("parseAttributes(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseAttributes(%q) got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
