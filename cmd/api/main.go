// Command api runs Sunomi's user-facing service: the REST and WebSocket API of the web app, on
// PostgreSQL and the blob store, submitting uploads to the transcoding farm's coordinators. It
// keeps no state between requests, so any number of replicas can run behind a load balancer.
// SIGTERM or SIGINT shuts it down gracefully: no new connections, requests in flight finish.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sunomi/sunomi/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newAPICmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", cli.OneLine(err))
		os.Exit(1)
	}
}
