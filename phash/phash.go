// Package phash owns the platform's perceptual fingerprint of pictures: the
// classic DCT hash (pHash), its hexadecimal form, the Hamming distance that
// compares two hashes, and Track, the per-video file of hashes sampled along
// the timeline (phash.json). Near-identical pictures — rescaled, re-encoded,
// slightly brighter — get hashes a few bits apart; unrelated pictures differ
// in about half of the bits.
//
// It is pure Go and knows nothing of libav, HLS or storage, so that the
// encoder computes hashes, the pipeline publishes them and any service
// (duplicate and re-upload detection, search) compares them with the same
// code. It is its own package rather than a part of hls/ because hashing
// pictures has nothing to do with HLS.
package phash

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/bits"
	"slices"
)

// Hash is a 64-bit DCT perceptual hash. Bit 63-k (k = 8v+u, the most
// significant bit first) tells whether the DCT coefficient of vertical
// frequency v and horizontal frequency u (both below 8) of the picture's
// 32x32 luma exceeds the median of the 63 such coefficients other than the
// DC term. The DC term's bit (the top bit) is always 0: the mean brightness
// says nothing about the picture's structure. A picture of one flat colour
// hashes to 0.
type Hash uint64

// Bits is how many bits of a Hash carry information.
const Bits = 63

// Size is the side of the square luma picture that the DCT transforms.
const Size = 32

// lowFreq is the side of the block of low frequencies the hash keeps.
const lowFreq = 8

// String returns the hash as 16 lower-case hexadecimal digits.
func (h Hash) String() string { return fmt.Sprintf("%016x", uint64(h)) }

// MarshalText writes the hash as 16 hexadecimal digits, so that JSON holds
// it as a string: a JSON number cannot carry 64 bits exactly.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads 16 hexadecimal digits.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 16 {
		return fmt.Errorf("phash: %q is not 16 hexadecimal digits", b)
	}
	var raw [8]byte
	if _, err := hex.Decode(raw[:], b); err != nil {
		return fmt.Errorf("phash: %q is not 16 hexadecimal digits", b)
	}
	var v uint64
	for _, c := range raw {
		v = v<<8 | uint64(c)
	}
	*h = Hash(v)
	return nil
}

// Distance is the Hamming distance between two hashes: how many of their
// bits differ, from 0 (the same picture) to Bits. Re-encoded or rescaled
// copies of a picture typically stay under 10; unrelated pictures land
// around 32.
func Distance(a, b Hash) int { return bits.OnesCount64(uint64(a ^ b)) }

// Track is a video's perceptual fingerprint as phash.json holds it: the
// hash of the frame at every IntervalSeconds of the timeline, in timeline
// order (Hashes[i] is the frame shown at i × IntervalSeconds).
type Track struct {
	IntervalSeconds float64 `json:"intervalSeconds"`
	Hashes          []Hash  `json:"hashes"`
}

// FromGray hashes an 8-bit luma picture of any size: its area average over
// a 32x32 grid, a 2-D DCT-II of that, and the 63 lowest AC frequencies
// compared with their median. An empty picture hashes to 0.
func FromGray(img *image.Gray) Hash {
	b := img.Bounds()
	if b.Empty() {
		return 0
	}
	var px [Size * Size]float64
	downscale(img, &px)
	return fromPixels(&px)
}

// FromImage hashes any picture by its luma (ITU-R BT.601 weights, as JPEG
// and image/color use them). Y'CbCr pictures use their Y plane as it is.
func FromImage(img image.Image) Hash {
	switch m := img.(type) {
	case *image.Gray:
		return FromGray(m)
	case *image.YCbCr:
		return FromGray(&image.Gray{Pix: m.Y, Stride: m.YStride, Rect: m.Rect})
	}
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.SetGray(x, y, color.GrayModel.Convert(img.At(x, y)).(color.Gray))
		}
	}
	return FromGray(g)
}

// span is the input samples an output cell of an area average covers:
// samples first, first+1, … with the share of the cell each covers.
type span struct {
	first   int
	weights []float64
}

// boxSpans divides n input samples into Size equal cells; a sample on a
// cell border counts in both cells by the fraction it overlaps each, so
// that the average is exact whatever the ratio (also when n < Size).
func boxSpans(n int) [Size]span {
	var spans [Size]span
	scale := float64(n) / Size
	for i := range spans {
		lo, hi := float64(i)*scale, float64(i+1)*scale
		first, last := int(lo), min(int(math.Ceil(hi)), n)-1
		s := span{first: first, weights: make([]float64, last-first+1)}
		for j := first; j <= last; j++ {
			s.weights[j-first] = (min(hi, float64(j+1)) - max(lo, float64(j))) / scale
		}
		spans[i] = s
	}
	return spans
}

// downscale area-averages img onto the Size x Size grid px, row-major:
// rows first into a Size-wide strip, then the strip's columns.
func downscale(img *image.Gray, px *[Size * Size]float64) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	xs, ys := boxSpans(w), boxSpans(h)
	strip := make([]float64, h*Size)
	for y := range h {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		out := strip[y*Size : (y+1)*Size]
		for x, s := range xs {
			var sum float64
			for k, wt := range s.weights {
				sum += wt * float64(row[s.first+k])
			}
			out[x] = sum
		}
	}
	for v, s := range ys {
		out := px[v*Size : (v+1)*Size]
		for k, wt := range s.weights {
			in := strip[(s.first+k)*Size : (s.first+k+1)*Size]
			for x := range out {
				out[x] += wt * in[x]
			}
		}
	}
}

// cosines[u][x] is the DCT-II basis cos(π(2x+1)u / 2N) for the low
// frequencies u the hash keeps. Normalisation factors are left out: the hash
// compares coefficients with each other, and every AC coefficient of one
// 2-D transform shares the same factor.
var cosines = func() (c [lowFreq][Size]float64) {
	for u := range lowFreq {
		for x := range Size {
			c[u][x] = math.Cos(math.Pi * float64((2*x+1)*u) / (2 * Size))
		}
	}
	return c
}()

// flatTolerance keeps rounding noise from setting bits: coefficients of a
// flat picture are zero up to float error, and a bit is set only where a
// coefficient exceeds the median by more than that.
const flatTolerance = 1e-6

// fromPixels transforms the 32x32 luma and builds the hash. Only the 8x8
// low frequencies are computed: rows to 8 horizontal frequencies, then those
// columns to 8 vertical ones.
func fromPixels(px *[Size * Size]float64) Hash {
	var rows [Size][lowFreq]float64
	for y := range Size {
		line := px[y*Size : (y+1)*Size]
		for u := range lowFreq {
			var sum float64
			for x, p := range line {
				sum += p * cosines[u][x]
			}
			rows[y][u] = sum
		}
	}
	var coef [lowFreq * lowFreq]float64
	for v := range lowFreq {
		for u := range lowFreq {
			var sum float64
			for y := range Size {
				sum += cosines[v][y] * rows[y][u]
			}
			coef[v*lowFreq+u] = sum
		}
	}
	ac := slices.Clone(coef[1:])
	slices.Sort(ac)
	median := ac[len(ac)/2] // 63 values: the 32nd smallest
	var h Hash
	for k := 1; k < len(coef); k++ {
		if coef[k]-median > flatTolerance {
			h |= 1 << (63 - k)
		}
	}
	return h
}
