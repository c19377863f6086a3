package hls

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strings"
)

// Thumbnail is one frame of a storyboard.
type Thumbnail struct {
	Time  float64 // seconds on the output timeline (0 = start of video)
	Image image.Image
}

// BuildStoryboard tiles thumbnails into a sprite sheet for seek-bar previews
// and writes the WebVTT file that maps time ranges to tiles, the format
// hls.js and most web players read.
//
// Thumbnails are placed in time order (the caller's slice is not modified)
// left to right, top to bottom, in a grid of `columns` columns (fewer when
// there are fewer thumbnails). Every cell has the size of the earliest
// thumbnail; a thumbnail of another size is drawn from its top-left corner
// and clipped to the cell, and uncovered cell area is opaque black, so the
// sprite looks the same whether encoded as JPEG or PNG.
//
// Cue i covers [Time_i, Time_i+1) and the last cue ends at duration. Its text
// is "<spriteName>#xywh=x,y,w,h" (a W3C media fragment). Times are written
// as HH:MM:SS.mmm; a cue that would be empty at millisecond precision
// (two thumbnails at the same time) is left out, since WebVTT requires the
// end to be after the start, but its tile is still drawn.
func BuildStoryboard(thumbs []Thumbnail, columns int, duration float64, spriteName string) (sprite *image.RGBA, vtt []byte, err error) {
	if len(thumbs) == 0 {
		return nil, nil, errors.New("hls: storyboard needs at least one thumbnail")
	}
	if columns <= 0 {
		return nil, nil, fmt.Errorf("hls: storyboard columns must be positive, got %d", columns)
	}
	if spriteName == "" || strings.ContainsAny(spriteName, "\r\n") || strings.Contains(spriteName, "-->") {
		// Either would end the cue early or be read as a timing line.
		return nil, nil, fmt.Errorf("hls: invalid storyboard sprite name %q", spriteName)
	}
	sorted := slices.Clone(thumbs)
	slices.SortStableFunc(sorted, func(a, b Thumbnail) int {
		switch {
		case a.Time < b.Time:
			return -1
		case a.Time > b.Time:
			return 1
		}
		return 0
	})
	for i, t := range sorted {
		if t.Image == nil {
			return nil, nil, fmt.Errorf("hls: storyboard thumbnail at %gs has no image", t.Time)
		}
		if !(t.Time >= 0) || math.IsInf(t.Time, 0) {
			return nil, nil, fmt.Errorf("hls: storyboard thumbnail %d has invalid time %g", i, t.Time)
		}
	}
	last := sorted[len(sorted)-1].Time
	if !(duration >= last) || math.IsInf(duration, 0) {
		return nil, nil, fmt.Errorf("hls: storyboard duration %gs is before the last thumbnail at %gs", duration, last)
	}

	cell := sorted[0].Image.Bounds().Size()
	if cell.X <= 0 || cell.Y <= 0 {
		return nil, nil, fmt.Errorf("hls: storyboard thumbnail size %dx%d is empty", cell.X, cell.Y)
	}
	cols := min(columns, len(sorted))
	rows := (len(sorted) + cols - 1) / cols
	sprite = image.NewRGBA(image.Rect(0, 0, cols*cell.X, rows*cell.Y))
	draw.Draw(sprite, sprite.Bounds(), image.NewUniform(color.Black), image.Point{}, draw.Src)

	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	for i, t := range sorted {
		origin := image.Pt((i%cols)*cell.X, (i/cols)*cell.Y)
		r := image.Rectangle{Min: origin, Max: origin.Add(cell)}
		draw.Draw(sprite, r, t.Image, t.Image.Bounds().Min, draw.Src)

		end := duration
		if i+1 < len(sorted) {
			end = sorted[i+1].Time
		}
		start, stop := vttMillis(t.Time), vttMillis(end)
		if stop <= start {
			continue
		}
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n",
			formatVTTTime(start), formatVTTTime(stop), spriteName, origin.X, origin.Y, cell.X, cell.Y)
	}
	return sprite, b.Bytes(), nil
}

func vttMillis(seconds float64) int64 { return int64(math.Round(seconds * 1000)) }

// formatVTTTime writes milliseconds as HH:MM:SS.mmm; hours grow past two
// digits if they must.
func formatVTTTime(ms int64) string {
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}
