// Package runtask is the hidden task-process subcommand of the binaries that run agents
// (`agent run-task`, and the agents of `sunomi dev`). It lives apart from internal/cli, which
// every binary shares, because it links the pipeline and so libav: the coordinator must not.
package runtask

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/agent"
	"github.com/sunomi/sunomi/internal/cli"
)

// NewCmd is the task process an agent starts for every task; its flags belong to
// agent.RunTaskMain. It lives here rather than in agent so that agent does not depend on cobra.
func NewCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "run-task --spec FILE --out DIR --result FILE [--memory-limit BYTES]",
		Short:              "Run one task as a child process of an agent (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			// Only the agent drains on a signal; a task process dies of it.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			if code := agent.RunTaskMain(args); code != 0 {
				return cli.ExitCode(code)
			}
			return nil
		},
	}
}
