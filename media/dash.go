package media

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage/layout"
)

// addManifest adds the DASH manifest of an fMP4 ladder whose renditions all
// have segments (p.Rungs is filled): the same init and media segments the
// HLS playlists list, one adaptation set per video codec family and one for
// the audio. A ladder of MPEG-TS segments has none.
func (p *Playlists) addManifest(split *SplitResult, chunks []*ChunkResult, audio *AudioResult, typ hls.PlaylistType) {
	video := videoRepresentations(split, chunks, p.Rungs)
	if video == nil {
		return
	}
	m := &hls.DASHManifest{Dynamic: typ != hls.PlaylistVOD, Duration: p.Duration}
	for _, family := range codecFamilies(video) {
		set := hls.DASHAdaptationSet{ContentType: "video", MimeType: "video/mp4"}
		for _, r := range video {
			if codecFamily(r.Codecs) == family {
				set.Representations = append(set.Representations, r)
			}
		}
		m.Sets = append(m.Sets, set)
	}
	if audio != nil && p.Audio != nil {
		if audio.Init == nil {
			return // the audio task wrote MPEG-TS: no manifest can list it
		}
		r := hls.DASHRepresentation{ID: layout.AudioDir, Codecs: p.Audio.Codec, Bandwidth: p.Audio.Bandwidth,
			SampleRate: audioSampleRate, Channels: 2, Timescale: audio.Init.Timescale, PresentationTimeOffset: audio.Init.Offset,
			Init: path.Join(layout.AudioDir, path.Base(audio.Init.File))}
		for _, s := range audio.Segments {
			r.Segments = append(r.Segments, dashSegment(path.Join(layout.AudioDir, path.Base(s.File)), s.Start, s.Duration, audio.Init))
		}
		m.Sets = append(m.Sets, hls.DASHAdaptationSet{ContentType: "audio", MimeType: "audio/mp4", Representations: []hls.DASHRepresentation{r}})
	}
	if m.Dynamic {
		// Reload about once a segment: the average segment is the nominal
		// one, unless the first is short.
		m.MinimumUpdatePeriod = math.Max(1, p.Rungs[0].Duration/float64(max(p.Rungs[0].Segments, 1)))
		if nominal := split.nominalSegment(); nominal > 0 {
			m.MinimumUpdatePeriod = nominal
		}
	}
	text, err := m.Marshal()
	if err != nil {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s not written: %v", layout.DASHManifest, err))
		return
	}
	p.Media = append(p.Media, PlaylistFile{Name: layout.DASHManifest, Text: text})
}

// audioSampleRate is the rate of every audio rendition (AAC-LC 48 kHz).
const audioSampleRate = 48000

// videoRepresentations are the rungs as DASH representations, or nil when
// a rung has no init segment (MPEG-TS).
func videoRepresentations(split *SplitResult, chunks []*ChunkResult, stats []RungStats) []hls.DASHRepresentation {
	if split.Video == nil || len(stats) != len(split.Video.Rungs) {
		return nil
	}
	var reps []hls.DASHRepresentation
	for i, r := range split.Video.Rungs {
		var in *InitSegment
		for _, c := range chunks {
			if c != nil && i < len(c.Rungs) && c.Rungs[i].Init != nil {
				in = c.Rungs[i].Init
				break
			}
		}
		if in == nil {
			return nil
		}
		rep := hls.DASHRepresentation{ID: r.Name, Codecs: stats[i].Codec, Bandwidth: stats[i].Bandwidth,
			Width: r.Width, Height: r.Height, FrameRate: split.Video.OutputFrameRate(),
			Timescale: in.Timescale, PresentationTimeOffset: in.Offset, Init: path.Join(r.Name, path.Base(in.File))}
		for _, c := range chunks {
			if c == nil {
				break // the HLS playlists stop at the first chunk not done, so does the manifest
			}
			files := c.Rungs[i].Files
			for _, t := range c.Segments {
				j := slices.IndexFunc(files, func(f SegmentFile) bool { return f.Index == t.Index })
				if j >= 0 {
					rep.Segments = append(rep.Segments, dashSegment(path.Join(r.Name, path.Base(files[j].File)), t.Start, t.Duration, in))
				}
			}
		}
		reps = append(reps, rep)
	}
	return reps
}

// dashSegment places a segment, given in seconds of the output timeline, in
// its track's timescale.
func dashSegment(uri string, start, duration float64, in *InitSegment) hls.DASHSegment {
	ts := float64(in.Timescale)
	t := int64(in.Offset) + int64(math.Round(start*ts))
	return hls.DASHSegment{URI: uri, Time: uint64(max(t, 0)), Duration: uint64(math.Round(duration * ts))}
}

// codecFamily is the sample entry of an RFC 6381 codec string (avc1, av01).
func codecFamily(codec string) string {
	family, _, _ := strings.Cut(codec, ".")
	return family
}

// codecFamilies lists the video codec families in ladder order.
func codecFamilies(reps []hls.DASHRepresentation) []string {
	var out []string
	for _, r := range reps {
		if f := codecFamily(r.Codecs); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
