package hls

import (
	"image"
	"math"
)

// Luma bounds outside which a frame is mostly black or mostly white (a fade,
// a title card) and is scored down. They sit just inside video range
// (16-235) so that limited-range black and white both count.
const (
	posterDarkLuma   = 24
	posterBrightLuma = 235
)

// posterMaxSamples caps the samples taken along the longer side, so large
// frames (4K) cost about as much as 1280x720 does.
const posterMaxSamples = 640

// PosterScore rates how good a frame is as a poster: 0 for black, white or
// flat frames (fade-ins, slates), higher for frames with contrast and
// detail. The score is the standard deviation of luma plus the mean absolute
// difference between horizontally and vertically neighbouring samples,
// scaled down linearly when mean luma is below 24 or above 235 (it reaches
// 0 at pure black or white). Scores are comparable between frames of the
// same video; the caller keeps the frame with the highest.
//
// It samples every 2nd pixel on both axes (sparser on frames wider than
// 1280), reads the Y plane directly for *image.YCbCr (what the decoder
// gives) and *image.Gray, the pixel arrays for *image.RGBA and
// *image.NRGBA, and falls back to At for anything else.
func PosterScore(img image.Image) float64 {
	b := img.Bounds()
	step := max(2, (max(b.Dx(), b.Dy())+posterMaxSamples-1)/posterMaxSamples)
	gw, gh := (b.Dx()+step-1)/step, (b.Dy()+step-1)/step
	if gw <= 0 || gh <= 0 {
		return 0
	}
	luma := sampleLuma(img, b, step, gw, gh)

	// Integer sums keep the score exact and independent of summation order.
	var sum, sumSq, gradSum, gradN int64
	for y := range gh {
		row := luma[y*gw : (y+1)*gw]
		for x, v := range row {
			l := int64(v)
			sum += l
			sumSq += l * l
			if x > 0 {
				gradSum += absDiff(v, row[x-1])
				gradN++
			}
			if y > 0 {
				gradSum += absDiff(v, luma[(y-1)*gw+x])
				gradN++
			}
		}
	}
	n := float64(gw * gh)
	mean := float64(sum) / n
	variance := float64(sumSq)/n - mean*mean
	score := math.Sqrt(max(variance, 0))
	if gradN > 0 {
		score += float64(gradSum) / float64(gradN)
	}
	switch {
	case mean < posterDarkLuma:
		score *= mean / posterDarkLuma
	case mean > posterBrightLuma:
		score *= max(255-mean, 0) / (255 - posterBrightLuma)
	}
	return score
}

func absDiff(a, b uint8) int64 {
	if a > b {
		return int64(a - b)
	}
	return int64(b - a)
}

// sampleLuma returns the gw×gh grid of luma values at every step-th pixel.
func sampleLuma(img image.Image, b image.Rectangle, step, gw, gh int) []uint8 {
	luma := make([]uint8, 0, gw*gh)
	switch im := img.(type) {
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y += step {
			for x := b.Min.X; x < b.Max.X; x += step {
				luma = append(luma, im.Y[im.YOffset(x, y)])
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y += step {
			for x := b.Min.X; x < b.Max.X; x += step {
				luma = append(luma, im.Pix[im.PixOffset(x, y)])
			}
		}
	case *image.RGBA:
		luma = sampleRGB(luma, im.Pix, im.PixOffset, b, step)
	case *image.NRGBA:
		// Alpha is ignored: decoded video frames are opaque.
		luma = sampleRGB(luma, im.Pix, im.PixOffset, b, step)
	default:
		for y := b.Min.Y; y < b.Max.Y; y += step {
			for x := b.Min.X; x < b.Max.X; x += step {
				r, g, bl, _ := img.At(x, y).RGBA()
				// Same weights as color.GrayModel, on 16-bit components.
				luma = append(luma, uint8((19595*r+38470*g+7471*bl+1<<15)>>24))
			}
		}
	}
	return luma
}

func sampleRGB(luma, pix []uint8, offset func(x, y int) int, b image.Rectangle, step int) []uint8 {
	for y := b.Min.Y; y < b.Max.Y; y += step {
		for x := b.Min.X; x < b.Max.X; x += step {
			p := pix[offset(x, y):]
			r, g, bl := uint32(p[0]), uint32(p[1]), uint32(p[2])
			luma = append(luma, uint8((19595*r+38470*g+7471*bl+1<<15)>>16))
		}
	}
	return luma
}
