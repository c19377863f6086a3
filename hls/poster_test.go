package hls

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

const posterW, posterH = 1280, 720

// lumaFunc gives the luma of pixel (x, y) of a test frame.
type lumaFunc func(x, y int) uint8

func flat(v uint8) lumaFunc { return func(int, int) uint8 { return v } }

// horizontalGradient ramps from black to white left to right: contrast but
// almost no detail.
func horizontalGradient(x, _ int) uint8 { return uint8(x * 255 / (posterW - 1)) }

// detailed is mid-grey texture with fine noise: contrast and detail.
func detailed() lumaFunc {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]uint8, posterW*posterH)
	for i := range noise {
		noise[i] = uint8(rng.IntN(256))
	}
	return func(x, y int) uint8 { return noise[y*posterW+x] }
}

// darkTexture is detailed but nearly black, like the first frames of a
// fade-in.
func darkTexture() lumaFunc {
	rng := rand.New(rand.NewPCG(3, 4))
	return func(int, int) uint8 { return uint8(4 + rng.IntN(12)) }
}

func newYCbCr(f lumaFunc) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, posterW, posterH), image.YCbCrSubsampleRatio420)
	for y := range posterH {
		for x := range posterW {
			img.Y[img.YOffset(x, y)] = f(x, y)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

func newGray(f lumaFunc) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, posterW, posterH))
	for y := range posterH {
		for x := range posterW {
			img.SetGray(x, y, color.Gray{Y: f(x, y)})
		}
	}
	return img
}

func newRGBA(f lumaFunc) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, posterW, posterH))
	for y := range posterH {
		for x := range posterW {
			v := f(x, y)
			img.SetRGBA(x, y, color.RGBA{R: v, G: v, B: v, A: 255})
		}
	}
	return img
}

// generic hides the concrete type so PosterScore takes its At path.
type generic struct{ image.Image }

// formats builds the same frame in every representation PosterScore
// handles differently.
var formats = []struct {
	name string
	make func(lumaFunc) image.Image
}{
	{"YCbCr", func(f lumaFunc) image.Image { return newYCbCr(f) }},
	{"Gray", func(f lumaFunc) image.Image { return newGray(f) }},
	{"RGBA", func(f lumaFunc) image.Image { return newRGBA(f) }},
	{"NRGBA", func(f lumaFunc) image.Image { return (*image.NRGBA)(newRGBA(f)) }},
	{"generic", func(f lumaFunc) image.Image { return generic{newGray(f)} }},
}

func TestPosterScoreUninteresting(t *testing.T) {
	frames := []struct {
		name string
		f    lumaFunc
	}{
		{"black", flat(0)},
		{"video-range black", flat(16)},
		{"white", flat(255)},
		{"video-range white", flat(235)},
		{"flat grey", flat(128)},
	}
	for _, fm := range formats {
		for _, fr := range frames {
			t.Run(fm.name+"/"+fr.name, func(t *testing.T) {
				if got := PosterScore(fm.make(fr.f)); got != 0 {
					t.Errorf("PosterScore got %v, want 0", got)
				}
			})
		}
	}
}

func TestPosterScoreOrdering(t *testing.T) {
	noisy := detailed()
	for _, fm := range formats {
		t.Run(fm.name, func(t *testing.T) {
			black := PosterScore(fm.make(flat(0)))
			dark := PosterScore(fm.make(darkTexture()))
			gradient := PosterScore(fm.make(horizontalGradient))
			rich := PosterScore(fm.make(noisy))
			if !(black < dark && dark < gradient && gradient < rich) {
				t.Errorf("scores black %v, dark fade %v, gradient %v, detailed %v; want strictly increasing", black, dark, gradient, rich)
			}
		})
	}
}

func TestPosterScorePathsAgree(t *testing.T) {
	noisy := detailed()
	want := PosterScore(newGray(noisy))
	for _, fm := range formats {
		t.Run(fm.name, func(t *testing.T) {
			if got := PosterScore(fm.make(noisy)); got != want {
				t.Errorf("PosterScore got %v, want %v (the Gray score)", got, want)
			}
		})
	}
}

func TestPosterScoreDarkPenalty(t *testing.T) {
	// The same texture scores less when the frame is nearly black.
	texture := func(offset int) lumaFunc {
		return func(x, y int) uint8 { return uint8(offset + (x/2+y/2)%2*10) }
	}
	mid, dark := PosterScore(newGray(texture(120))), PosterScore(newGray(texture(2)))
	if !(dark < mid/2) {
		t.Errorf("dark score got %v, want less than half the mid-grey score %v", dark, mid)
	}
	bright := PosterScore(newGray(texture(244)))
	if !(bright < mid/2) {
		t.Errorf("bright score got %v, want less than half the mid-grey score %v", bright, mid)
	}
}

func TestPosterScoreOddSizes(t *testing.T) {
	tests := []struct {
		name string
		img  image.Image
		want float64
	}{
		{"empty", image.NewGray(image.Rectangle{}), 0},
		{"one pixel", image.NewGray(image.Rect(0, 0, 1, 1)), 0},
		{"sub-image at an offset", newGray(flat(90)).SubImage(image.Rect(101, 33, 207, 95)), 0},
		{"YCbCr sub-image", newYCbCr(flat(90)).SubImage(image.Rect(101, 33, 207, 95)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PosterScore(tt.img); got != tt.want {
				t.Errorf("PosterScore got %v, want %v", got, tt.want)
			}
		})
	}
}

func BenchmarkPosterScore(b *testing.B) {
	noisy := detailed()
	for _, fm := range formats {
		img := fm.make(noisy)
		b.Run(fm.name, func(b *testing.B) {
			for b.Loop() {
				PosterScore(img)
			}
		})
	}
}
