package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/pgtest"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestMain gives the package a PostgreSQL cluster for `sunomi users` and `sunomi dev`.
func TestMain(m *testing.M) { pgtest.Main(m) }

// sunomiBinary builds ./cmd/sunomi once per test binary (testkit.Build). The tests run the real
// binary, as users and the farm's agents do: a panic trace or a death by signal only shows up
// there.
func sunomiBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the sunomi binary on generated media; skipped with -short")
	}
	return testkit.Build(t, "sunomi")
}

// cliResult is how a run of the binary ended.
type cliResult struct {
	stdout, stderr string
	state          *os.ProcessState
}

func runSunomi(t *testing.T, args ...string) cliResult {
	t.Helper()
	bin := sunomiBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sunomi %s did not finish in time: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run sunomi %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), state: cmd.ProcessState}
}

// wantOneLineFailure checks a failed run the way a user sees it: a non-zero exit (not a signal)
// and exactly one line on stderr that says what is wrong, with no Go runtime noise.
func wantOneLineFailure(t *testing.T, r cliResult, wantInLine string) {
	t.Helper()
	if ws, ok := r.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("sunomi was killed by signal %v, want a clean non-zero exit; stderr:\n%s", ws.Signal(), r.stderr)
	}
	if code := r.state.ExitCode(); code <= 0 {
		t.Errorf("exit code = %d, want non-zero; stderr:\n%s", code, r.stderr)
	}
	line := strings.TrimSuffix(r.stderr, "\n")
	if line == "" || strings.Contains(line, "\n") {
		t.Errorf("stderr = %q, want exactly one line", r.stderr)
	}
	for _, noise := range []string{"goroutine", "panic", "runtime error", "SIGSEGV", "Usage:"} {
		if strings.Contains(r.stderr+r.stdout, noise) {
			t.Errorf("output contains %q, want a plain sentence; stderr:\n%s", noise, r.stderr)
		}
	}
	if !strings.Contains(strings.ToLower(line), strings.ToLower(wantInLine)) {
		t.Errorf("stderr = %q, want it to mention %q", line, wantInLine)
	}
}

func wantSuccess(t *testing.T, r cliResult) {
	t.Helper()
	if ws, ok := r.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("sunomi was killed by signal %v; stderr:\n%s", ws.Signal(), r.stderr)
	}
	if code := r.state.ExitCode(); code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, r.stderr)
	}
}

// segmentsIn lists the media segments under dir, MPEG-TS or fMP4 (init segments too), none
// when dir does not exist.
func segmentsIn(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); ext == ".ts" || ext == ".m4s" || ext == ".mp4" {
			found = append(found, p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return found
}

// decodeErrors decodes path with the ffmpeg CLI and returns what it printed at level error.
func decodeErrors(t *testing.T, path string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stderr.String() + " (" + err.Error() + ")")
	}
	return strings.TrimSpace(stderr.String())
}

// hardwareEncoders asks the binary which hardware H.264 encoders open on this host.
func hardwareEncoders(t *testing.T) (hw []string, auto string) {
	t.Helper()
	r := runSunomi(t, "encoders")
	wantSuccess(t, r)
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if a, ok := strings.CutPrefix(l, "auto: "); ok {
			auto = a
		} else if l != "libx264" && !strings.HasPrefix(l, "av1: ") {
			hw = append(hw, l)
		}
	}
	return hw, auto
}

func TestTranscodeCLIRejectsBadInput(t *testing.T) {
	sunomiBinary(t)
	clip := testmedia.Generate(t, testmedia.CFR(3, 640, 360, 30, true))
	missing := filepath.Join(t.TempDir(), "does-not-exist.mp4")
	tests := []struct {
		name   string
		args   func(t *testing.T, out string) []string
		wantIn string
	}{
		{"zero-byte", func(t *testing.T, out string) []string {
			return []string{"transcode", testmedia.ZeroByte(t), "-o", out}
		}, "zero-byte.mp4"},
		{"text-file", func(t *testing.T, out string) []string {
			return []string{"transcode", testmedia.TextFile(t), "-o", out}
		}, "text.mp4"},
		{"truncated-mp4", func(t *testing.T, out string) []string {
			return []string{"transcode", testmedia.Truncated(t, clip), "-o", out}
		}, "truncated-"},
		{"nonexistent-source", func(t *testing.T, out string) []string {
			return []string{"transcode", missing, "-o", out}
		}, "does-not-exist.mp4"},
		{"missing-output-flag", func(t *testing.T, out string) []string {
			return []string{"transcode", clip}
		}, "-o"},
		{"missing-source", func(t *testing.T, out string) []string {
			return []string{"transcode", "-o", out}
		}, "arg"},
		{"wider-than-max-width", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--max-width", "320"}
		}, "limit"},
		{"longer-than-max-duration", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--max-duration", "2"}
		}, "limit"},
		{"unknown-encoder", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--encoder", "h264_nothing"}
		}, "h264_nothing"},
		{"unknown-rung", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--rungs", "1000"}
		}, "1000"},
		{"unknown-segment-format", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--segments", "webm"}
		}, "webm"},
		{"unknown-av1-policy", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--av1", "popular"}
		}, "popular"},
		{"av1-in-mpeg-ts", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--av1", "all", "--segments", "ts"}
		}, "--segments fmp4"},
		{"segment-too-short", func(t *testing.T, out string) []string {
			return []string{"transcode", clip, "-o", out, "--segment", "10ms"}
		}, "segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			r := runSunomi(t, tt.args(t, out)...)
			wantOneLineFailure(t, r, tt.wantIn)
			// Rejected before any encoding: not one segment written.
			if segs := segmentsIn(t, out); len(segs) > 0 {
				t.Errorf("wrote %d segments (%s…), want none", len(segs), segs[0])
			}
		})
	}
}

func TestTranscodeCLIEncoderChoice(t *testing.T) {
	sunomiBinary(t)
	hw, auto := hardwareEncoders(t)
	clip := testmedia.Generate(t, testmedia.Tiny())

	t.Run("nvenc without a GPU", func(t *testing.T) {
		if slices.Contains(hw, "h264_nvenc") {
			t.Skip("h264_nvenc opens on this host")
		}
		out := filepath.Join(t.TempDir(), "out")
		r := runSunomi(t, "transcode", clip, "-o", out, "--encoder", "h264_nvenc")
		wantOneLineFailure(t, r, "h264_nvenc")
		if segs := segmentsIn(t, out); len(segs) > 0 {
			t.Errorf("wrote %d segments, want none", len(segs))
		}
	})

	t.Run("auto falls back to libx264", func(t *testing.T) {
		wantEncoder := "libx264"
		if len(hw) > 0 {
			wantEncoder = auto // a hardware encoder opens here: auto must pick one
		}
		if auto != wantEncoder {
			t.Errorf("sunomi encoders says auto: %s, want %s (hardware: %v)", auto, wantEncoder, hw)
		}
		out := filepath.Join(t.TempDir(), "out")
		report := filepath.Join(t.TempDir(), "elsewhere", "report.json")
		r := runSunomi(t, "transcode", clip, "-o", out, "--encoder", "auto", "--report", report, "--workers", "2")
		wantSuccess(t, r)
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatalf("--report %s: %v", report, err)
		}
		var rep struct {
			Encoder string `json:"encoder"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("report: %v", err)
		}
		if rep.Encoder != wantEncoder {
			t.Errorf("report encoder = %q, want %q", rep.Encoder, wantEncoder)
		}
		if msg := decodeErrors(t, filepath.Join(out, "master.m3u8")); msg != "" {
			t.Errorf("ffmpeg -v error -i master.m3u8 printed %q, want nothing", msg)
		}
		if !strings.Contains(r.stdout, "master.m3u8") {
			t.Errorf("stdout = %q, want it to say where the master playlist is", r.stdout)
		}
		// No --segments: CMAF, with its DASH manifest beside the playlists.
		if mpd, err := os.ReadFile(filepath.Join(out, layout.DASHManifest)); err != nil {
			t.Errorf("no DASH manifest, want the default segments fMP4: %v", err)
		} else if m, err := hls.ParseDASHManifest(mpd); err != nil || len(m.Sets) != 2 {
			t.Errorf("DASH manifest (%v): %+v, want a video and an audio set", err, m)
		}
	})
}

// TestTranscodeCLIDamagedInput covers inputs that still hold playable media: the binary exits 0
// and writes a ladder that decodes without errors.
func TestTranscodeCLIDamagedInput(t *testing.T) {
	sunomiBinary(t)
	ts := testmedia.Generate(t, testmedia.CFRTS(8, 320, 240, 30, true))
	tests := []struct {
		name         string
		src          func(t *testing.T) string
		wantWarnings bool
	}{
		// Cut to 40 %: MPEG-TS has no index, so the first seconds remain playable.
		{"truncated-ts", func(t *testing.T) string { return testmedia.Truncated(t, ts) }, false},
		{"corrupt-middle", func(t *testing.T) string { return testmedia.CorruptMiddle(t, ts) }, true},
	}
	for _, format := range []string{"ts", "fmp4"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				out := filepath.Join(t.TempDir(), "out")
				r := runSunomi(t, "transcode", tt.src(t), "-o", out, "--workers", "2", "--segment", "2s", "--chunk", "4s", "--segments", format)
				wantSuccess(t, r)
				if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
					t.Errorf("stderr has a Go trace:\n%s", r.stderr)
				}
				b, err := os.ReadFile(filepath.Join(out, "report.json"))
				if err != nil {
					t.Fatal(err)
				}
				var rep struct {
					Warnings []string `json:"warnings"`
					Ladder   []struct {
						Name string `json:"name"`
					} `json:"ladder"`
				}
				if err := json.Unmarshal(b, &rep); err != nil {
					t.Fatalf("report.json: %v", err)
				}
				if tt.wantWarnings && len(rep.Warnings) == 0 {
					t.Errorf("report.json has no warnings, want the damage reported")
				}
				for _, rung := range rep.Ladder {
					if msg := decodeErrors(t, filepath.Join(out, rung.Name, "playlist.m3u8")); msg != "" {
						t.Errorf("ffmpeg -v error -i %s/playlist.m3u8 printed %q, want nothing", rung.Name, msg)
					}
				}
				if msg := decodeErrors(t, filepath.Join(out, "audio", "playlist.m3u8")); msg != "" {
					t.Errorf("ffmpeg -v error -i audio/playlist.m3u8 printed %q, want nothing", msg)
				}
			})
		}
	}
}

// TestTranscodeMemoryBoundedByChunk checks that peak memory follows the
// chunk, not the file: a source eight times longer must not need more than
// a little more memory (the keyframe index and the task results grow by a
// few bytes a frame, the storyboard is capped), nothing like eight times as
// much. The short source is 32 s so
// that both runs are past the start-up growth of the heap and encoders.
func TestTranscodeMemoryBoundedByChunk(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes two clips")
	}
	peak := func(seconds int) int64 {
		src := testmedia.Generate(t, testmedia.CFR(seconds, 320, 240, 30, true))
		r := runSunomi(t, "transcode", src, "-o", t.TempDir(), "--workers", "1", "--chunk", "4s")
		wantSuccess(t, r)
		return r.state.SysUsage().(*syscall.Rusage).Maxrss // KiB
	}
	short, long := peak(32), peak(256)
	t.Logf("peak RSS: 32 s source %d KiB, 256 s source %d KiB", short, long)
	// Memory that followed the file would grow eightfold; the heap's pacing
	// alone moves peak RSS by up to a quarter between runs on a busy machine.
	if limit := short + short/2; long > limit {
		t.Errorf("peak RSS for a 256 s source = %d KiB, want at most %d KiB (32 s source: %d KiB + 50%%)", long, limit, short)
	}
}
