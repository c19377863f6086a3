package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/segmenter"
	"github.com/sunomi/sunomi/storage/layout"
)

func newTranscodeCmd() *cobra.Command {
	var (
		outDir, report, rungs string
		segments, av1         string
		opts                  media.Options
		verbose               bool
	)
	cmd := &cobra.Command{
		Use:   "transcode SRC -o OUTDIR",
		Short: "Transcode one file into an HLS ladder with the farm's chunked pipeline, on this machine",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return errors.New("--output (-o) is required")
			}
			if rungs != "" {
				var err error
				if opts.Rungs, err = media.ParseRungs(rungs); err != nil {
					return err
				}
			}
			var err error
			if opts.Segments, err = media.ParseSegmentFormat(segments); err != nil {
				return err
			}
			if opts.AV1, err = media.ParseAV1Policy(av1); err != nil {
				return err
			}
			// AV1 rungs are CMAF only: --av1 all makes fMP4 the default, and
			// an explicit --segments ts is refused rather than overridden.
			if opts.AV1 == media.AV1All && !cmd.Flags().Changed("segments") {
				opts.Segments = media.SegmentsFMP4
			}
			if err := opts.CheckAV1(); err != nil {
				return err
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			var logOut io.Writer = cmd.ErrOrStderr()
			log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})).With("component", "transcode")
			avx.Quiet()
			r, err := pipeline.Transcode(cmd.Context(), log, args[0], outDir, report, opts)
			if err != nil {
				if errors.Is(err, segmenter.ErrInvalidMedia) {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				return err
			}
			printSummary(cmd.OutOrStdout(), outDir, r)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&outDir, "output", "o", "", "output directory for the HLS ladder")
	f.IntVar(&opts.Workers, "workers", runtime.NumCPU(), "in-process workers encoding chunks in parallel")
	f.DurationVar(&opts.Segment, "segment", media.DefaultSegment, "HLS segment duration")
	f.DurationVar(&opts.Chunk, "chunk", media.DefaultChunk, "chunk duration (rounded down to whole segments)")
	f.StringVar(&opts.Preset, "preset", media.DefaultPreset, "x264 preset")
	f.IntVar(&opts.CRF, "crf", media.DefaultCRF, "x264 constant rate factor")
	f.StringVar(&opts.Encoder, "encoder", media.EncoderAuto, "H.264 encoder: auto, libx264, h264_nvenc or h264_qsv")
	f.StringVar(&segments, "segments", string(media.DefaultSegments), "segment container: fmp4 (CMAF: HLS version 7 and DASH) or ts (MPEG-TS)")
	f.StringVar(&av1, "av1", string(media.AV1Off), "AV1 rungs beside the H.264 ones: off, or all (an AV1 rung per H.264 rung; fMP4 segments only)")
	f.StringVar(&rungs, "rungs", "", "comma-separated rungs, e.g. 1080,720,480,360 (default: every rung up to the source)")
	f.StringVar(&report, "report", "", "where to write the JSON report (default OUTDIR/report.json)")
	f.IntVar(&opts.Limits.MaxWidth, "max-width", media.DefaultLimits.MaxWidth, "reject sources wider than this")
	f.IntVar(&opts.Limits.MaxHeight, "max-height", media.DefaultLimits.MaxHeight, "reject sources taller than this")
	f.Float64Var(&opts.Limits.MaxDuration, "max-duration", media.DefaultLimits.MaxDuration, "reject sources longer than this many seconds")
	f.BoolVarP(&verbose, "verbose", "v", false, "log progress to stderr")
	return cmd
}

func printSummary(w io.Writer, outDir string, r *pipeline.Report) {
	o := r.Output
	fmt.Fprintf(w, "transcoded %s (%.1fs of media) in %s\n", r.Source, o.Duration, time.Duration(r.Seconds*float64(time.Second)).Round(time.Millisecond))
	for _, rs := range o.Rungs {
		fmt.Fprintf(w, "  %-8s %4dx%-4d %8.0f kb/s avg %8.0f kb/s peak  %s\n", rs.Name, rs.Width, rs.Height,
			float64(rs.AverageBandwidth)/1000, float64(rs.Bandwidth)/1000, rs.Codec)
	}
	if a := o.Audio; a != nil {
		fmt.Fprintf(w, "  audio    AAC 48 kHz stereo %5.0f kb/s avg\n", float64(a.AverageBandwidth)/1000)
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warning)
	}
	fmt.Fprintf(w, "master playlist: %s/%s\n", outDir, layout.MasterPlaylist)
}
