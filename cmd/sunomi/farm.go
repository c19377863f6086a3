package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/cli"
)

// farmFlags are shared by the commands that talk to a running farm.
type farmFlags struct {
	coordinator string
	tls         cli.TLSFlags
}

func (f *farmFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.coordinator, "coordinator", "", "comma-separated coordinator URLs (default $SUNOMI_COORDINATOR)")
	cli.BindEnv(fl, "coordinator", "SUNOMI_COORDINATOR")
	f.tls.Register(fl, pki.RoleClient)
	cmd.PersistentPreRunE = cli.ApplyEnvPreRun
}

func (f *farmFlags) client() (*client.Client, error) {
	if f.coordinator == "" {
		return nil, errors.New("no coordinator: pass --coordinator URL or set SUNOMI_COORDINATOR")
	}
	tlsm, err := cluster.LoadTLS(f.tls.Files())
	if err != nil {
		return nil, err
	}
	return client.New(cli.SplitList(f.coordinator), tlsm, nil), nil
}

func newJobsCmd() *cobra.Command {
	var ff farmFlags
	cmd := &cobra.Command{Use: "jobs", Short: "Submit, list, watch and cancel transcoding jobs on a farm"}
	ff.register(cmd)
	cmd.AddCommand(newJobsSubmitCmd(&ff), newJobsLsCmd(&ff), newJobsWatchCmd(&ff), newJobsCancelCmd(&ff))
	return cmd
}

func newJobsSubmitCmd(ff *farmFlags) *cobra.Command {
	var (
		opts  wire.JobOptions
		watch bool
	)
	cmd := &cobra.Command{
		Use:   "submit FILE",
		Short: "Upload FILE through the coordinator's storage and submit a job for it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ff.client()
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			key := fmt.Sprintf("uploads/%d-%s", time.Now().UnixNano(), filepath.Base(args[0]))
			if err := c.Upload(cmd.Context(), key, f, st.Size()); err != nil {
				return fmt.Errorf("upload: %w", err)
			}
			j, err := c.SubmitJob(cmd.Context(), "", wire.SubmitJob{Source: key, Options: opts})
			if err != nil {
				return fmt.Errorf("submit: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s submitted; output will be published under %s\n", j.ID, j.Output)
			if watch {
				return watchJob(cmd.Context(), c, j.ID, cmd.OutOrStdout())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Segment, "segment", "", "segment duration (default 4s)")
	f.StringVar(&opts.Segments, "segments", "", "segment container: fmp4 (CMAF: HLS version 7 and DASH) or ts (MPEG-TS) (default fmp4)")
	f.StringVar(&opts.Chunk, "chunk", "", "chunk duration (default 16s)")
	f.StringVar(&opts.Preset, "preset", "", "x264 preset (default veryfast)")
	f.IntVar(&opts.CRF, "crf", 0, "x264 CRF (default 21)")
	f.IntSliceVar(&opts.Rungs, "rungs", nil, "rungs, e.g. 1080,720,480 (default: the whole ladder up to the source)")
	f.StringVar(&opts.AV1, "av1", "", "AV1 rungs: off, or all (an AV1 rung per H.264 rung, fMP4 only, encoded after the H.264 ladder is published) (default off)")
	f.BoolVarP(&watch, "watch", "w", false, "watch the job until it finishes")
	return cmd
}

func newJobsLsCmd(ff *farmFlags) *cobra.Command {
	var q client.JobQuery
	var output string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List jobs, newest first, a page at a time",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", output)
			}
			c, err := ff.client()
			if err != nil {
				return err
			}
			page, err := c.ListJobs(cmd.Context(), q)
			if err != nil {
				return err
			}
			if output == "json" {
				// The page as the coordinator answers it, cursor included, for scripts (jq).
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(page)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tCHUNKS\tCREATED\tOUTPUT\tERROR")
			for _, j := range page.Jobs {
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.State, j.ChunksDone, j.ChunksTotal,
					j.Created.Local().Format(time.DateTime), j.Output, j.Error)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if page.Next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more jobs: add --after %s\n", page.Next)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&q.States, "state", nil, "only jobs in these states: queued, running (splitting, encoding, stitching), done, failed, canceled")
	f.IntVar(&q.Limit, "limit", wire.DefaultJobsLimit, fmt.Sprintf("jobs per page, at most %d", wire.MaxJobsLimit))
	f.StringVar(&q.After, "after", "", "continue after a previous page (the cursor it printed)")
	f.StringVarP(&output, "output", "o", "table", "table, or json: the page with its jobs and the next cursor")
	return cmd
}

func newJobsCancelCmd(ff *farmFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ff.client()
			if err != nil {
				return err
			}
			if err := c.CancelJob(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s canceled\n", args[0])
			return nil
		},
	}
}

func newAgentsCmd() *cobra.Command {
	var ff farmFlags
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "List the farm's agents with their load and encoders",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ff.client()
			if err != nil {
				return err
			}
			agents, err := c.Agents(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tBUSY/SLOTS\tCORES\tENCODERS\tVERSION\tLAST SEEN")
			for _, a := range agents {
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\n", a.ID, a.State, a.Busy, a.Slots, a.Cores,
					strings.Join(a.Encoders, ","), a.Version, a.LastSeen.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	ff.register(cmd)
	return cmd
}

func newClusterCmd() *cobra.Command {
	var ff farmFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Show the coordinators' Raft cluster: peers, leader, term, commit index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ff.client()
			if err != nil {
				return err
			}
			cl, err := c.Cluster(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "answered by %s (%s); leader %s at %s; term %d, commit index %d, applied %d\n",
				cl.NodeID, cl.State, cl.Leader, cl.LeaderHTTP, cl.Term, cl.CommitIndex, cl.AppliedIndex)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tADDRESS\tSUFFRAGE\tLEADER")
			for _, p := range cl.Peers {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", p.ID, p.Address, p.Suffrage, p.Leader)
			}
			return tw.Flush()
		},
	}
	ff.register(cmd)
	return cmd
}
