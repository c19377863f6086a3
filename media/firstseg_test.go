package media

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage/layout"
)

// shortFirstSplit is ladderSplit planned with a 2 s first segment of 4 s
// segments.
func shortFirstSplit() *SplitResult {
	split := ladderSplit()
	split.Plan = &Plan{Segment: 4 * time.Second, FirstSegment: 2 * time.Second}
	return split
}

// shortFirstLengths are the segments of a 9 s video on that grid, one per
// chunk: 2 s, 4 s, and the last 3 s.
var shortFirstLengths = []float64{2, 4, 3}

// shortFirst gives the chunks and audio segments made by mk the lengths
// and starts of shortFirstLengths.
func shortFirst(chunks []*ChunkResult, audio *AudioResult) {
	start := 0.0
	for i, d := range shortFirstLengths {
		if i < len(chunks) && chunks[i] != nil {
			chunks[i].Segments[0].Start, chunks[i].Segments[0].Duration = start, d
		}
		if i < len(audio.Segments) {
			audio.Segments[i].Start, audio.Segments[i].Duration = start, d
		}
		start += d
	}
}

// TestBuildPlaylistsShortFirstSegment: every playlist lists the short first
// segment as it is, and announces the long segments' target duration from
// its first publication on — a growing playlist whose target changed on a
// reload would break RFC 8216 — and in the final one.
func TestBuildPlaylistsShortFirstSegment(t *testing.T) {
	c := "avc1.64001f"
	for _, tt := range []struct {
		typ     hls.PlaylistType
		chunks  int
		extinfs []float64
	}{{hls.PlaylistEvent, 1, shortFirstLengths[:1]}, {hls.PlaylistVOD, 3, shortFirstLengths}} {
		t.Run(string(tt.typ), func(t *testing.T) {
			chunks := []*ChunkResult{chunkResult(0, c, c), chunkResult(1, c, c), chunkResult(2, c, c)}[:tt.chunks]
			audio := audioResult(tt.chunks)
			shortFirst(chunks, audio)
			p := BuildPlaylists(shortFirstSplit(), chunks, audio, tt.typ)
			if len(p.Media) != 3 || p.Master == nil {
				t.Fatalf("%d media playlists and master %v, want two rungs, audio and a master", len(p.Media), p.Master != nil)
			}
			for _, f := range p.Media {
				pl := mediaPlaylist(t, p, f.Name)
				var got []float64
				for _, s := range pl.Segments {
					got = append(got, s.Duration)
				}
				if !slices.Equal(got, tt.extinfs) {
					t.Errorf("%s EXTINF %v, want %v", f.Name, got, tt.extinfs)
				}
				if !bytes.Contains(f.Text, []byte("#EXT-X-TARGETDURATION:4\n")) {
					t.Errorf("%s announces another target duration than the 4 s segments':\n%s", f.Name, f.Text)
				}
			}
		})
	}
}

// TestBuildPlaylistsWithoutShortFirstSegment: a plan without a short first
// segment, as every plan recorded before it existed, gives the playlists
// and manifest of a split result without a plan: byte for byte.
func TestBuildPlaylistsWithoutShortFirstSegment(t *testing.T) {
	for _, typ := range []hls.PlaylistType{hls.PlaylistEvent, hls.PlaylistVOD} {
		chunks := []*ChunkResult{fmp4Chunk(0, "x"), fmp4Chunk(1, "x"), fmp4Chunk(2, "x")}
		audio := fmp4Audio(3)
		shortFirst(chunks, audio) // a 2 s first segment the plan does not know of
		want := BuildPlaylists(ladderSplit(), chunks[:1], audio, typ)
		split := ladderSplit()
		split.Plan = &Plan{Segment: 4 * time.Second}
		got := BuildPlaylists(split, chunks[:1], audio, typ)
		if len(got.Media) != len(want.Media) {
			t.Fatalf("%s: %d playlists, want %d", typ, len(got.Media), len(want.Media))
		}
		for i := range got.Media {
			if !bytes.Equal(got.Media[i].Text, want.Media[i].Text) {
				t.Errorf("%s %s:\n%s\nwant\n%s", typ, got.Media[i].Name, got.Media[i].Text, want.Media[i].Text)
			}
		}
	}
}

// TestDASHShortFirstSegment: the manifest's segment timelines place the
// short first segment and every later one exactly, in every representation
// and the audio, and a growing manifest asks for a reload once a long
// segment, not once the short one.
func TestDASHShortFirstSegment(t *testing.T) {
	chunks := []*ChunkResult{fmp4Chunk(0, "x"), fmp4Chunk(1, "x"), fmp4Chunk(2, "x")}
	audio := fmp4Audio(3)
	shortFirst(chunks, audio)
	m := manifestOf(t, BuildPlaylists(shortFirstSplit(), chunks, audio, hls.PlaylistVOD))
	if m == nil || m.Duration != 9 {
		t.Fatalf("manifest %+v, want a static one of 9 s", m)
	}
	for _, set := range m.Sets {
		for _, r := range set.Representations {
			ts := uint64(90000)
			if set.ContentType == "audio" {
				ts = 48000
			}
			// Times are on the output timeline, which starts one second in.
			want := []uint64{ts, 3 * ts, 7 * ts}
			var got []uint64
			for i, s := range r.Segments {
				got = append(got, s.Time)
				if d := uint64(shortFirstLengths[i] * float64(ts)); s.Duration != d {
					t.Errorf("%s segment %d lasts %d, want %d", r.ID, i, s.Duration, d)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s segments at %v, want %v", r.ID, got, want)
			}
		}
	}

	growing := BuildPlaylists(shortFirstSplit(), chunks[:1], audio, hls.PlaylistEvent)
	i := slices.IndexFunc(growing.Media, func(f PlaylistFile) bool { return f.Name == layout.DASHManifest })
	if i < 0 {
		t.Fatal("no growing manifest")
	}
	if text := string(growing.Media[i].Text); !strings.Contains(text, `minimumUpdatePeriod="PT4S"`) {
		t.Errorf("growing manifest of the short first segment, want a reload every 4 s:\n%s", text)
	}
}
