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
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newAPICmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", oneLine(err))
		os.Exit(1)
	}
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
