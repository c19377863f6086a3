package pipeline

import (
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/phash"
)

// Output file names inside the output directory.
const (
	MasterPlaylist  = "master.m3u8"
	MediaPlaylist   = "playlist.m3u8"
	PosterFile      = "poster.jpg"
	StoryboardImage = "storyboard.jpg"
	StoryboardVTT   = "storyboard.vtt"
	// PHashFile is the video's perceptual fingerprint, a phash.Track.
	PHashFile = "phash.json"
	// SpeechFile is the audio as mono 16 kHz PCM WAV, for speech-to-text.
	SpeechFile = "audio16k.wav"
	audioGroup = "audio"
	audioDir   = "audio"
)

// Output summarises a stitched ladder.
type Output struct {
	Master   string      `json:"master"`
	Duration float64     `json:"durationSeconds"`
	Rungs    []RungStats `json:"rungs"`
	Audio    *RungStats  `json:"audio,omitempty"`
	Poster   string      `json:"poster,omitempty"`
	// PosterTime is where on the timeline the poster frame comes from.
	PosterTime float64 `json:"posterTimeSeconds,omitempty"`
	Storyboard string  `json:"storyboard,omitempty"`
	PHash      string  `json:"phash,omitempty"`
	Speech     string  `json:"speech,omitempty"`
	// Warnings say which of the extras above could not be written.
	Warnings []string `json:"warnings,omitempty"`
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

// Stitch is the stitch task. With final unset it publishes progressively:
// rung playlists are EVENT playlists of the chunks done so far in timeline
// order (chunks holds nil for chunks not done), and the master playlist is
// written once every rendition has a first segment. With final set, chunks
// must all be present and everything is written as VOD, with the poster,
// storyboard, perceptual hashes and speech track. It returns nil Output
// until the master playlist exists.
func Stitch(outDir string, job *Job, chunks []*encoder.ChunkResult, audio *encoder.AudioResult, final bool) (*Output, error) {
	typ := hls.PlaylistEvent
	if final {
		typ = hls.PlaylistVOD
	}
	out := &Output{Master: MasterPlaylist}
	var rungSegs [][]hls.Segment
	if job.Video != nil {
		rungSegs = videoSegments(job, chunks)
		for i, r := range job.Video.Rungs {
			if err := writePlaylist(filepath.Join(outDir, r.Name, MediaPlaylist), rungSegs[i], typ); err != nil {
				return nil, err
			}
		}
	}
	var audioSegs []hls.Segment
	if audio != nil {
		for _, s := range audio.Segments {
			audioSegs = append(audioSegs, hls.Segment{URI: filepath.Base(s.File), Duration: s.Duration, Bytes: s.Bytes})
		}
		if err := writePlaylist(filepath.Join(outDir, audioDir, MediaPlaylist), audioSegs, typ); err != nil {
			return nil, err
		}
		out.Audio = stats("audio", hls.AACLowComplexity, audioSegs)
	}
	if final && job.Audio != nil && audio == nil {
		return nil, fmt.Errorf("stitch: the audio task has not finished")
	}
	if job.Audio != nil && len(audioSegs) == 0 {
		return nil, nil
	}
	master := &hls.MasterPlaylist{}
	if out.Audio != nil && job.Video != nil {
		master.Renditions = append(master.Renditions, hls.Rendition{Type: "AUDIO", GroupID: audioGroup, Name: "Default",
			Language: "und", URI: audioDir + "/" + MediaPlaylist, Default: true, AutoSelect: true, Channels: "2"})
	}
	if job.Video != nil {
		for i, r := range job.Video.Rungs {
			if len(rungSegs[i]) == 0 {
				return nil, nil
			}
			st := stats(r.Name, rungCodec(chunks, i), rungSegs[i])
			st.Width, st.Height = r.Width, r.Height
			out.Rungs = append(out.Rungs, *st)
			v := hls.Variant{URI: r.Name + "/" + MediaPlaylist, Bandwidth: st.Bandwidth, AverageBandwidth: st.AverageBandwidth,
				Width: r.Width, Height: r.Height, FrameRate: job.Video.OutputFrameRate(), Codecs: []string{st.Codec}}
			if out.Audio != nil {
				v.Bandwidth += out.Audio.Bandwidth
				v.AverageBandwidth += out.Audio.AverageBandwidth
				v.Codecs = append(v.Codecs, hls.AACLowComplexity)
				v.Audio = audioGroup
			}
			master.Variants = append(master.Variants, v)
		}
		out.Duration = out.Rungs[0].Duration
	} else {
		master.Variants = append(master.Variants, hls.Variant{URI: audioDir + "/" + MediaPlaylist,
			Bandwidth: out.Audio.Bandwidth, AverageBandwidth: out.Audio.AverageBandwidth, Codecs: []string{hls.AACLowComplexity}})
		out.Duration = out.Audio.Duration
	}
	if err := writeFileAtomic(filepath.Join(outDir, MasterPlaylist), master.Marshal()); err != nil {
		return nil, err
	}
	if final && job.Video != nil {
		if err := writeImages(outDir, out, chunks); err != nil {
			return nil, err
		}
		if err := writePHash(outDir, out, job, chunks); err != nil {
			return nil, err
		}
	}
	if final && audio != nil && audio.Speech != nil {
		if err := os.Rename(filepath.Join(outDir, audio.Speech.File), filepath.Join(outDir, SpeechFile)); err != nil {
			return nil, fmt.Errorf("stitch speech track: %w", err)
		}
		out.Speech = SpeechFile
	}
	return out, nil
}

// writePHash joins the chunks' perceptual hashes into phash.json. Each chunk
// hashed the marks of its own part of the timeline, so the concatenation in
// chunk order covers the timeline; a chunk without hashes (a split from
// before hashing existed, a frame format hashing cannot read) leaves the
// video without the file rather than with a gap.
func writePHash(outDir string, out *Output, job *Job, chunks []*encoder.ChunkResult) error {
	if job.Video.PHashInterval <= 0 {
		return nil
	}
	track := phash.Track{IntervalSeconds: job.Video.PHashInterval, Hashes: []phash.Hash{}}
	for i, c := range chunks {
		h := c.PHash
		switch {
		case h == nil:
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s not written: chunk %d has no perceptual hashes", PHashFile, i))
			return nil
		case h.Interval != track.IntervalSeconds || h.First != len(track.Hashes):
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s not written: chunk %d hashes marks from %d every %g s, want from %d every %g s",
				PHashFile, i, h.First, h.Interval, len(track.Hashes), track.IntervalSeconds))
			return nil
		}
		track.Hashes = append(track.Hashes, h.Hashes...)
	}
	b, err := json.Marshal(track)
	if err != nil {
		return fmt.Errorf("stitch %s: %w", PHashFile, err)
	}
	if err := writeFileAtomic(filepath.Join(outDir, PHashFile), b); err != nil {
		return err
	}
	out.PHash = PHashFile
	return nil
}

// videoSegments lists each rung's segments of the contiguous run of finished
// chunks from the start of the timeline.
func videoSegments(job *Job, chunks []*encoder.ChunkResult) [][]hls.Segment {
	segs := make([][]hls.Segment, len(job.Video.Rungs))
	for _, c := range chunks {
		if c == nil {
			break
		}
		for i := range job.Video.Rungs {
			files := c.Rungs[i].Files
			for _, t := range c.Segments {
				j := slices.IndexFunc(files, func(f encoder.SegmentFile) bool { return f.Index == t.Index })
				if j < 0 {
					continue
				}
				segs[i] = append(segs[i], hls.Segment{URI: filepath.Base(files[j].File), Duration: t.Duration, Bytes: files[j].Bytes})
			}
		}
	}
	return segs
}

func rungCodec(chunks []*encoder.ChunkResult, rung int) string {
	for _, c := range chunks {
		if c != nil && c.Rungs[rung].Codec != "" {
			return c.Rungs[rung].Codec
		}
	}
	return "avc1.640028"
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

func writePlaylist(path string, segs []hls.Segment, typ hls.PlaylistType) error {
	if len(segs) == 0 {
		return nil
	}
	p := &hls.MediaPlaylist{Type: typ, Segments: segs, Ended: typ == hls.PlaylistVOD}
	return writeFileAtomic(path, p.Marshal())
}

// writeImages picks the best poster candidate of all chunks and tiles the
// thumbnails into the storyboard sprite with its WebVTT map.
func writeImages(outDir string, out *Output, chunks []*encoder.ChunkResult) error {
	var best *encoder.ImageFile
	var thumbs []hls.Thumbnail
	for _, c := range chunks {
		if p := c.Poster; p != nil && (best == nil || p.Score > best.Score) {
			best = p
		}
		for _, t := range c.Thumbnails {
			img, err := readJPEG(filepath.Join(outDir, t.File))
			if err != nil {
				return err
			}
			thumbs = append(thumbs, hls.Thumbnail{Time: t.Time, Image: img})
		}
	}
	if best != nil {
		if err := os.Rename(filepath.Join(outDir, best.File), filepath.Join(outDir, PosterFile)); err != nil {
			return fmt.Errorf("stitch poster: %w", err)
		}
		out.Poster, out.PosterTime = PosterFile, best.Time
	}
	if len(thumbs) == 0 {
		return nil
	}
	sprite, vtt, err := hls.BuildStoryboard(thumbs, storyboardColumns, out.Duration, StoryboardImage)
	if err != nil {
		return fmt.Errorf("stitch storyboard: %w", err)
	}
	f, err := os.Create(filepath.Join(outDir, StoryboardImage))
	if err != nil {
		return fmt.Errorf("stitch storyboard: %w", err)
	}
	if err := jpeg.Encode(f, sprite, &jpeg.Options{Quality: 80}); err != nil {
		f.Close()
		return fmt.Errorf("stitch storyboard: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("stitch storyboard: %w", err)
	}
	out.Storyboard = StoryboardVTT
	return writeFileAtomic(filepath.Join(outDir, StoryboardVTT), vtt)
}

func readJPEG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read thumbnail: %w", err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read thumbnail %s: %w", path, err)
	}
	return img, nil
}

// writeFileAtomic replaces path so that a player never reads half a playlist.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
