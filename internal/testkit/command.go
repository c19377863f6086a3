package testkit

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/internal/syncbuf"
)

// commandEnv marks a test binary that Command started: it is to be the command, not its tests.
const commandEnv = "SUNOMI_TESTKIT_RUN_MAIN"

// RunAsCommand, called first in the TestMain of a command's package, runs the command's main
// and exits when Command started this test binary. The tests of a command so start the real
// command in a process of its own (exit statuses, signals, output) without building it, and a
// command that re-executes itself (the agent's task processes) reaches its main again too.
func RunAsCommand(main func()) {
	if os.Getenv(commandEnv) == "1" {
		main()
		os.Exit(0)
	}
}

// Command prepares the command whose package is under test, run by its own test binary (see
// RunAsCommand) with args, in this environment less the variables Sunomi's commands read
// (SUNOMI_*, GITHUB_*, DATABASE_URL), plus env. Its output, standard and error, collects in
// the buffer.
func Command(tb testing.TB, env []string, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("find the test binary: %v", err)
	}
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SUNOMI_") && !strings.HasPrefix(name, "GITHUB_") && name != "DATABASE_URL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, commandEnv+"=1"), env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}
