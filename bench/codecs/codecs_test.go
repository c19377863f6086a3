package codecs_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
)

// benchSource is a generated 1080p30 clip of one kind of difficulty.
type benchSource struct {
	name   string
	filter string // a lavfi source graph, sized and timed by the benchmark
}

// The three sources: sensor grain (temporal noise on the luma) over moving
// pictures, what starves encoders of bits; the picture turning and
// panning (global motion that no block vector follows exactly); and flat colours with moving shapes and text (animation, screen
// content). Each is deterministic: the reference ffmpeg measures against
// is the file the pipeline reads.
var benchSources = []benchSource{
	{"grain", "testsrc2=s=1920x1080:r=30,format=yuv420p,noise=c0s=10:c0f=t+u"},
	// Not a mandelbrot zoom: its detail needs more than 60 Mb/s at 1080p
	// at every CRF, where rate no longer follows quality.
	{"motion", "testsrc2=s=1920x1080:r=30,rotate=a=0.25*t:fillcolor=gray"},
	{"flat", "testsrc2=s=1920x1080:r=30"},
}

// benchRungs are the rungs measured, by short side.
var benchRungs = []int{1080, 720}

// The quality settings of each codec: H.264 as the pipeline runs it
// (x264 veryfast, one thread, CRF 21 by default) at four CRFs, and SVT-AV1
// at four CRFs for each preset measured.
var (
	benchH264CRFs = []int{18, media.DefaultCRF, 24, 27}
	benchAV1CRFs  = []int{27, 32, 37, 42}
)

// benchUncapped is the maximum bit rate given to every encode: above what
// any CRF measured spends.
const benchUncapped = 60_000_000

// benchPoint is one encode of one rung at one setting.
type benchPoint struct {
	codec   string // "h264" or "av1 p8"
	crf     int
	kbps    float64
	psnr    float64 // average over the frames, dB
	ssim    float64 // SSIM All, as dB (-10 log10(1-ssim)) for the BD-rate
	ssimRaw float64
	cpu     float64 // CPU seconds (user+system) per second of media
}

// BenchmarkCodecs encodes three generated sources at 720p and 1080p through
// the encode task (encoder.EncodeChunk, the code the farm runs) with H.264
// and AV1 at several settings, measures each rung against the source with
// ffmpeg's psnr and ssim filters (the rung decoded and scaled back to
// 1080p), and prints the Bjøntegaard delta rate of AV1 against H.264 at
// equal PSNR and at equal SSIM. BENCH_CODECS_SECONDS (default 2) sets the
// clips' length, BENCH_CODECS_AV1_PRESETS (default "6,8", the ladder's: 6 at
// 1080p and above, 8 below) the
// SVT-AV1 presets, BENCH_CODECS_SOURCES (default all) the sources by name.
func BenchmarkCodecs(b *testing.B) {
	seconds := envFloat(b, "BENCH_CODECS_SECONDS", 2)
	presets := envInts(b, "BENCH_CODECS_AV1_PRESETS", "6,8")
	sources := benchSources
	if names := os.Getenv("BENCH_CODECS_SOURCES"); names != "" {
		sources = slices.DeleteFunc(slices.Clone(sources), func(s benchSource) bool {
			return !slices.Contains(strings.Split(names, ","), s.name)
		})
	}
	avx.Quiet()
	work := b.TempDir()
	results := map[string]map[int][]benchPoint{} // source → rung → points
	start := time.Now()
	for range b.N {
		for _, s := range sources {
			src := generateSource(b, work, s, seconds)
			results[s.name] = map[int][]benchPoint{}
			job := splitSource(b, src, filepath.Join(work, s.name), seconds)
			for _, short := range benchRungs {
				i := slices.IndexFunc(job.Video.Rungs, func(r media.Rung) bool { return r.Short == short })
				if i < 0 {
					b.Fatalf("%s: no %dp rung in %+v", s.name, short, job.Video.Rungs)
				}
				rung := job.Video.Rungs[i]
				for _, crf := range benchH264CRFs {
					results[s.name][short] = append(results[s.name][short], encodePoint(b, src, job, rung, "h264", crf, nil))
				}
				for _, p := range presets {
					for _, crf := range benchAV1CRFs {
						av1 := media.WithAV1([]media.Rung{rung}, media.AV1All)[1]
						av1.AV1 = &media.AV1Settings{Preset: p, CRF: crf}
						results[s.name][short] = append(results[s.name][short], encodePoint(b, src, job, av1, fmt.Sprintf("av1 p%d", p), crf, av1.AV1))
					}
				}
			}
		}
	}
	printResults(b, sources, results, presets)
	fmt.Printf("\n%d sources × %d rungs, %.1f s each, in %s\n", len(sources), len(benchRungs), seconds, time.Since(start).Round(time.Second))
}

// generateSource renders a source as a camera would deliver it: x264 at
// CRF 10, so that the reference the rungs are measured against is the file
// the pipeline reads.
func generateSource(b *testing.B, dir string, s benchSource, seconds float64) string {
	b.Helper()
	out := filepath.Join(dir, s.name+".mp4")
	run(b, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
		"-i", s.filter+",format=yuv420p", "-t", strconv.FormatFloat(seconds, 'f', -1, 64),
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "10", out)
	return out
}

// splitSource runs the split task: one chunk of one segment, holding both rungs.
func splitSource(b *testing.B, src, dir string, seconds float64) *media.SplitResult {
	b.Helper()
	segment := time.Duration(math.Ceil(seconds)) * time.Second
	var specs []media.RungSpec
	for _, s := range media.DefaultRungs {
		if slices.Contains(benchRungs, s.Short) {
			specs = append(specs, s)
		}
	}
	job, err := pipeline.Split(b.Context(), src, filepath.Join(dir, "work"), filepath.Join(dir, "out"), media.Options{
		Segment: segment, Chunk: segment, Rungs: specs, Segments: media.SegmentsFMP4, Encoder: media.EncoderX264})
	if err != nil {
		b.Fatalf("split %s: %v", src, err)
	}
	if len(job.Chunks) != 1 {
		b.Fatalf("split %s: %d chunks, want 1", src, len(job.Chunks))
	}
	return job
}

// encodePoint encodes the chunk into one rung with the given settings and
// measures it.
func encodePoint(b *testing.B, src string, job *media.SplitResult, rung media.Rung, codec string, crf int, av1 *media.AV1Settings) benchPoint {
	b.Helper()
	set := *job.Video
	// The rung's cap lifted: a rung at its cap (grain, fast motion, and a
	// short clip's first seconds, where the rate-control buffer starts
	// full) has a quality that no longer follows the CRF, and curves of
	// such points make no Bjøntegaard delta. Both codecs keep the same
	// caps in the ladder.
	rung.MaxBitrate = benchUncapped
	set.Rungs = []media.Rung{rung}
	set.H264.Encoder, set.H264.CRF = media.EncoderX264, crf
	set.PHashInterval = 0 // screening's hashes: no part of a codec's cost
	spec := job.Chunks[0]
	spec.OutDir = filepath.Join(b.TempDir(), "out")
	before := cpuSeconds()
	res, err := encoder.EncodeChunk(b.Context(), spec, set)
	cpu := cpuSeconds() - before
	if err != nil {
		b.Fatalf("encode %s %s crf %d: %v", rung.Name, codec, crf, err)
	}
	out := res.Rungs[0]
	var media_ float64
	for _, s := range res.Segments {
		media_ += s.Duration
	}
	// The rung as one MP4 file: init segment, then the fragments.
	joined := filepath.Join(spec.OutDir, "rung.mp4")
	data := mustRead(b, filepath.Join(spec.OutDir, out.Init.File))
	var bytes int64
	for _, f := range out.Files {
		data = append(data, mustRead(b, filepath.Join(spec.OutDir, f.File))...)
		bytes += f.Bytes
	}
	if err := os.WriteFile(joined, data, 0o644); err != nil {
		b.Fatal(err)
	}
	p := benchPoint{codec: codec, crf: crf, kbps: float64(bytes) * 8 / media_ / 1000, cpu: cpu / media_}
	p.psnr, p.ssimRaw = quality(b, joined, src)
	p.ssim = -10 * math.Log10(1-p.ssimRaw)
	b.Logf("%s %s crf %d: %.0f kb/s, PSNR %.2f dB, SSIM %.4f, %.2f CPU s/s", rung.Name, codec, crf, p.kbps, p.psnr, p.ssimRaw, p.cpu)
	return p
}

var (
	psnrLine = regexp.MustCompile(`PSNR .*average:(\S+)`)
	ssimLine = regexp.MustCompile(`SSIM .*All:(\S+)`)
)

// quality compares a rung, decoded and scaled back to the source's size,
// with the source, frame by frame from the first (the rung's timeline starts
// at encoder.TimelineOffset): average PSNR (dB) and SSIM.
func quality(b *testing.B, rung, src string) (psnr, ssim float64) {
	b.Helper()
	graph := "[0:v]setpts=PTS-STARTPTS,scale=1920:1080:flags=bicubic,format=yuv420p,split[d1][d2];" +
		"[1:v]setpts=PTS-STARTPTS,format=yuv420p,split[r1][r2];[d1][r1]psnr;[d2][r2]ssim"
	out := run(b, "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-i", rung, "-i", src,
		"-filter_complex", graph, "-f", "null", "-")
	pm, sm := psnrLine.FindStringSubmatch(out), ssimLine.FindStringSubmatch(out)
	if pm == nil || sm == nil {
		b.Fatalf("no PSNR or SSIM in ffmpeg's output:\n%s", out)
	}
	var err1, err2 error
	psnr, err1 = strconv.ParseFloat(pm[1], 64)
	ssim, err2 = strconv.ParseFloat(sm[1], 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("PSNR %q, SSIM %q", pm[1], sm[1])
	}
	return psnr, ssim
}

func printResults(b *testing.B, sources []benchSource, results map[string]map[int][]benchPoint, presets []int) {
	b.Helper()
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "source\trung\tcodec\tCRF\tkb/s\tPSNR dB\tSSIM\tCPU s/s\t")
	for _, s := range sources {
		for _, short := range benchRungs {
			for _, p := range results[s.name][short] {
				fmt.Fprintf(w, "%s\t%dp\t%s\t%d\t%.0f\t%.2f\t%.4f\t%.2f\t\n", s.name, short, p.codec, p.crf, p.kbps, p.psnr, p.ssimRaw, p.cpu)
			}
		}
	}
	w.Flush()

	fmt.Println("\nBjøntegaard delta rate of AV1 against H.264 (negative: AV1 needs fewer bits at equal quality)")
	w = tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "source\trung\tAV1\tBD-rate PSNR\tBD-rate SSIM\tCPU ×H.264\tCRF ≈ H.264 CRF 21\t")
	type sum struct{ psnr, ssim []float64 }
	mean := map[string]*sum{}
	for _, short := range benchRungs {
		for _, preset := range presets {
			codec := fmt.Sprintf("av1 p%d", preset)
			key := fmt.Sprintf("%dp\t%s", short, codec)
			mean[key] = &sum{}
			for _, s := range sources {
				pts := results[s.name][short]
				h264, av1 := pointsOf(pts, "h264"), pointsOf(pts, codec)
				dp, okP := bdRate(h264, av1, func(p benchPoint) float64 { return p.psnr })
				ds, okS := bdRate(h264, av1, func(p benchPoint) float64 { return p.ssim })
				if okP {
					mean[key].psnr = append(mean[key].psnr, dp)
				}
				if okS {
					mean[key].ssim = append(mean[key].ssim, ds)
				}
				fmt.Fprintf(w, "%s\t%dp\t%s\t%s\t%s\t%.1f\t%s\t\n", s.name, short, codec, percent(dp, okP), percent(ds, okS),
					meanCPU(av1)/meanCPU(h264), matchingCRF(h264, av1))
			}
		}
	}
	for _, short := range benchRungs {
		for _, preset := range presets {
			key := fmt.Sprintf("%dp\tav1 p%d", short, preset)
			fmt.Fprintf(w, "mean\t%s\t%s\t%s\t\t\t\n", key, percent(average(mean[key].psnr), len(mean[key].psnr) > 0),
				percent(average(mean[key].ssim), len(mean[key].ssim) > 0))
		}
	}
	w.Flush()
}

func pointsOf(pts []benchPoint, codec string) []benchPoint {
	var out []benchPoint
	for _, p := range pts {
		if p.codec == codec {
			out = append(out, p)
		}
	}
	return out
}

// matchingCRF is the AV1 CRF, interpolated on PSNR, whose quality equals
// H.264 at the pipeline's default CRF; with that rung's bit rate saving.
func matchingCRF(h264, av1 []benchPoint) string {
	i := slices.IndexFunc(h264, func(p benchPoint) bool { return p.crf == media.DefaultCRF })
	if i < 0 {
		return "-"
	}
	target := h264[i]
	for j := 0; j+1 < len(av1); j++ {
		a, c := av1[j], av1[j+1] // CRF rising, PSNR falling
		if a.psnr >= target.psnr && target.psnr >= c.psnr && a.psnr != c.psnr {
			f := (a.psnr - target.psnr) / (a.psnr - c.psnr)
			crf := float64(a.crf) + f*float64(c.crf-a.crf)
			kbps := math.Exp(math.Log(a.kbps) + f*(math.Log(c.kbps)-math.Log(a.kbps)))
			return fmt.Sprintf("%.1f (%+.0f%% bits)", crf, (kbps/target.kbps-1)*100)
		}
	}
	return "out of range"
}

func meanCPU(pts []benchPoint) float64 {
	var cpu []float64
	for _, p := range pts {
		cpu = append(cpu, p.cpu)
	}
	return average(cpu)
}

func average(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func percent(v float64, ok bool) string {
	if !ok || math.IsNaN(v) {
		return "no overlap"
	}
	return fmt.Sprintf("%+.1f%%", v)
}

// bdRate is the Bjøntegaard delta rate of test against ref in percent: the
// mean difference of the logarithm of the bit rate over the quality range
// both cover, each curve a least-squares polynomial (cubic with four
// points) of log rate in quality, as in VCEG-M33. ok is false when the
// ranges do not overlap.
func bdRate(ref, test []benchPoint, quality func(benchPoint) float64) (float64, bool) {
	fit := func(pts []benchPoint) (coef []float64, lo, hi float64) {
		var q, r []float64
		for _, p := range pts {
			q, r = append(q, quality(p)), append(r, math.Log(p.kbps))
		}
		return polyfit(q, r, min(3, len(pts)-1)), slices.Min(q), slices.Max(q)
	}
	if len(ref) < 2 || len(test) < 2 {
		return 0, false
	}
	cr, loR, hiR := fit(ref)
	ct, loT, hiT := fit(test)
	lo, hi := max(loR, loT), min(hiR, hiT)
	if hi <= lo {
		return 0, false
	}
	diff := (integral(ct, lo, hi) - integral(cr, lo, hi)) / (hi - lo)
	return (math.Exp(diff) - 1) * 100, true
}

// polyfit fits y = Σ c[k] x^k, k ≤ order, by least squares (normal
// equations, Gaussian elimination with partial pivoting). x is centred on
// its mean first for a well-conditioned system; the coefficients returned
// are for the centred variable, with the centre in c[order+1].
func polyfit(x, y []float64, order int) []float64 {
	centre := average(x)
	n := order + 1
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n+1)
		for k := range x {
			xi := x[k] - centre
			for j := range n {
				a[i][j] += math.Pow(xi, float64(i+j))
			}
			a[i][n] += y[k] * math.Pow(xi, float64(i))
		}
	}
	for col := range n {
		pivot := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[pivot][col]) {
				pivot = r
			}
		}
		a[col], a[pivot] = a[pivot], a[col]
		for r := range n {
			if r == col || a[col][col] == 0 {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c <= n; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	c := make([]float64, n+1)
	for i := range n {
		c[i] = a[i][n] / a[i][i]
	}
	c[n] = centre
	return c
}

// integral integrates the polyfit polynomial from lo to hi.
func integral(c []float64, lo, hi float64) float64 {
	order, centre := len(c)-2, c[len(c)-1]
	prim := func(x float64) float64 {
		x -= centre
		var s float64
		for k := 0; k <= order; k++ {
			s += c[k] * math.Pow(x, float64(k+1)) / float64(k+1)
		}
		return s
	}
	return prim(hi) - prim(lo)
}

// cpuSeconds is the CPU time this process has used, user and system: the
// encoders' threads included, ffmpeg's measuring processes not.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func run(b *testing.B, name string, args ...string) string {
	b.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mustRead(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func envFloat(b *testing.B, name string, def float64) float64 {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive number of seconds", name, s)
	}
	return v
}

func envInts(b *testing.B, name, def string) []int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		s = def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("%s=%q: want comma-separated numbers", name, s)
		}
		out = append(out, v)
	}
	return out
}
