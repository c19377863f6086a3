package encoder

import (
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"

	"github.com/asticode/go-astiav"
	"golang.org/x/image/draw"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
)

// thumbnailer samples a rung's frames every interval seconds: each sample
// becomes a small storyboard thumbnail and a poster candidate; the best
// candidate of the chunk is written when the chunk ends.
type thumbnailer struct {
	dir       string
	prefix    string
	interval  float64
	width     int
	next      float64
	thumbs    []media.ImageFile
	best      image.Image
	bestScore float64
	bestTime  float64
}

func newThumbnailer(spec media.ChunkSpec, set media.VideoSettings) thumbnailer {
	t := thumbnailer{
		dir:      spec.OutDir,
		prefix:   fmt.Sprintf("c%05d_a%d", spec.Chunk.Index, spec.Attempt),
		interval: set.ThumbnailInterval,
		width:    set.ThumbnailWidth,
	}
	if t.interval > 0 {
		t.next = math.Ceil(spec.Chunk.Start/t.interval-1e-9) * t.interval
	}
	return t
}

// offer considers a frame shown at sec seconds on the output timeline.
func (t *thumbnailer) offer(f *astiav.Frame, sec float64) error {
	if t.interval <= 0 || sec < t.next-1e-9 {
		return nil
	}
	n := int(math.Floor(sec/t.interval + 1e-9))
	t.next = float64(n+1) * t.interval
	img, err := frameImage(f)
	if err != nil {
		t.interval = 0 // the format cannot be converted; no more tries
		return fmt.Errorf("thumbnails skipped: %w", err)
	}
	if score := hls.PosterScore(img); t.best == nil || score > t.bestScore {
		t.best, t.bestScore, t.bestTime = img, score, sec
	}
	b := img.Bounds()
	h := evenOf(float64(t.width*b.Dy()) / float64(max(b.Dx(), 1)))
	small := image.NewRGBA(image.Rect(0, 0, t.width, h))
	draw.ApproxBiLinear.Scale(small, small.Bounds(), img, b, draw.Src, nil)
	name := filepath.Join(media.ThumbnailDir, fmt.Sprintf("%s_t%05d.jpg", t.prefix, n))
	if err := writeJPEG(filepath.Join(t.dir, name), small, 80); err != nil {
		return err
	}
	t.thumbs = append(t.thumbs, media.ImageFile{Time: sec, File: name})
	return nil
}

// finish writes the chunk's best poster candidate.
func (t *thumbnailer) finish() ([]media.ImageFile, *media.ImageFile, error) {
	if t.best == nil {
		return t.thumbs, nil, nil
	}
	name := filepath.Join(media.ThumbnailDir, t.prefix+"_poster.jpg")
	if err := writeJPEG(filepath.Join(t.dir, name), t.best, 88); err != nil {
		return nil, nil, err
	}
	return t.thumbs, &media.ImageFile{Time: t.bestTime, File: name, Score: t.bestScore}, nil
}

func writeJPEG(path string, img image.Image, quality int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: quality}); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
