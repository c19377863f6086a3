package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles cmd/coordinator; skipped with -short")
	}
	path := Build(t, "coordinator")
	if again := Build(t, "coordinator"); again != path {
		t.Errorf("second Build = %q, want the first's %q", again, path)
	}
	cache, err := os.UserCacheDir()
	if err == nil && !strings.HasPrefix(path, filepath.Join(cache, "sunomi", "test-bin")+string(filepath.Separator)) {
		t.Errorf("binary at %s, want it under the user's cache directory", path)
	}
	out, err := exec.Command(path, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "coordinator") {
		t.Errorf("%s --help: %v\n%s", path, err, out)
	}
}

func TestBuildFailureNamesTheCommand(t *testing.T) {
	msg := Failure(t, func(tb testing.TB) { Build(tb, "no-such-command") })
	if !strings.Contains(msg, "go build ./cmd/no-such-command") {
		t.Errorf("Build failed with %q, want it to name the command it could not build", msg)
	}
}
