package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Main is the whole main of every Sunomi binary: it runs root with a context that SIGINT or
// SIGTERM cancels, so that a service drains or shuts down instead of dying, and ends the process
// with the status the error maps to (see exitStatus).
func Main(root *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if code := exitStatus(root.Name(), err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitStatus maps what a command returned to its process's exit status: 0 for nil; an
// ExitCode's own status, with nothing printed; else 1, after the error on one line of stderr
// behind the command's name ("agent: --data-dir is required").
func exitStatus(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var code ExitCode
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, OneLine(err))
	return 1
}
