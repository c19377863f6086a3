package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildsWithoutCgo proves that the coordinator links no libav: it builds
// with CGO_ENABLED=0, and nothing it depends on is go-astiav or one of the
// packages that drive libav.
func TestBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the coordinator binary")
	}
	build := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "coordinator"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/asticode/go-astiav", "github.com/sunomi/sunomi/pipeline",
			"github.com/sunomi/sunomi/encoder", "github.com/sunomi/sunomi/segmenter", "github.com/sunomi/sunomi/internal/avx"} {
			if dep == banned {
				t.Errorf("the coordinator depends on %s", dep)
			}
		}
	}
}
