package media

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage/layout"
)

// ladderSplit is a two-rung, three-chunk split result with audio.
func ladderSplit() *SplitResult {
	return &SplitResult{
		Video: &VideoSettings{Rungs: []Rung{{Name: "720p", Short: 720, Width: 1280, Height: 720},
			{Name: "360p", Short: 360, Width: 640, Height: 360}}, PeakFrameRate: Rational{Num: 30, Den: 1}, FrameStep: 1},
		Chunks: make([]ChunkSpec, 3),
		Audio:  &AudioSpec{},
	}
}

// chunkResult is chunk i's result: one 4 s segment per rung, each rung
// encoded as codecs[rung].
func chunkResult(i int, codecs ...string) *ChunkResult {
	c := &ChunkResult{Index: i, Segments: []SegmentTiming{{Index: i, Start: float64(4 * i), Duration: 4}}}
	for r, name := range []string{"720p", "360p"} {
		c.Rungs = append(c.Rungs, RungOutput{Name: name, Codec: codecs[r],
			Files: []SegmentFile{{Index: i, File: fmt.Sprintf("%s/c%05d_a1_%05d.ts", name, i, i), Bytes: 100_000}}})
	}
	return c
}

func audioResult(segments int) *AudioResult {
	a := &AudioResult{Codec: hls.AACLowComplexity}
	for i := range segments {
		a.Segments = append(a.Segments, AudioSegment{Index: i, File: fmt.Sprintf("audio/a1_%05d.ts", i), Start: float64(4 * i), Duration: 4, Bytes: 64_000})
	}
	return a
}

func mediaPlaylist(t *testing.T, p *Playlists, name string) *hls.MediaPlaylist {
	t.Helper()
	for _, f := range p.Media {
		if f.Name == name {
			pl, err := hls.ParseMediaPlaylist(f.Text)
			if err != nil {
				t.Fatalf("parse %s: %v\n%s", name, err, f.Text)
			}
			return pl
		}
	}
	return nil
}

func TestBuildPlaylistsGrowingPrefixStopsAtFirstMissingChunk(t *testing.T) {
	hi, lo := "avc1.64001f", "avc1.64001e"
	chunks := []*ChunkResult{chunkResult(0, hi, lo), nil, chunkResult(2, hi, lo)}
	p := BuildPlaylists(ladderSplit(), chunks, audioResult(3), hls.PlaylistEvent)
	for _, rung := range []string{"720p", "360p"} {
		pl := mediaPlaylist(t, p, layout.RungPlaylist(rung))
		if pl == nil {
			t.Fatalf("no %s playlist", rung)
		}
		if got, want := len(pl.Segments), 1; got != want {
			t.Errorf("%s lists %d segments, want %d (chunk 1 is missing, chunk 2 must wait)", rung, got, want)
		}
		if want := fmt.Sprintf("c%05d_a1_%05d.ts", 0, 0); pl.Segments[0].URI != want {
			t.Errorf("%s segment URI %q, want %q", rung, pl.Segments[0].URI, want)
		}
		if pl.Type != hls.PlaylistEvent || pl.Ended {
			t.Errorf("%s type %q ended %v, want a growing EVENT playlist", rung, pl.Type, pl.Ended)
		}
	}
	if p.Master == nil {
		t.Fatal("no master playlist, want one: every rendition has a first segment")
	}
}

func TestBuildPlaylistsMasterOnlyWhenEveryRenditionHasASegment(t *testing.T) {
	c := "avc1.64001f"
	for _, tt := range []struct {
		name       string
		chunks     []*ChunkResult
		audio      *AudioResult
		wantMaster bool
	}{
		{"nothing yet", []*ChunkResult{nil, nil, nil}, nil, false},
		{"video without audio", []*ChunkResult{chunkResult(0, c, c), nil, nil}, nil, false},
		{"audio without video", []*ChunkResult{nil, chunkResult(1, c, c), nil}, audioResult(3), false},
		{"first chunk and audio", []*ChunkResult{chunkResult(0, c, c), nil, nil}, audioResult(3), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := BuildPlaylists(ladderSplit(), tt.chunks, tt.audio, hls.PlaylistEvent)
			if got := p.Master != nil; got != tt.wantMaster {
				t.Errorf("master written %v, want %v", got, tt.wantMaster)
			}
			if p.Master == nil {
				return
			}
			m, err := hls.ParseMasterPlaylist(p.Master.Text)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(m.Variants), 2; got != want {
				t.Errorf("%d variants, want %d", got, want)
			}
			if len(m.Renditions) != 1 || m.Renditions[0].URI != "audio/playlist.m3u8" {
				t.Errorf("renditions %+v, want the audio playlist", m.Renditions)
			}
		})
	}
}

func TestBuildPlaylistsEventAndVOD(t *testing.T) {
	c := "avc1.64001f"
	chunks := []*ChunkResult{chunkResult(0, c, c), chunkResult(1, c, c), chunkResult(2, c, c)}
	for _, tt := range []struct {
		typ       hls.PlaylistType
		wantEnded bool
	}{{hls.PlaylistEvent, false}, {hls.PlaylistVOD, true}} {
		t.Run(string(tt.typ), func(t *testing.T) {
			p := BuildPlaylists(ladderSplit(), chunks, audioResult(3), tt.typ)
			if got, want := len(p.Media), 3; got != want {
				t.Fatalf("%d media playlists, want %d (two rungs and audio)", got, want)
			}
			for _, f := range p.Media {
				pl := mediaPlaylist(t, p, f.Name)
				if pl.Type != tt.typ || pl.Ended != tt.wantEnded {
					t.Errorf("%s type %q ended %v, want %q ended %v", f.Name, pl.Type, pl.Ended, tt.typ, tt.wantEnded)
				}
				if got, want := len(pl.Segments), 3; got != want {
					t.Errorf("%s lists %d segments, want %d", f.Name, got, want)
				}
			}
			if p.Master == nil || p.Duration != 12 {
				t.Errorf("master %v duration %g, want a master of 12 s", p.Master != nil, p.Duration)
			}
		})
	}
}

// TestBuildPlaylistsCodecsFromEveryChunk: a rung whose chunks were encoded
// differently (an NVENC agent at a higher level, a main-profile chunk)
// declares what covers all of them, not what its first chunk used.
func TestBuildPlaylistsCodecsFromEveryChunk(t *testing.T) {
	chunks := []*ChunkResult{
		chunkResult(0, "avc1.64001f", "avc1.4d401e"),
		chunkResult(1, "avc1.640028", "avc1.64001e"),
		chunkResult(2, "avc1.64001f", "avc1.4d401e"),
	}
	p := BuildPlaylists(ladderSplit(), chunks, audioResult(3), hls.PlaylistVOD)
	if p.Master == nil {
		t.Fatal("no master playlist")
	}
	for i, want := range []string{"avc1.640028", "avc1.64001e"} {
		if got := p.Rungs[i].Codec; got != want {
			t.Errorf("rung %s codec %q, want %q", p.Rungs[i].Name, got, want)
		}
	}
	if !strings.Contains(string(p.Master.Text), `CODECS="avc1.640028,mp4a.40.2"`) {
		t.Errorf("master playlist lacks the 720p rung's joined CODECS:\n%s", p.Master.Text)
	}
}

func TestBuildPlaylistsAudioOnly(t *testing.T) {
	split := &SplitResult{Audio: &AudioSpec{}}
	if p := BuildPlaylists(split, nil, nil, hls.PlaylistVOD); p.Master != nil {
		t.Errorf("master before the audio task finished, want none")
	}
	p := BuildPlaylists(split, nil, audioResult(2), hls.PlaylistVOD)
	if p.Master == nil || p.Duration != 8 || len(p.Media) != 1 {
		t.Fatalf("master %v duration %g media %d, want a master of 8 s over one audio playlist", p.Master != nil, p.Duration, len(p.Media))
	}
	if !strings.Contains(string(p.Master.Text), "audio/playlist.m3u8") {
		t.Errorf("audio-only master does not list the audio playlist:\n%s", p.Master.Text)
	}
}
