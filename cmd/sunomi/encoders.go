package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

func newEncodersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "encoders",
		Short: "List the H.264 encoders that open on this host and the one --encoder auto picks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			avx.Quiet()
			auto, err := encoder.ResolveEncoder(media.EncoderAuto)
			if err != nil {
				return err
			}
			for _, e := range encoder.AvailableEncoders() {
				fmt.Fprintln(cmd.OutOrStdout(), e)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "auto: %s\n", auto)
			return nil
		},
	}
}
