// Command api runs Sunomi's user-facing service: the REST and WebSocket API of the web app, on
// PostgreSQL and the blob store, submitting uploads to the transcoding farm's coordinators. It
// keeps no state between requests, so any number of replicas can run behind a load balancer.
// SIGTERM or SIGINT shuts it down gracefully: no new connections, requests in flight finish.
package main

import "github.com/sunomi/sunomi/internal/cli"

func main() { cli.Main(newAPICmd()) }
