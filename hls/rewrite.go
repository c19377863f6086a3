package hls

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Playlists are edited as text when they are served: the renditions of caption tracks added
// after publication, and URIs signed for private media. Editing the text rather than
// re-marshalling the parsed playlist lets tags the parser does not model pass through
// untouched.

// uriAttr finds URI="…" attributes (EXT-X-MEDIA, EXT-X-MAP, EXT-X-I-FRAME-STREAM-INF).
var uriAttr = regexp.MustCompile(`URI="([^"]*)"`)

// RewriteURIs appends query (without "?") to every relative URI of an HLS playlist or a
// WebVTT storyboard: URI lines, URI attributes, and the image references of storyboard cues
// (file.jpg#xywh=…). Absolute URIs, line endings and everything else are kept.
func RewriteURIs(body []byte, query string) []byte {
	var out bytes.Buffer
	out.Grow(len(body) + 64)
	for _, line := range strings.SplitAfter(string(body), "\n") {
		text := strings.TrimRight(line, "\r\n")
		eol := line[len(text):]
		switch {
		case text == "" || strings.HasPrefix(text, "WEBVTT") || strings.Contains(text, "-->"):
			out.WriteString(line)
		case strings.HasPrefix(text, "#"):
			out.WriteString(uriAttr.ReplaceAllStringFunc(text, func(m string) string {
				uri := m[len(`URI="`) : len(m)-1]
				return `URI="` + withQuery(uri, query) + `"`
			}) + eol)
		default:
			out.WriteString(withQuery(text, query) + eol)
		}
	}
	return out.Bytes()
}

// withQuery adds query to a relative URI, before any #fragment; absolute URIs are left alone.
func withQuery(uri, query string) string {
	if strings.Contains(uri, "://") || strings.HasPrefix(uri, "/") {
		return uri
	}
	ref, frag, hasFrag := strings.Cut(uri, "#")
	sep := "?"
	if strings.Contains(ref, "?") {
		sep = "&"
	}
	ref += sep + query
	if hasFrag {
		ref += "#" + frag
	}
	return ref
}

// SubtitleTrack is one caption track offered in a master playlist.
type SubtitleTrack struct {
	Language string // BCP 47 tag
	Name     string // what players show in their menu
	URI      string // its media playlist, relative to the master
}

// AddSubtitleRenditions adds tracks to a master playlist as SUBTITLES renditions of group:
// an EXT-X-MEDIA line per track before the first variant, and SUBTITLES=group on every
// EXT-X-STREAM-INF. Names are made unique in the group, as RFC 8216 requires, by adding the
// language to a repeated one.
func AddSubtitleRenditions(master []byte, group string, tracks []SubtitleTrack) []byte {
	if len(tracks) == 0 {
		return master
	}
	var media strings.Builder
	names := map[string]bool{}
	for _, t := range tracks {
		// Quotes and line breaks cannot be escaped in a quoted-string.
		name := strings.NewReplacer(`"`, "", "\n", "", "\r", "").Replace(t.Name)
		if names[name] {
			name += " (" + t.Language + ")"
		}
		names[name] = true
		fmt.Fprintf(&media, `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="%s",NAME="%s",LANGUAGE="%s",DEFAULT=NO,AUTOSELECT=YES,URI="%s"`+"\n",
			group, name, t.Language, t.URI)
	}
	var out bytes.Buffer
	inserted := false
	for _, line := range strings.SplitAfter(string(master), "\n") {
		text := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(text, "#EXT-X-STREAM-INF:") {
			if !inserted {
				out.WriteString(media.String())
				inserted = true
			}
			out.WriteString(text + `,SUBTITLES="` + group + `"` + line[len(text):])
			continue
		}
		out.WriteString(line)
	}
	return out.Bytes()
}
