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
		Short: "List the H.264 encoders that open on this host, the one --encoder auto picks, and the AV1 encoder",
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
			// What an agent on this host advertises for the farm's AV1
			// tasks, and what --av1 all needs.
			av1 := "none (" + media.EncoderSVTAV1 + " is not built into libavcodec)"
			if encoder.AV1Available() {
				av1 = media.EncoderSVTAV1
			}
			fmt.Fprintf(cmd.OutOrStdout(), "av1: %s\n", av1)
			return nil
		},
	}
}
