// Command sunomi is the operator and developer CLI of Sunomi.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	var code exitCode
	if errors.As(err, &code) {
		os.Exit(int(code))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sunomi:", oneLine(err))
		os.Exit(1)
	}
}

// exitCode ends the process with a status of its own and nothing printed: the task process
// protocol of the agents `sunomi dev` runs speaks through exit statuses.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sunomi",
		Short:         "Sunomi: an open video platform and distributed transcoding farm",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTranscodeCmd(), newEncodersCmd(), newJobsCmd(), newAgentsCmd(), newClusterCmd(),
		newDevCmd(), newUsersCmd(), newRunTaskCmd())
	return root
}

// oneLine puts an error on the one line users get: some libraries (pgx) list every address
// they tried on a line of its own.
func oneLine(err error) string {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimSpace(err.Error()), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if s := b.String(); s != "" {
			if strings.HasSuffix(s, ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
	}
	return b.String()
}
