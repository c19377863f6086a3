package media

import (
	"fmt"
	"path"
	"slices"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage/layout"
)

// Playlists are the playlists a job's results make, as text, with the
// measured figures of each rendition. Both publishers use them: the
// coordinator stores them while the job encodes (EVENT), the stitch task
// writes them when it ends (VOD).
type Playlists struct {
	// Media are the renditions' playlists, in ladder order then audio (a
	// rendition without a segment yet has none), and for an fMP4 ladder
	// whose master playlist exists, last, its DASH manifest: growing
	// (dynamic) like the EVENT playlists, static with the VOD ones.
	Media []PlaylistFile
	// Master is nil until every rendition has a first segment.
	Master *PlaylistFile
	// Rungs and Audio are the figures the master playlist was made from,
	// Duration the ladder's (set with Master).
	Rungs    []RungStats
	Audio    *RungStats
	Duration float64
	// Warnings name the fMP4 rungs whose chunks wrote init segments of
	// different codec configurations: one init cannot serve all of them.
	Warnings []string
}

// PlaylistFile is one playlist; Name is relative to the HLS prefix.
type PlaylistFile struct {
	Name string
	Text []byte
}

// RungStats are the measured figures of one rendition.
type RungStats struct {
	Name             string  `json:"name"`
	Width            int     `json:"width,omitempty"`
	Height           int     `json:"height,omitempty"`
	Codec            string  `json:"codec"`
	Segments         int     `json:"segments"`
	Bytes            int64   `json:"bytes"`
	Duration         float64 `json:"durationSeconds"`
	Bandwidth        int64   `json:"bandwidth"`
	AverageBandwidth int64   `json:"averageBandwidth"`
}

// audioGroup is the master playlist's GROUP-ID of the audio rendition.
const audioGroup = "audio"

// defaultAVCCodec stands for a rung whose chunks reported no codec string
// (results recorded before they did): High profile, level 4.0.
const defaultAVCCodec = "avc1.640028"

// BuildPlaylists makes the playlists of a job's results: each rendition
// lists the segments of the contiguous run of finished chunks from the
// start of the timeline (chunks holds nil for chunks not done; the first
// nil ends every rung's playlist), and the master playlist appears once
// every rendition has a first segment. typ is hls.PlaylistEvent while the
// job grows, hls.PlaylistVOD (ended) for the final ladder.
func BuildPlaylists(split *SplitResult, chunks []*ChunkResult, audio *AudioResult, typ hls.PlaylistType) *Playlists {
	p := &Playlists{}
	var rungSegs [][]hls.Segment
	if split.Video != nil {
		rungSegs = videoSegments(split.Video.Rungs, chunks)
		for i, r := range split.Video.Rungs {
			initFile, warning := rungInit(r.Name, chunks, i)
			if warning != "" {
				p.Warnings = append(p.Warnings, warning)
			}
			p.addMedia(layout.RungPlaylist(r.Name), initFile, rungSegs[i], typ, split.nominalSegment())
		}
	}
	var audioSegs []hls.Segment
	if audio != nil {
		for _, s := range audio.Segments {
			audioSegs = append(audioSegs, hls.Segment{URI: path.Base(s.File), Duration: s.Duration, Bytes: s.Bytes})
		}
		var initFile string
		if audio.Init != nil {
			initFile = path.Base(audio.Init.File)
		}
		p.addMedia(layout.RungPlaylist(layout.AudioDir), initFile, audioSegs, typ, split.nominalSegment())
		p.Audio = stats(layout.AudioDir, hls.AACLowComplexity, audioSegs)
	}
	if split.Audio != nil && len(audioSegs) == 0 {
		return p
	}
	master := &hls.MasterPlaylist{}
	if p.Audio != nil && split.Video != nil {
		master.Renditions = append(master.Renditions, hls.Rendition{Type: "AUDIO", GroupID: audioGroup, Name: "Default",
			Language: "und", URI: layout.RungPlaylist(layout.AudioDir), Default: true, AutoSelect: true, Channels: "2"})
	}
	if split.Video == nil {
		master.Variants = append(master.Variants, hls.Variant{URI: layout.RungPlaylist(layout.AudioDir),
			Bandwidth: p.Audio.Bandwidth, AverageBandwidth: p.Audio.AverageBandwidth, Codecs: []string{hls.AACLowComplexity}})
		p.Duration = p.Audio.Duration
		p.Master = &PlaylistFile{Name: layout.MasterPlaylist, Text: master.Marshal()}
		return p
	}
	for i, r := range split.Video.Rungs {
		if len(rungSegs[i]) == 0 {
			p.Rungs = nil
			return p
		}
		st := stats(r.Name, rungCodec(chunks, i, r.Codec), rungSegs[i])
		st.Width, st.Height = r.Width, r.Height
		p.Rungs = append(p.Rungs, *st)
		v := hls.Variant{URI: layout.RungPlaylist(r.Name), Bandwidth: st.Bandwidth, AverageBandwidth: st.AverageBandwidth,
			Width: r.Width, Height: r.Height, FrameRate: split.Video.OutputFrameRate(), Codecs: []string{st.Codec}}
		if p.Audio != nil {
			v.Bandwidth += p.Audio.Bandwidth
			v.AverageBandwidth += p.Audio.AverageBandwidth
			v.Codecs = append(v.Codecs, hls.AACLowComplexity)
			v.Audio = audioGroup
		}
		master.Variants = append(master.Variants, v)
	}
	p.Duration = p.Rungs[0].Duration
	p.addManifest(split, chunks, audio, typ)
	p.Master = &PlaylistFile{Name: layout.MasterPlaylist, Text: master.Marshal()}
	return p
}

func (p *Playlists) addMedia(name, initFile string, segs []hls.Segment, typ hls.PlaylistType, nominal float64) {
	if len(segs) == 0 {
		return
	}
	pl := &hls.MediaPlaylist{Type: typ, Map: initFile, Segments: segs, Ended: typ == hls.PlaylistVOD, NominalDuration: nominal}
	p.Media = append(p.Media, PlaylistFile{Name: name, Text: pl.Marshal()})
}

// nominalSegment is the length in seconds of every segment but the first
// and the last when the plan's first segment is short, else 0. A growing
// playlist whose one segment is the short first one must already announce
// the long segments' target duration: RFC 8216 forbids it to change on a
// later reload. A plan without a short first segment announces it with its
// first segment, and its playlists stay as they always were.
func (r *SplitResult) nominalSegment() float64 {
	if r.Plan == nil || r.Plan.FirstSegment <= 0 {
		return 0
	}
	return r.Plan.Segment.Seconds()
}

// videoSegments lists each rung's segments of the contiguous run of finished
// chunks from the start of the timeline.
func videoSegments(rungs []Rung, chunks []*ChunkResult) [][]hls.Segment {
	segs := make([][]hls.Segment, len(rungs))
	for _, c := range chunks {
		if c == nil {
			break
		}
		for i := range rungs {
			files := c.Rungs[i].Files
			for _, t := range c.Segments {
				j := slices.IndexFunc(files, func(f SegmentFile) bool { return f.Index == t.Index })
				if j < 0 {
					continue
				}
				segs[i] = append(segs[i], hls.Segment{URI: path.Base(files[j].File), Duration: t.Duration, Bytes: files[j].Bytes})
			}
		}
	}
	return segs
}

// rungInit picks the init segment of an fMP4 rung ("" for MPEG-TS): the
// first finished chunk's, named relative to the rung's playlist. Every chunk
// wrote its own, on whichever agent encoded it; the one published serves
// them all only if they agree, so a chunk whose codec configuration differs
// (another encoder, another libav) makes a warning.
func rungInit(name string, chunks []*ChunkResult, rung int) (file, warning string) {
	var first *InitSegment
	var differ []int
	for _, c := range chunks {
		if c == nil || rung >= len(c.Rungs) || c.Rungs[rung].Init == nil {
			continue
		}
		in := c.Rungs[rung].Init
		switch {
		case first == nil:
			first = in
		case in.Config != first.Config:
			differ = append(differ, c.Index)
		}
	}
	if first == nil {
		return "", ""
	}
	if len(differ) > 0 {
		warning = fmt.Sprintf("rung %s: the codec configuration of chunks %v differs from the published init segment's; players may fail to decode them", name, differ)
	}
	return path.Base(first.File), warning
}

// rungCodec is the CODECS entry of a rung made of the given chunks: the
// highest profile and level any of them used, since its chunks may come
// from different encoders (and a growing playlist from some of them only).
// An AV1 rung's chunks always report theirs, read from the sequence header.
func rungCodec(chunks []*ChunkResult, rung int, family Codec) string {
	var codecs []string
	for _, c := range chunks {
		if c != nil {
			codecs = append(codecs, c.Rungs[rung].Codec)
		}
	}
	if family == CodecAV1 {
		return hls.JoinAV1Codecs(codecs)
	}
	if c := hls.JoinAVCCodecs(codecs); c != "" {
		return c
	}
	return defaultAVCCodec
}

func stats(name, codec string, segs []hls.Segment) *RungStats {
	st := &RungStats{Name: name, Codec: codec, Segments: len(segs)}
	for _, s := range segs {
		st.Bytes += s.Bytes
		st.Duration += s.Duration
	}
	st.Bandwidth, st.AverageBandwidth = hls.MeasureBandwidth(segs)
	return st
}
