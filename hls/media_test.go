package hls

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMediaPlaylistMarshal(t *testing.T) {
	p := &MediaPlaylist{
		Type: PlaylistVOD,
		Segments: []Segment{
			{URI: "c0_a1_0.ts", Duration: 4, Bytes: 1000},
			{URI: "c0_a1_1.ts", Duration: 4.004},
			{URI: "c1_a2_2.ts", Duration: 2.5},
		},
	}
	want := `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:4.000000,
c0_a1_0.ts
#EXTINF:4.004000,
c0_a1_1.ts
#EXTINF:2.500000,
c1_a2_2.ts
#EXT-X-ENDLIST
`
	if got := string(p.Marshal()); got != want {
		t.Errorf("Marshal() got\n%s\nwant\n%s", got, want)
	}
}

func TestMediaPlaylistMarshalMap(t *testing.T) {
	p := &MediaPlaylist{Type: PlaylistEvent, Map: "c00000_a1_init.mp4",
		Segments: []Segment{{URI: "c00000_a1_00000.m4s", Duration: 4}}}
	want := `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="c00000_a1_init.mp4"
#EXTINF:4.000000,
c00000_a1_00000.m4s
`
	if got := string(p.Marshal()); got != want {
		t.Errorf("Marshal() got\n%s\nwant\n%s", got, want)
	}
}

func TestMediaPlaylistTargetDuration(t *testing.T) {
	segs := func(ds ...float64) []Segment {
		out := make([]Segment, len(ds))
		for i, d := range ds {
			out[i] = Segment{URI: "s.ts", Duration: d}
		}
		return out
	}
	tests := []struct {
		name string
		p    MediaPlaylist
		want int
	}{
		{"NTSC drift rounds down", MediaPlaylist{Segments: segs(4.004, 4.4)}, 4},
		{"half a second rounds up", MediaPlaylist{Segments: segs(4.004, 4.5)}, 5},
		{"rounds the value as written", MediaPlaylist{Segments: segs(4.4999996)}, 5},
		{"short last segment", MediaPlaylist{Segments: segs(4, 4, 1.2)}, 4},
		{"nominal sets a floor", MediaPlaylist{NominalDuration: 4, Segments: segs(3.4)}, 4},
		{"nominal with float noise", MediaPlaylist{NominalDuration: 4.0000000001, Segments: segs(2)}, 4},
		{"fractional nominal rounds up", MediaPlaylist{NominalDuration: 2.5}, 3},
		{"segment longer than nominal wins", MediaPlaylist{NominalDuration: 4, Segments: segs(6.2)}, 6},
		{"empty event playlist uses nominal", MediaPlaylist{Type: PlaylistEvent, NominalDuration: 6}, 6},
		{"nothing known gives 1", MediaPlaylist{}, 1},
		{"explicit value kept", MediaPlaylist{TargetDuration: 10, Segments: segs(4)}, 10},
		{"explicit value raised to stay valid", MediaPlaylist{TargetDuration: 3, Segments: segs(4.6)}, 5},
		{"explicit value beats nominal", MediaPlaylist{TargetDuration: 8, NominalDuration: 4}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMediaPlaylist(tt.p.Marshal())
			if err != nil {
				t.Fatalf("ParseMediaPlaylist(Marshal()) error: %v", err)
			}
			if got.TargetDuration != tt.want {
				t.Errorf("TARGETDURATION got %d, want %d", got.TargetDuration, tt.want)
			}
		})
	}
}

func TestMediaPlaylistEndList(t *testing.T) {
	seg := []Segment{{URI: "a.ts", Duration: 4}}
	tests := []struct {
		name string
		p    MediaPlaylist
		want bool
	}{
		{"growing event", MediaPlaylist{Type: PlaylistEvent, Segments: seg}, false},
		{"finished event", MediaPlaylist{Type: PlaylistEvent, Segments: seg, Ended: true}, true},
		{"VOD always ends", MediaPlaylist{Type: PlaylistVOD, Segments: seg}, true},
		{"untyped open", MediaPlaylist{Segments: seg}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bytes.Contains(tt.p.Marshal(), []byte("#EXT-X-ENDLIST"))
			if got != tt.want {
				t.Errorf("has #EXT-X-ENDLIST got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMediaPlaylistRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   MediaPlaylist
		want MediaPlaylist // what parsing the marshalled playlist gives
	}{
		{
			name: "VOD",
			in: MediaPlaylist{Type: PlaylistVOD, Segments: []Segment{
				{URI: "c0_a1_0.ts", Duration: 4, Bytes: 123},
				{URI: "c0_a1_1.ts", Duration: 3.966667, Bytes: 456},
			}},
			want: MediaPlaylist{Type: PlaylistVOD, TargetDuration: 4, Ended: true, Segments: []Segment{
				{URI: "c0_a1_0.ts", Duration: 4},
				{URI: "c0_a1_1.ts", Duration: 3.966667},
			}},
		},
		{
			name: "growing EVENT",
			in: MediaPlaylist{Type: PlaylistEvent, NominalDuration: 4, Segments: []Segment{
				{URI: "https://cdn.example/v/720p/c0_a1_0.ts?sig=a,b", Duration: 4.004},
			}},
			want: MediaPlaylist{Type: PlaylistEvent, TargetDuration: 4, Segments: []Segment{
				{URI: "https://cdn.example/v/720p/c0_a1_0.ts?sig=a,b", Duration: 4.004},
			}},
		},
		{
			name: "untyped with media sequence",
			in:   MediaPlaylist{TargetDuration: 6, MediaSequence: 42, Ended: true, Segments: []Segment{{URI: "x.ts", Duration: 6}}},
			want: MediaPlaylist{TargetDuration: 6, MediaSequence: 42, Ended: true, Segments: []Segment{{URI: "x.ts", Duration: 6}}},
		},
		{
			name: "fMP4 with an init segment",
			in: MediaPlaylist{Type: PlaylistVOD, Map: "c00000_a1_init.mp4", Segments: []Segment{
				{URI: "c00000_a1_00000.m4s", Duration: 4, Bytes: 99},
			}},
			want: MediaPlaylist{Type: PlaylistVOD, TargetDuration: 4, Ended: true, Map: "c00000_a1_init.mp4", Segments: []Segment{
				{URI: "c00000_a1_00000.m4s", Duration: 4},
			}},
		},
		{
			name: "empty EVENT",
			in:   MediaPlaylist{Type: PlaylistEvent, NominalDuration: 4},
			want: MediaPlaylist{Type: PlaylistEvent, TargetDuration: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.in.Marshal()
			got, err := ParseMediaPlaylist(b)
			if err != nil {
				t.Fatalf("ParseMediaPlaylist error: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("round trip got %+v, want %+v", *got, tt.want)
			}
			if again := got.Marshal(); !bytes.Equal(again, b) {
				t.Errorf("second Marshal got\n%s\nwant\n%s", again, b)
			}
		})
	}
}

func TestMediaPlaylistMarshalKeepsURIOnOneLine(t *testing.T) {
	p := &MediaPlaylist{Type: PlaylistVOD, Segments: []Segment{{URI: "a.ts\n#EXT-X-ENDLIST\r\n", Duration: 4}}}
	got, err := ParseMediaPlaylist(p.Marshal())
	if err != nil {
		t.Fatalf("ParseMediaPlaylist error: %v", err)
	}
	if len(got.Segments) != 1 || got.Segments[0].URI != "a.ts#EXT-X-ENDLIST" {
		t.Errorf("segments got %+v, want one with URI %q", got.Segments, "a.ts#EXT-X-ENDLIST")
	}
}

func TestParseMediaPlaylistFFmpeg(t *testing.T) {
	// As written by ffmpeg's hls muxer (-hls_playlist_type vod,
	// -hls_flags independent_segments), plus things other writers add:
	// CRLF, a BOM, titles, comments, discontinuities and unknown tags.
	in := "\uFEFF#EXTM3U\r\n" +
		"#EXT-X-VERSION:3\r\n" +
		"#EXT-X-TARGETDURATION:4\r\n" +
		"#EXT-X-MEDIA-SEQUENCE:0\r\n" +
		"#EXT-X-PLAYLIST-TYPE:VOD\r\n" +
		"#EXT-X-INDEPENDENT-SEGMENTS\r\n" +
		"#EXT-X-ALLOW-CACHE:YES\r\n" +
		"\r\n" +
		"#EXTINF:4.000000,\r\n" +
		"stream_0_0.ts\r\n" +
		"# a comment\r\n" +
		"#EXTINF:4.170833,first chapter\r\n" +
		"#EXT-X-DISCONTINUITY\r\n" +
		"stream_0_1.ts\r\n" +
		"#EXTINF:1.5\r\n" +
		"stream_0_2.ts\r\n" +
		"#EXT-X-ENDLIST\r\n"
	got, err := ParseMediaPlaylist([]byte(in))
	if err != nil {
		t.Fatalf("ParseMediaPlaylist error: %v", err)
	}
	want := &MediaPlaylist{Type: PlaylistVOD, TargetDuration: 4, Ended: true, Segments: []Segment{
		{URI: "stream_0_0.ts", Duration: 4},
		{URI: "stream_0_1.ts", Duration: 4.170833},
		{URI: "stream_0_2.ts", Duration: 1.5},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if d, wantD := got.Duration(), 9.670833; d < wantD-1e-9 || d > wantD+1e-9 {
		t.Errorf("Duration() got %v, want %v", d, wantD)
	}
}

func TestParseMediaPlaylistErrors(t *testing.T) {
	const head = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n"
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantMsg  string
	}{
		{"empty", "", 1, "#EXTM3U"},
		{"garbage", "<html><body>502 Bad Gateway</body></html>", 1, "#EXTM3U"},
		{"header not first", "\n#EXTM3U\n#EXT-X-TARGETDURATION:4\n", 1, "#EXTM3U"},
		{"missing target duration", "#EXTM3U\n#EXTINF:4,\na.ts\n#EXT-X-ENDLIST\n", 4, "missing #EXT-X-TARGETDURATION"},
		{"EXTINF followed by EXTINF", head + "#EXTINF:4,\n#EXTINF:4,\na.ts\n", 3, "not followed by a URI"},
		{"EXTINF at the end", head + "#EXTINF:4,\na.ts\n#EXTINF:4,\n", 5, "not followed by a URI"},
		{"EXTINF before ENDLIST", head + "#EXTINF:4,\n#EXT-X-ENDLIST\n", 3, "not followed by a URI"},
		{"URI without EXTINF", head + "a.ts\n", 3, "not preceded by #EXTINF"},
		{"duration not a number", head + "#EXTINF:four,\na.ts\n", 3, "invalid #EXTINF duration"},
		{"negative duration", head + "#EXTINF:-4,\na.ts\n", 3, "invalid #EXTINF duration"},
		{"NaN duration", head + "#EXTINF:NaN,\na.ts\n", 3, "invalid #EXTINF duration"},
		{"fractional target", "#EXTM3U\n#EXT-X-TARGETDURATION:4.5\n", 2, "invalid #EXT-X-TARGETDURATION"},
		{"negative target", "#EXTM3U\n#EXT-X-TARGETDURATION:-4\n", 2, "invalid #EXT-X-TARGETDURATION"},
		{"duplicate target", head + "#EXT-X-TARGETDURATION:5\n", 3, "duplicate"},
		{"bad media sequence", head + "#EXT-X-MEDIA-SEQUENCE:x\n", 3, "invalid #EXT-X-MEDIA-SEQUENCE"},
		{"bad playlist type", head + "#EXT-X-PLAYLIST-TYPE:LIVE\n", 3, "invalid #EXT-X-PLAYLIST-TYPE"},
		{"bad version", "#EXTM3U\n#EXT-X-VERSION:three\n", 2, "invalid #EXT-X-VERSION"},
		{"master playlist", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n", 2, "master playlist"},
		{"map without URI", head + "#EXT-X-MAP:BYTERANGE=\"1@0\"\n", 3, "needs a quoted URI"},
		{"map with unquoted URI", head + "#EXT-X-MAP:URI=init.mp4\n", 3, "needs a quoted URI"},
		{"second map", head + "#EXT-X-MAP:URI=\"a.mp4\"\n#EXT-X-MAP:URI=\"b.mp4\"\n", 4, "second #EXT-X-MAP"},
		{"line numbers count blank lines", head + "\n\n#EXTINF:x,\na.ts\n", 5, "invalid #EXTINF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMediaPlaylist([]byte(tt.in))
			checkParseError(t, err, tt.wantLine, tt.wantMsg)
		})
	}
}

// checkParseError asserts that err is a *ParseError wrapping
// ErrInvalidPlaylist at the given line with msg in its text.
func checkParseError(tb testing.TB, err error, wantLine int, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("error got nil, want one at line %d", wantLine)
	}
	if !errors.Is(err, ErrInvalidPlaylist) {
		tb.Errorf("errors.Is(%v, ErrInvalidPlaylist) got false, want true", err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		tb.Fatalf("error %v is not a *ParseError", err)
	}
	if pe.Line != wantLine {
		tb.Errorf("line got %d, want %d (%v)", pe.Line, wantLine, err)
	}
	if !strings.Contains(err.Error(), msg) {
		tb.Errorf("error got %q, want it to contain %q", err, msg)
	}
}

func TestMediaPlaylistDuration(t *testing.T) {
	tests := []struct {
		name string
		segs []Segment
		want float64
	}{
		{"empty", nil, 0},
		{"one", []Segment{{Duration: 4}}, 4},
		{"several", []Segment{{Duration: 4}, {Duration: 4}, {Duration: 1.5}}, 9.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &MediaPlaylist{Segments: tt.segs}
			if got := p.Duration(); got != tt.want {
				t.Errorf("Duration() got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCutAt: a playlist cut at a moment keeps the segments that end by then, within the
// rounding of six-decimal durations, and is never ended.
func TestCutAt(t *testing.T) {
	p := &MediaPlaylist{Type: PlaylistEvent, Ended: true, Segments: []Segment{
		{URI: "a.ts", Duration: 2.002}, {URI: "b.ts", Duration: 1.999998}, {URI: "c.ts", Duration: 2}}}
	for _, c := range []struct {
		at   float64
		want int
	}{{0, 0}, {2, 1}, {3.9, 1}, {4, 2}, {5.98, 2}, {6, 3}, {100, 3}} {
		cut := p.CutAt(c.at)
		if len(cut.Segments) != c.want || cut.Ended {
			t.Errorf("CutAt(%g): %d segments, ended %v; want %d, not ended", c.at, len(cut.Segments), cut.Ended, c.want)
		}
	}
	if len(p.Segments) != 3 || !p.Ended {
		t.Errorf("CutAt changed the playlist it cut")
	}
}
