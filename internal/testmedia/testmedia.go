// Package testmedia generates the media files that tests feed to the pipeline: short clips
// synthesised with the ffmpeg CLI from lavfi sources (testsrc2 video, sine audio), covering the
// shapes real uploads come in (variable frame rate, rotation, 10-bit 4:2:2, interlacing,
// non-square pixels, odd dimensions, audio offsets, …), plus damaged copies of them.
//
// Clips are cached: Generate writes each distinct Spec once into a shared directory (os.TempDir()
// by default, SUNOMI_TESTMEDIA_DIR to override) keyed by a hash of the arguments and the ffmpeg
// version, so every test in a package — and every package of a `go test ./...` run — reuses the
// same file. Files are written to a temporary name and renamed into place, so a reader never sees
// a partial clip, even when several test binaries generate the same Spec at once. Paths returned by
// Generate are shared: treat them as read-only and copy before modifying.
//
// The ffmpeg and ffprobe CLIs must be on PATH (`make deps` installs them); their absence fails the
// test rather than skipping it, because a skipped media test hides a broken environment.
package testmedia

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sunomi/sunomi/internal/testkit"
)

// Spec describes a generated clip; Args are the ffmpeg arguments between the global flags and the
// output path.
type Spec struct {
	// Name identifies the clip in file names and failure messages; it should say what is special
	// about the clip and include its parameters (e.g. "cfr-4s-320x240-30fps").
	Name string
	// Ext is the output file extension without the dot; ffmpeg picks the muxer from it.
	Ext string
	// Args are the input and encoding arguments: everything between ffmpeg's global flags
	// (-hide_banner -nostdin -loglevel error -y) and the output path.
	Args []string
	// Remux, when non-nil, adds a second pass: `ffmpeg -i <first pass output> <Remux> <output>`.
	// It exists for properties the FFmpeg 5.1 CLI only sets when stream copying, such as the
	// display matrix written from a rotate tag.
	Remux []string
}

// cacheDirEnv names the environment variable that overrides the cache directory.
const cacheDirEnv = "SUNOMI_TESTMEDIA_DIR"

// clip is one cache entry: generated once per process, shared by every caller of the same Spec.
type clip struct {
	once sync.Once
	path string
	err  error
}

var (
	clips sync.Map // cache key (string) → *clip

	versionOnce sync.Once
	version     string
	versionErr  error
)

// Generate returns the path of the clip s describes, generating it on first use. It fails the test
// with ffmpeg's stderr when ffmpeg is missing or rejects the arguments.
func Generate(tb testing.TB, s Spec) string {
	tb.Helper()
	if s.Name == "" || s.Ext == "" || strings.ContainsAny(s.Name+s.Ext, `/\`) {
		tb.Fatalf("testmedia: invalid spec %+v: need a Name and an Ext without path separators", s)
	}
	v, err := ffmpegVersion()
	if err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	key := cacheKey(v, s)
	c, _ := clips.LoadOrStore(key, &clip{})
	e := c.(*clip)
	e.once.Do(func() { e.path, e.err = generate(s, key) })
	if e.err != nil {
		tb.Fatalf("testmedia: generate %s.%s: %v", s.Name, s.Ext, e.err)
	}
	return e.path
}

// FFprobeJSON runs `ffprobe -v error -of json <args>` and returns its standard output, failing the
// test when ffprobe is missing or exits with an error.
func FFprobeJSON(tb testing.TB, args ...string) []byte {
	tb.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		tb.Fatalf("testmedia: ffprobe not found on PATH (run `make deps`): %v", err)
	}
	full := append([]string{"-v", "error", "-of", "json"}, args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffprobe", full...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("testmedia: ffprobe %s: %v\n%s", strings.Join(full, " "), err, testkit.Tail(stderr.String(), stderrTail))
	}
	return stdout.Bytes()
}

// ffmpegVersion returns ffmpeg's first -version line; it is part of the cache key so that a new
// ffmpeg build regenerates the clips.
func ffmpegVersion() (string, error) {
	versionOnce.Do(func() {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			versionErr = fmt.Errorf("ffmpeg not found on PATH (run `make deps`): %w", err)
			return
		}
		out, err := exec.Command("ffmpeg", "-hide_banner", "-version").Output()
		if err != nil {
			versionErr = fmt.Errorf("ffmpeg -version: %w", err)
			return
		}
		version, _, _ = strings.Cut(string(out), "\n")
	})
	return version, versionErr
}

func cacheKey(ffmpegVersion string, s Spec) string {
	h := sha256.New()
	// NUL separators keep ("a b", "c") and ("a", "b c") apart.
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", ffmpegVersion, s.Name, s.Ext)
	for _, a := range s.Args {
		fmt.Fprintf(h, "%s\x00", a)
	}
	fmt.Fprintf(h, "remux:%t\x00", s.Remux != nil)
	for _, a := range s.Remux {
		fmt.Fprintf(h, "%s\x00", a)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func cacheDir() string {
	if d := os.Getenv(cacheDirEnv); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "sunomi-testmedia")
}

// generate writes the clip unless a previous run already did. Whatever exists under the final
// name is complete, because it only ever appears there by rename.
func generate(s Spec, key string) (string, error) {
	dir := cacheDir()
	final := filepath.Join(dir, s.Name+"-"+key+"."+s.Ext)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	tmp, err := tempName(dir, s)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)

	if err := ffmpeg(s.Args, tmp); err != nil {
		return "", err
	}
	if s.Remux != nil {
		second, err := tempName(dir, s)
		if err != nil {
			return "", err
		}
		defer os.Remove(second)
		if err := ffmpeg(append([]string{"-i", tmp}, s.Remux...), second); err != nil {
			return "", fmt.Errorf("remux: %w", err)
		}
		tmp = second
	}
	// CreateTemp made the file private; the cache is shared.
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", fmt.Errorf("make clip readable: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("move clip into the cache: %w", err)
	}
	return final, nil
}

// tempName reserves a unique file next to the final one, with the same extension so that ffmpeg
// picks the same muxer.
func tempName(dir string, s Spec) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-"+s.Name+"-*."+s.Ext)
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close temporary file: %w", err)
	}
	return name, nil
}

func ffmpeg(args []string, out string) error {
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	full = append(full, out)
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", full...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ffmpeg %s: %w\n%s", strings.Join(full, " "), err, testkit.Tail(stderr.String(), stderrTail))
	}
	fi, err := os.Stat(out)
	if err != nil {
		return fmt.Errorf("ffmpeg wrote no output: %w", err)
	}
	if fi.Size() == 0 {
		return errors.New("ffmpeg wrote an empty file\n" + testkit.Tail(stderr.String(), stderrTail))
	}
	return nil
}

// stderrTail is how much of ffmpeg's or ffprobe's stderr a failure quotes: its end, where
// it reports what finally went wrong.
const stderrTail = 8 << 10
