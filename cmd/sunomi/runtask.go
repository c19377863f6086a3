package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/agent"
)

// newRunTaskCmd is the task process the agents of `sunomi dev` start for every task, as
// `agent run-task` is for cmd/agent; its flags belong to agent.RunTaskMain.
func newRunTaskCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "run-task --spec FILE --out DIR --result FILE [--memory-limit BYTES]",
		Short:              "Run one task as a child process of an agent (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			// Only the agent drains on a signal; a task process dies of it.
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			if code := agent.RunTaskMain(args); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
}
