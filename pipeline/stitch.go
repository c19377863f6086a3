package pipeline

import (
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/storage/layout"
)

// Output summarises a stitched ladder.
type Output struct {
	Master   string            `json:"master"`
	Duration float64           `json:"durationSeconds"`
	Rungs    []media.RungStats `json:"rungs"`
	Audio    *media.RungStats  `json:"audio,omitempty"`
	Poster   string            `json:"poster,omitempty"`
	// PosterTime is where on the timeline the poster frame comes from.
	PosterTime float64 `json:"posterTimeSeconds,omitempty"`
	Storyboard string  `json:"storyboard,omitempty"`
	PHash      string  `json:"phash,omitempty"`
	Speech     string  `json:"speech,omitempty"`
	// Warnings are what the job tells the video's owner: damage the probe
	// and the tasks met in the source (frames lost and filled, packets
	// rejected), then the extras above that could not be written.
	Warnings []string `json:"warnings,omitempty"`
}

// Stitch is the stitch task. With final unset it publishes progressively:
// rung playlists are EVENT playlists of the chunks done so far in timeline
// order (chunks holds nil for chunks not done), and the master playlist is
// written once every rendition has a first segment. With final set, chunks
// must all be present and everything is written as VOD, with the poster,
// storyboard, perceptual hashes and speech track. The playlists' text is
// media.BuildPlaylists', as the coordinator's growing ones are. It returns
// nil Output until the master playlist exists.
func Stitch(outDir string, split *media.SplitResult, chunks []*media.ChunkResult, audio *media.AudioResult, final bool) (*Output, error) {
	typ := hls.PlaylistEvent
	if final {
		typ = hls.PlaylistVOD
		if split.Audio != nil && audio == nil {
			return nil, fmt.Errorf("stitch: the audio task has not finished")
		}
	}
	pls := media.BuildPlaylists(split, chunks, audio, typ)
	for _, f := range pls.Media {
		if err := writeFileAtomic(filepath.Join(outDir, f.Name), f.Text); err != nil {
			return nil, err
		}
	}
	if pls.Master == nil {
		return nil, nil
	}
	if err := writeFileAtomic(filepath.Join(outDir, pls.Master.Name), pls.Master.Text); err != nil {
		return nil, err
	}
	out := &Output{Master: pls.Master.Name, Duration: pls.Duration, Rungs: pls.Rungs, Audio: pls.Audio,
		Warnings: append(sourceWarnings(split, chunks, audio), pls.Warnings...)}
	if final && split.Video != nil {
		if err := writeImages(outDir, out, chunks); err != nil {
			return nil, err
		}
		if err := writePHash(outDir, out, split, chunks); err != nil {
			return nil, err
		}
	}
	if final && audio != nil && audio.Speech != nil {
		if err := os.Rename(filepath.Join(outDir, audio.Speech.File), filepath.Join(outDir, layout.SpeechFile)); err != nil {
			return nil, fmt.Errorf("stitch speech track: %w", err)
		}
		out.Speech = layout.SpeechFile
	}
	return out, nil
}

// sourceWarnings gathers what the split and the tasks reported about the
// source, in timeline order.
func sourceWarnings(split *media.SplitResult, chunks []*media.ChunkResult, audio *media.AudioResult) []string {
	var ws []string
	if split.Probe != nil {
		ws = append(ws, split.Probe.Warnings...)
	}
	for _, c := range chunks {
		if c != nil {
			ws = append(ws, c.Warnings...)
		}
	}
	if audio != nil {
		ws = append(ws, audio.Warnings...)
	}
	return ws
}

// writePHash joins the chunks' perceptual hashes into phash.json. A chunk
// without hashes (a split from before hashing existed, a frame format
// hashing cannot read) leaves the video without the file rather than with a
// gap.
func writePHash(outDir string, out *Output, split *media.SplitResult, chunks []*media.ChunkResult) error {
	if split.Video.PHashInterval <= 0 {
		return nil
	}
	track, err := media.JoinFrameHashes(split.Video.PHashInterval, chunks)
	if err != nil {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s not written: %v", layout.PHashFile, err))
		return nil
	}
	b, err := json.Marshal(track)
	if err != nil {
		return fmt.Errorf("stitch %s: %w", layout.PHashFile, err)
	}
	if err := writeFileAtomic(filepath.Join(outDir, layout.PHashFile), b); err != nil {
		return err
	}
	out.PHash = layout.PHashFile
	return nil
}

// writeImages picks the best poster candidate of all chunks and tiles the
// thumbnails into the storyboard sprite with its WebVTT map.
func writeImages(outDir string, out *Output, chunks []*media.ChunkResult) error {
	var best *media.ImageFile
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
		if err := os.Rename(filepath.Join(outDir, best.File), filepath.Join(outDir, layout.PosterFile)); err != nil {
			return fmt.Errorf("stitch poster: %w", err)
		}
		out.Poster, out.PosterTime = layout.PosterFile, best.Time
	}
	if len(thumbs) == 0 {
		return nil
	}
	sprite, vtt, err := hls.BuildStoryboard(thumbs, storyboardColumns, out.Duration, layout.StoryboardImage)
	if err != nil {
		return fmt.Errorf("stitch storyboard: %w", err)
	}
	f, err := os.Create(filepath.Join(outDir, layout.StoryboardImage))
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
	out.Storyboard = layout.StoryboardVTT
	return writeFileAtomic(filepath.Join(outDir, layout.StoryboardVTT), vtt)
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
