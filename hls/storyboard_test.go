package hls

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"testing"
)

// solid returns a w×h image filled with c.
func solid(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

func shade(i int) color.RGBA { return color.RGBA{R: uint8(40 * (i + 1)), G: uint8(i), B: 200, A: 255} }

var opaqueBlack = color.RGBA{A: 255}

func TestBuildStoryboard(t *testing.T) {
	var thumbs []Thumbnail
	for i := range 5 {
		thumbs = append(thumbs, Thumbnail{Time: float64(5 * i), Image: solid(160, 90, shade(i))})
	}
	sprite, vtt, err := BuildStoryboard(thumbs, 3, 23.5, "storyboard.jpg")
	if err != nil {
		t.Fatalf("BuildStoryboard error: %v", err)
	}
	if got, want := sprite.Bounds(), image.Rect(0, 0, 480, 180); got != want {
		t.Errorf("sprite bounds got %v, want %v", got, want)
	}
	cells := []struct {
		name string
		x, y int
		want color.RGBA
	}{
		{"first cell top-left", 0, 0, shade(0)},
		{"first cell bottom-right", 159, 89, shade(0)},
		{"second cell", 160, 0, shade(1)},
		{"third cell", 479, 89, shade(2)},
		{"second row", 0, 90, shade(3)},
		{"fifth cell", 319, 179, shade(4)},
		{"unused cell is opaque black", 400, 150, opaqueBlack},
	}
	for _, c := range cells {
		t.Run(c.name, func(t *testing.T) {
			if got := sprite.RGBAAt(c.x, c.y); got != c.want {
				t.Errorf("pixel (%d,%d) got %v, want %v", c.x, c.y, got, c.want)
			}
		})
	}
	want := `WEBVTT

00:00:00.000 --> 00:00:05.000
storyboard.jpg#xywh=0,0,160,90

00:00:05.000 --> 00:00:10.000
storyboard.jpg#xywh=160,0,160,90

00:00:10.000 --> 00:00:15.000
storyboard.jpg#xywh=320,0,160,90

00:00:15.000 --> 00:00:20.000
storyboard.jpg#xywh=0,90,160,90

00:00:20.000 --> 00:00:23.500
storyboard.jpg#xywh=160,90,160,90
`
	if got := string(vtt); got != want {
		t.Errorf("VTT got\n%s\nwant\n%s", got, want)
	}
}

func TestBuildStoryboardSortsWithoutMutating(t *testing.T) {
	thumbs := []Thumbnail{
		{Time: 10, Image: solid(4, 2, shade(2))},
		{Time: 0, Image: solid(4, 2, shade(0))},
		{Time: 5, Image: solid(4, 2, shade(1))},
	}
	sprite, vtt, err := BuildStoryboard(thumbs, 10, 12, "s.png")
	if err != nil {
		t.Fatalf("BuildStoryboard error: %v", err)
	}
	if thumbs[0].Time != 10 {
		t.Errorf("caller's slice reordered: first time got %v, want 10", thumbs[0].Time)
	}
	// Fewer thumbnails than columns: the sheet is only as wide as needed.
	if got, want := sprite.Bounds(), image.Rect(0, 0, 12, 2); got != want {
		t.Errorf("sprite bounds got %v, want %v", got, want)
	}
	for i := range 3 {
		if got := sprite.RGBAAt(4*i, 0); got != shade(i) {
			t.Errorf("cell %d got %v, want %v", i, got, shade(i))
		}
	}
	wantCue := "00:00:10.000 --> 00:00:12.000\ns.png#xywh=8,0,4,2\n"
	if !strings.HasSuffix(string(vtt), wantCue) {
		t.Errorf("VTT got\n%s\nwant it to end with\n%s", vtt, wantCue)
	}
}

func TestBuildStoryboardMismatchedSizes(t *testing.T) {
	big := solid(12, 8, shade(1))
	offset := solid(20, 20, shade(2)).SubImage(image.Rect(5, 5, 15, 11)) // 10×6 at a non-zero origin
	thumbs := []Thumbnail{
		{Time: 0, Image: solid(10, 6, shade(0))},
		{Time: 1, Image: big},                   // larger: clipped to its cell
		{Time: 2, Image: solid(4, 3, shade(3))}, // smaller: rest of the cell stays black
		{Time: 3, Image: offset},                // drawn from its own origin
	}
	sprite, _, err := BuildStoryboard(thumbs, 2, 4, "s.jpg")
	if err != nil {
		t.Fatalf("BuildStoryboard error: %v", err)
	}
	if got, want := sprite.Bounds(), image.Rect(0, 0, 20, 12); got != want {
		t.Errorf("sprite bounds got %v, want %v", got, want)
	}
	tests := []struct {
		name string
		x, y int
		want color.RGBA
	}{
		{"first cell", 9, 5, shade(0)},
		{"large thumbnail inside its cell", 19, 5, shade(1)},
		{"large thumbnail does not spill down", 19, 6, shade(2)},
		{"small thumbnail", 3, 8, shade(3)},
		{"beside the small thumbnail", 4, 8, opaqueBlack},
		{"below the small thumbnail", 0, 9, opaqueBlack},
		{"sub-image top-left", 10, 6, shade(2)},
		{"sub-image bottom-right", 19, 11, shade(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sprite.RGBAAt(tt.x, tt.y); got != tt.want {
				t.Errorf("pixel (%d,%d) got %v, want %v", tt.x, tt.y, got, tt.want)
			}
		})
	}
}

func TestBuildStoryboardCueTimes(t *testing.T) {
	img := solid(2, 2, shade(0))
	tests := []struct {
		name     string
		times    []float64
		duration float64
		want     string
	}{
		{"hours and milliseconds", []float64{3725.5}, 3725.5004 + 0.25, "01:02:05.500 --> 01:02:05.750\n"},
		{"more than 99 hours", []float64{360000}, 360001, "100:00:00.000 --> 100:00:01.000\n"},
		{"rounded to the millisecond", []float64{0, 1.0004, 1.9996}, 3, "00:00:01.000 --> 00:00:02.000\n"},
		{"duplicate time gives no empty cue", []float64{0, 2, 2}, 4, "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\ns#xywh=0,0,2,2\n\n00:00:02.000 --> 00:00:04.000\ns#xywh=4,0,2,2\n"},
		{"last thumbnail at the end", []float64{0, 4}, 4, "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\ns#xywh=0,0,2,2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var thumbs []Thumbnail
			for _, tm := range tt.times {
				thumbs = append(thumbs, Thumbnail{Time: tm, Image: img})
			}
			_, vtt, err := BuildStoryboard(thumbs, 4, tt.duration, "s")
			if err != nil {
				t.Fatalf("BuildStoryboard error: %v", err)
			}
			if !strings.Contains(string(vtt), tt.want) {
				t.Errorf("VTT got\n%s\nwant it to contain\n%s", vtt, tt.want)
			}
		})
	}
}

func TestBuildStoryboardErrors(t *testing.T) {
	img := solid(2, 2, shade(0))
	one := []Thumbnail{{Time: 0, Image: img}}
	tests := []struct {
		name     string
		thumbs   []Thumbnail
		columns  int
		duration float64
		sprite   string
	}{
		{"no thumbnails", nil, 4, 10, "s.jpg"},
		{"zero columns", one, 0, 10, "s.jpg"},
		{"negative columns", one, -1, 10, "s.jpg"},
		{"duration before last thumbnail", []Thumbnail{{Time: 0, Image: img}, {Time: 12, Image: img}}, 4, 10, "s.jpg"},
		{"NaN duration", one, 4, math.NaN(), "s.jpg"},
		{"nil image", []Thumbnail{{Time: 0}}, 4, 10, "s.jpg"},
		{"negative time", []Thumbnail{{Time: -1, Image: img}}, 4, 10, "s.jpg"},
		{"NaN time", []Thumbnail{{Time: math.NaN(), Image: img}}, 4, 10, "s.jpg"},
		{"empty first image", []Thumbnail{{Time: 0, Image: image.NewRGBA(image.Rectangle{})}}, 4, 10, "s.jpg"},
		{"empty sprite name", one, 4, 10, ""},
		{"sprite name with newline", one, 4, 10, "s.jpg\n\n00:00:00.000 --> 99:00:00.000"},
		{"sprite name with arrow", one, 4, 10, "a-->b.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sprite, vtt, err := BuildStoryboard(tt.thumbs, tt.columns, tt.duration, tt.sprite)
			if err == nil {
				t.Errorf("BuildStoryboard got (%v, %q, nil), want an error", sprite.Bounds(), vtt)
			}
		})
	}
}
