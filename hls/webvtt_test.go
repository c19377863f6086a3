package hls

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseWebVTT(t *testing.T) {
	valid := []struct {
		name, in, text string
		cues           int
		language       string
	}{
		{"two cues with markup", "WEBVTT\n\n1\n00:00.500 --> 00:02.000\nHello <b>brave</b> new world\n\n00:00:02.000 --> 00:00:04.000 align:start\n<v Narrator>Second line &amp; more</v>\n", "Hello brave new world\nSecond line & more", 2, ""},
		{"header text, metadata and a note", "WEBVTT - sous-titres\nKind: captions\nLanguage: fr\n\nNOTE une note\n\n00:01.000 --> 00:03.000\nBonjour le monde\n", "Bonjour le monde", 1, "fr"},
		{"BOM and CRLF", "\ufeffWEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\nOne\r\ntwo\r\n", "One two", 1, ""},
		{"hours beyond 99", "WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nlate\n", "late", 1, ""},
		{"no spaces around the arrow", "WEBVTT\n\n00:01.000-->00:02.000\nx\n", "x", 1, ""},
		{"style block and empty cue", "WEBVTT\n\nSTYLE\n::cue { color: red }\n\n00:01.000 --> 00:02.000\n", "", 1, ""},
		{"timestamps inside a cue", "WEBVTT\n\n00:01.000 --> 00:04.000\nkaraoke <00:02.000>style&nbsp;cue\n", "karaoke style cue", 1, ""},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			v, err := ParseWebVTT([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if v.Text != c.text || v.Cues != c.cues || v.Language != c.language {
				t.Fatalf("text %q, %d cues, language %q; want %q, %d, %q", v.Text, v.Cues, v.Language, c.text, c.cues, c.language)
			}
			if bytes.Contains(v.Body, []byte("\r")) || bytes.HasPrefix(v.Body, []byte("\ufeff")) {
				t.Fatalf("body not normalised: %q", v.Body)
			}
		})
	}
	invalid := []struct{ name, in, want string }{
		{"no header", "00:01.000 --> 00:02.000\nx\n", "line 1: "},
		{"WEBVTT glued to text", "WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n", "line 1: "},
		{"empty", "", "line 1: "},
		{"no cues", "WEBVTT\n\nNOTE nothing\n", "no cues"},
		{"cue in the header", "WEBVTT\n00:01.000 --> 00:02.000\nx\n", "line 2: "},
		{"bad start", "WEBVTT\n\n00:01.000 --> 00:02.000\na\n\n0:03.000 --> 00:04.000\nb\n", "line 6: the cue start \"0:03.000\""},
		{"bad end", "WEBVTT\n\n00:01.000 --> 00:02,000\na\n", "line 3: the cue end \"00:02,000\""},
		{"minutes over 59", "WEBVTT\n\n00:60:00.000 --> 01:00:01.000\na\n", "line 3: "},
		{"end before start", "WEBVTT\n\n00:05.000 --> 00:04.000\na\n", "line 3: the cue ends (00:04.000) before or when it starts (00:05.000)"},
		{"end equals start", "WEBVTT\n\n00:05.000 --> 00:05.000\na\n", "line 3: "},
		{"identifier without timing", "WEBVTT\n\nintro\nHello\n", "line 4: expected a cue timing line"},
		{"arrow in cue text", "WEBVTT\n\n00:01.000 --> 00:02.000\na\n00:03.000 --> 00:04.000\n", "line 5: "},
		{"invalid UTF-8", "WEBVTT\n\n00:01.000 --> 00:02.000\ncaf\xe9\n", "line 4: the file is not valid UTF-8"},
		{"NUL", "WEBVTT\n\n00:01.000 --> 00:02.000\na\x00\n", "line 4: "},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseWebVTT([]byte(c.in))
			var vttErr *WebVTTError
			if !errors.As(err, &vttErr) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a *WebVTTError containing %q", err, c.want)
			}
		})
	}
}

func TestParseWebVTTNoCues(t *testing.T) {
	if _, err := ParseWebVTT([]byte("WEBVTT\n\nNOTE silence\n")); !errors.Is(err, ErrNoCues) {
		t.Fatalf("error %v, want ErrNoCues", err)
	}
}

func TestWithTimestampMap(t *testing.T) {
	const mapping = "X-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000"
	for in, want := range map[string]string{
		"WEBVTT\n\n00:01.000 --> 00:02.000\na\n":                                            "WEBVTT\n" + mapping + "\n\n00:01.000 --> 00:02.000\na\n",
		"WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:0\n\n00:01.000 --> 00:02.000\na": "WEBVTT\n" + mapping + "\n\n00:01.000 --> 00:02.000\na",
	} {
		if got := string(WithTimestampMap([]byte(in), 90000)); got != want {
			t.Errorf("WithTimestampMap(%q, 90000) = %q, want %q", in, got, want)
		}
	}
}

func TestSubtitlePlaylist(t *testing.T) {
	got := SubtitlePlaylist("captions.vtt", 6.5)
	p, err := ParseMediaPlaylist(got)
	if err != nil {
		t.Fatalf("%v:\n%s", err, got)
	}
	if p.Type != PlaylistVOD || p.TargetDuration != 7 || len(p.Segments) != 1 || p.Segments[0].URI != "captions.vtt" || p.Duration() != 6.5 {
		t.Errorf("subtitle playlist %+v:\n%s", p, got)
	}
}
