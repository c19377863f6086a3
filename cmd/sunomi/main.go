// Command sunomi is the operator and developer CLI of Sunomi.
package main

import (
	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/cmd/internal/runtask"
	"github.com/sunomi/sunomi/internal/cli"
)

func main() { cli.Main(newRootCmd()) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sunomi",
		Short:         "Sunomi: an open video platform and distributed transcoding farm",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTranscodeCmd(), newEncodersCmd(), newJobsCmd(), newAgentsCmd(), newClusterCmd(),
		newDevCmd(), newUsersCmd(), newTLSCmd(), newGossipCmd(), newSecretCmd(), runtask.NewCmd())
	return root
}
