package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/internal/testkit"
)

func TestMain(m *testing.M) {
	testkit.RunAsCommand(func() { Main(newFakeRoot()) })
	os.Exit(m.Run())
}

// newFakeRoot is the command Main runs in this package's test binary.
func newFakeRoot() *cobra.Command {
	root := &cobra.Command{Use: "fake", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(&cobra.Command{Use: "ok", RunE: func(*cobra.Command, []string) error { return nil }})
	root.AddCommand(&cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error {
		return errors.New("connect:\n  127.0.0.1: refused\n  ::1: refused")
	}})
	root.AddCommand(&cobra.Command{Use: "wait", RunE: func(cmd *cobra.Command, _ []string) error {
		fmt.Println("waiting")
		select {
		case <-cmd.Context().Done():
			return ExitCode(7) // a status only this path gives
		case <-time.After(time.Minute):
			return errors.New("no signal reached the command's context")
		}
	}})
	return root
}

func TestMainExitStatusAndOutput(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"success", []string{"ok"}, 0, ""},
		{"error on one line", []string{"fail"}, 1, "fake: connect: 127.0.0.1: refused; ::1: refused\n"},
		{"cobra's own error", []string{"nonsense"}, 1, "fake: unknown command \"nonsense\" for \"fake\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, out := testkit.Command(t, nil, tt.args...)
			err := cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != tt.wantCode {
				t.Errorf("exit status %d (%v), want %d", got, err, tt.wantCode)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMainCancelsTheContextOnSIGTERM(t *testing.T) {
	cmd, out := testkit.Command(t, nil, "wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	testkit.WaitFor(t, 10*time.Second, "the command to wait", func() bool { return out.String() == "waiting\n" })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Errorf("after SIGTERM: %v, want exit status 7 from the cancelled command; output %q", err, out)
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		want     string
	}{
		{"nil", nil, 0, ""},
		{"exit code, silent", fmt.Errorf("task: %w", ExitCode(2)), 2, ""},
		{"error", errors.New("--data-dir is required"), 1, "agent: --data-dir is required\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := exitStatus("agent", tt.err, &stderr); got != tt.wantCode {
				t.Errorf("exitStatus = %d, want %d", got, tt.wantCode)
			}
			if got := stderr.String(); got != tt.want {
				t.Errorf("stderr %q, want %q", got, tt.want)
			}
		})
	}
}
