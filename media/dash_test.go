package media

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage/layout"
)

// fmp4Chunk is chunkResult with fMP4 files and an init segment per rung
// whose configuration is config.
func fmp4Chunk(i int, config string) *ChunkResult {
	c := chunkResult(i, "avc1.64001f", "avc1.64001e")
	for r := range c.Rungs {
		name := c.Rungs[r].Name
		c.Rungs[r].Files[0].File = fmt.Sprintf("%s/c%05d_a1_%05d.m4s", name, i, i)
		c.Rungs[r].Init = &InitSegment{File: fmt.Sprintf("%s/c%05d_a1_init.mp4", name, i), Config: config, Timescale: 90000, Offset: 90000}
	}
	return c
}

func fmp4Audio(segments int) *AudioResult {
	a := audioResult(segments)
	for i := range a.Segments {
		a.Segments[i].File = fmt.Sprintf("audio/a1_%05d.m4s", i)
	}
	a.Init = &InitSegment{File: "audio/a1_init.mp4", Config: "aac", Timescale: 48000, Offset: 48000}
	return a
}

func manifestOf(t *testing.T, p *Playlists) *hls.DASHManifest {
	t.Helper()
	i := slices.IndexFunc(p.Media, func(f PlaylistFile) bool { return f.Name == layout.DASHManifest })
	if i < 0 {
		return nil
	}
	m, err := hls.ParseDASHManifest(p.Media[i].Text)
	if err != nil {
		t.Fatalf("parse manifest: %v\n%s", err, p.Media[i].Text)
	}
	return m
}

func TestBuildPlaylistsFMP4(t *testing.T) {
	chunks := []*ChunkResult{fmp4Chunk(0, "x"), fmp4Chunk(1, "x"), fmp4Chunk(2, "x")}
	p := BuildPlaylists(ladderSplit(), chunks, fmp4Audio(3), hls.PlaylistVOD)
	if len(p.Warnings) > 0 {
		t.Errorf("warnings %v, want none for chunks of one configuration", p.Warnings)
	}
	if pl := mediaPlaylist(t, p, layout.RungPlaylist("720p")); pl.Map != "c00000_a1_init.mp4" {
		t.Errorf("720p EXT-X-MAP %q, want the first chunk's init", pl.Map)
	}
	if pl := mediaPlaylist(t, p, layout.RungPlaylist(layout.AudioDir)); pl.Map != "a1_init.mp4" {
		t.Errorf("audio EXT-X-MAP %q, want a1_init.mp4", pl.Map)
	}
	m := manifestOf(t, p)
	if m == nil || m.Dynamic || m.Duration != 12 {
		t.Fatalf("manifest %+v, want a static one of 12 s", m)
	}
	if len(m.Sets) != 2 || m.Sets[0].ContentType != "video" || len(m.Sets[0].Representations) != 2 || m.Sets[1].ContentType != "audio" {
		t.Fatalf("adaptation sets %+v, want the two rungs, then the audio", m.Sets)
	}
	v := m.Sets[0].Representations[1]
	want := []hls.DASHSegment{{URI: "360p/c00000_a1_00000.m4s", Time: 90000, Duration: 360000},
		{URI: "360p/c00001_a1_00001.m4s", Time: 450000, Duration: 360000}, {URI: "360p/c00002_a1_00002.m4s", Time: 810000, Duration: 360000}}
	if v.Init != "360p/c00000_a1_init.mp4" || !slices.Equal(v.Segments, want) {
		t.Errorf("360p init %s segments %v, want 360p/c00000_a1_init.mp4 %v", v.Init, v.Segments, want)
	}
	if a := m.Sets[1].Representations[0]; a.Timescale != 48000 || a.Segments[1].Time != 48000+4*48000 {
		t.Errorf("audio %+v, want timescale 48000 and its second segment at %d", a, 48000+4*48000)
	}

	t.Run("growing", func(t *testing.T) {
		p := BuildPlaylists(ladderSplit(), []*ChunkResult{chunks[0], nil, chunks[2]}, fmp4Audio(3), hls.PlaylistEvent)
		m := manifestOf(t, p)
		if m == nil || !m.Dynamic || len(m.Sets[0].Representations[0].Segments) != 1 {
			t.Errorf("manifest %+v, want a dynamic one with the first chunk's segment", m)
		}
	})
	t.Run("MPEG-TS has none", func(t *testing.T) {
		p := BuildPlaylists(ladderSplit(), []*ChunkResult{chunkResult(0, "avc1.64001f", "avc1.64001e")}, audioResult(1), hls.PlaylistVOD)
		if m := manifestOf(t, p); m != nil {
			t.Errorf("manifest %+v for an MPEG-TS ladder", m)
		}
	})
	t.Run("a chunk of another configuration", func(t *testing.T) {
		p := BuildPlaylists(ladderSplit(), []*ChunkResult{chunks[0], fmp4Chunk(1, "y"), chunks[2]}, fmp4Audio(3), hls.PlaylistVOD)
		if len(p.Warnings) != 2 || !strings.Contains(p.Warnings[0], "chunks [1]") {
			t.Errorf("warnings %v, want one per rung naming chunk 1", p.Warnings)
		}
	})
}
