package phash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

// scene draws a deterministic picture that has what photographs have for a
// DCT hash: large soft shapes, a few edges and some texture. Seeds give
// unrelated pictures.
func scene(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type blob struct{ x, y, rad, amp float64 }
	blobs := make([]blob, 6)
	for i := range blobs {
		blobs[i] = blob{r.Float64(), r.Float64(), 0.08 + 0.25*r.Float64(), 140 * (r.Float64() - 0.5)}
	}
	fx, fy, phase := 2+6*r.Float64(), 2+6*r.Float64(), 2*math.Pi*r.Float64()
	edge := r.Float64()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			u, v := float64(x)/float64(w), float64(y)/float64(h)
			l := 128 + 25*math.Sin(2*math.Pi*(fx*u+fy*v)+phase)
			for _, b := range blobs {
				d := ((u-b.x)*(u-b.x) + (v-b.y)*(v-b.y)) / (b.rad * b.rad)
				l += b.amp * math.Exp(-d)
			}
			if u+0.5*v > edge+0.25 {
				l += 30
			}
			c := uint8(max(0, min(255, l)))
			img.SetRGBA(x, y, color.RGBA{c, uint8(int(c) * 3 / 4), 255 - c, 255})
		}
	}
	return img
}

func rescale(src image.Image, w, h int) image.Image {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

func reencode(tb testing.TB, src image.Image, quality int) image.Image {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatalf("jpeg.Encode: %v", err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		tb.Fatalf("jpeg.Decode: %v", err)
	}
	return img
}

func brighten(src image.Image, delta int) image.Image {
	b := src.Bounds()
	dst := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := src.At(x, y).RGBA()
			add := func(c uint32) uint8 { return uint8(max(0, min(255, int(c>>8)+delta))) }
			dst.SetRGBA(x, y, color.RGBA{add(r), add(g), add(bl), 255})
		}
	}
	return dst
}

func TestSameImage(t *testing.T) {
	for seed := range uint64(4) {
		img := scene(seed, 320, 180)
		a, b := FromImage(img), FromImage(img)
		if d := Distance(a, b); d != 0 {
			t.Errorf("seed %d: Distance(%s, %s) = %d, want 0 for the same picture", seed, a, b, d)
		}
		// The Y'CbCr fast path and the generic one agree on a JPEG.
		j := reencode(t, img, 90)
		if got, want := FromImage(j), FromImage(toRGBA(j)); Distance(got, want) > 2 {
			t.Errorf("seed %d: Y'CbCr hash %s, RGBA hash %s, want (nearly) the same", seed, got, want)
		}
	}
}

func toRGBA(src image.Image) *image.RGBA {
	dst := image.NewRGBA(src.Bounds())
	draw.Draw(dst, dst.Bounds(), src, src.Bounds().Min, draw.Src)
	return dst
}

// TestNearCopies: what a re-upload does to a picture moves its hash by a
// few bits.
func TestNearCopies(t *testing.T) {
	const maxDistance = 10
	tests := []struct {
		name string
		edit func(testing.TB, image.Image) image.Image
	}{
		{"half size", func(_ testing.TB, m image.Image) image.Image { return rescale(m, 320, 180) }},
		{"quarter size", func(_ testing.TB, m image.Image) image.Image { return rescale(m, 160, 90) }},
		{"larger, other aspect", func(_ testing.TB, m image.Image) image.Image { return rescale(m, 1000, 600) }},
		{"JPEG quality 20", func(tb testing.TB, m image.Image) image.Image { return reencode(tb, m, 20) }},
		{"brighter by 12", func(_ testing.TB, m image.Image) image.Image { return brighten(m, 12) }},
		{"darker by 12", func(_ testing.TB, m image.Image) image.Image { return brighten(m, -12) }},
		{"smaller, brighter, JPEG quality 40", func(tb testing.TB, m image.Image) image.Image {
			return reencode(tb, brighten(rescale(m, 426, 240), 8), 40)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ds []int
			for seed := range uint64(6) {
				orig := reencode(t, scene(seed, 640, 360), 95)
				a, b := FromImage(orig), FromImage(tt.edit(t, orig))
				d := Distance(a, b)
				if d >= maxDistance {
					t.Errorf("seed %d: distance %d (%s → %s), want < %d", seed, d, a, b, maxDistance)
				}
				ds = append(ds, d)
			}
			t.Logf("distances %v", ds)
		})
	}
}

// TestDifferentImages: unrelated pictures differ in about half the bits.
func TestDifferentImages(t *testing.T) {
	const minDistance = 20
	var hashes []Hash
	for seed := range uint64(8) {
		hashes = append(hashes, FromImage(scene(seed, 640, 360)))
	}
	// Synthetic patterns unlike the scenes and each other. (Purely 1-D
	// patterns such as a plain gradient are degenerate for any DCT hash: all
	// but a few coefficients are zero.)
	cells := rand.New(rand.NewPCG(1, 2))
	var grid [9][16]uint8
	for y := range grid {
		for x := range grid[y] {
			grid[y][x] = uint8(cells.IntN(256))
		}
	}
	hashes = append(hashes,
		FromImage(pattern(640, 360, func(x, y int) uint8 { return grid[y/40][x/40] })),
		FromImage(pattern(640, 360, func(x, y int) uint8 {
			dx, dy := float64(x-200), float64(y-120)
			return uint8(128 + 127*math.Cos(math.Hypot(dx, dy)/25))
		})),
		FromImage(pattern(640, 360, func(x, y int) uint8 {
			l := 100 + 60*math.Sin(float64(x+2*y)/30)
			if math.Hypot(float64(x-450), float64(y-220)) < 90 {
				l += 80
			}
			return uint8(l)
		})),
	)
	sum, n, least := 0, 0, Bits
	for i := range hashes {
		for j := i + 1; j < len(hashes); j++ {
			d := Distance(hashes[i], hashes[j])
			sum, n, least = sum+d, n+1, min(least, d)
			if d <= minDistance {
				t.Errorf("pictures %d and %d: distance %d (%s, %s), want > %d", i, j, d, hashes[i], hashes[j], minDistance)
			}
		}
	}
	t.Logf("distance between %d unrelated pictures: mean %.1f bits, least %d", len(hashes), float64(sum)/float64(n), least)
}

func pattern(w, h int, f func(x, y int) uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			g.SetGray(x, y, color.Gray{Y: f(x, y)})
		}
	}
	return g
}

func TestHashShape(t *testing.T) {
	tests := []struct {
		name string
		img  image.Image
		ones func(int) bool
		desc string
	}{
		{"flat", image.NewUniform(color.Gray{Y: 90}), func(n int) bool { return n == 0 }, "0 (a flat picture hashes to 0)"},
		{"scene", scene(7, 640, 360), func(n int) bool { return n == 31 }, "31 (the AC coefficients above their median)"},
		{"tiny scene", scene(7, 20, 12), func(n int) bool { return n >= 28 && n <= 31 }, "about 31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.img
			if u, ok := img.(*image.Uniform); ok {
				img = pattern(64, 48, func(int, int) uint8 { return u.C.(color.Gray).Y })
			}
			h := FromImage(img)
			if h>>63 != 0 {
				t.Errorf("hash %s has the DC bit set, want it 0", h)
			}
			if n := bits.OnesCount64(uint64(h)); !tt.ones(n) {
				t.Errorf("hash %s has %d bits set, want %s", h, n, tt.desc)
			}
		})
	}
}

// TestSubImage: a sub-image hashes like a copy of the same pixels.
func TestSubImage(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 200, 150))
	draw.Draw(g, g.Bounds(), scene(3, 200, 150), image.Point{}, draw.Src)
	sub := g.SubImage(image.Rect(40, 30, 160, 110)).(*image.Gray)
	cp := image.NewGray(image.Rect(0, 0, 120, 80))
	draw.Draw(cp, cp.Bounds(), sub, sub.Bounds().Min, draw.Src)
	if a, b := FromGray(sub), FromGray(cp); a != b {
		t.Errorf("sub-image hash %s, copy hash %s, want equal", a, b)
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		h    Hash
		text string
	}{
		{0, "0000000000000000"},
		{0x0123456789abcdef, "0123456789abcdef"},
		{math.MaxUint64 >> 1, "7fffffffffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			b, err := tt.h.MarshalText()
			if err != nil || string(b) != tt.text {
				t.Fatalf("MarshalText() = %q, %v, want %q", b, err, tt.text)
			}
			var got Hash
			if err := got.UnmarshalText(b); err != nil || got != tt.h {
				t.Fatalf("UnmarshalText(%q) = %s, %v, want %s", b, got, err, tt.h)
			}
		})
	}
	for _, bad := range []string{"", "0123", "0123456789abcdeg", "0123456789abcdef0"} {
		var h Hash
		if err := h.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) = %s, want an error", bad, h)
		}
	}
}

func TestTrackJSON(t *testing.T) {
	tr := Track{IntervalSeconds: 2, Hashes: []Hash{0x0123456789abcdef, 1}}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"intervalSeconds":2,"hashes":["0123456789abcdef","0000000000000001"]}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var back Track
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(tr) {
		t.Errorf("round trip = %+v, want %+v", back, tr)
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b Hash
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0x00ff, 0xff00, 16},
		{0, math.MaxUint64 >> 1, 63},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// BenchmarkFromGray hashes the luma of a 240p rung, the frame the encoder
// hashes every 2 s, and of a 1080p frame.
func BenchmarkFromGray(b *testing.B) {
	for _, size := range []image.Point{{426, 240}, {1920, 1080}} {
		b.Run(fmt.Sprintf("%dx%d", size.X, size.Y), func(b *testing.B) {
			g := image.NewGray(image.Rect(0, 0, size.X, size.Y))
			draw.Draw(g, g.Bounds(), scene(1, size.X, size.Y), image.Point{}, draw.Src)
			for b.Loop() {
				FromGray(g)
			}
		})
	}
}
