// Command sunomi is the operator and developer CLI of Sunomi.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	var code cli.ExitCode
	if errors.As(err, &code) {
		os.Exit(int(code))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sunomi:", cli.OneLine(err))
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sunomi",
		Short:         "Sunomi: an open video platform and distributed transcoding farm",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTranscodeCmd(), newEncodersCmd(), newJobsCmd(), newAgentsCmd(), newClusterCmd(),
		newDevCmd(), newUsersCmd(), cli.NewRunTaskCmd())
	return root
}
