// Command agent runs a Sunomi farm worker: it leases transcoding tasks from
// the coordinators, runs each one in a child process of this binary
// (`agent run-task`, hidden) and reports the results. SIGTERM or SIGINT
// drains it: no new work, running tasks finish, queued ones are handed back.
package main

import "github.com/sunomi/sunomi/internal/cli"

func main() { cli.Main(newAgentCmd()) }
