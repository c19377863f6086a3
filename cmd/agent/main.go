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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newAgentCmd().ExecuteContext(ctx)
	stop()
	var code exitCode
	if errors.As(err, &code) {
		os.Exit(int(code))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a status of its own and nothing printed:
// the task process protocol speaks through exit statuses.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }
