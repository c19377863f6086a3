package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/internal/secret"
)

func newSecretCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "secret",
		Short: "Print a new random secret for --jwt-keys, --media-secret or --storage-secret",
		Long: `Print a new random secret: 32 bytes from the system's random source, in base64url
(43 characters, safe in URLs, environment variables and kid:secret lists). The api service
refuses secrets that are short, repeated or made of common words; use one of these instead,
a different one for each purpose.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), secret.New())
			return err
		},
	}
}
