// Command agent runs a Sunomi farm worker: it leases transcoding tasks from
// the coordinators, runs each one in a child process of this binary
// (`agent run-task`, hidden) and reports the results. SIGTERM or SIGINT
// drains it: no new work, running tasks finish, queued ones are handed back.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sunomi/sunomi/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newAgentCmd().ExecuteContext(ctx)
	stop()
	var code cli.ExitCode
	if errors.As(err, &code) {
		os.Exit(int(code))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}
