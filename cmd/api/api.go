package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cmd/internal/apicmd"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/storage"
)

// Timeouts of the process's life: connecting to the database at start-up (migrations included),
// and letting requests in flight finish at shutdown (Nomad's kill_timeout is 30 s).
const (
	startTimeout    = time.Minute
	shutdownTimeout = 25 * time.Second
)

func newAPICmd() *cobra.Command {
	var f apicmd.Flags
	cmd := &cobra.Command{
		Use:           "api --database-url URL --storage URL --coordinator URL,… --jwt-keys KID:SECRET --media-secret SECRET",
		Short:         "Run Sunomi's API service (REST and WebSocket for the web app)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.ApplyEnv(cmd.Flags()); err != nil {
				return err
			}
			s, err := f.Settings()
			if err != nil {
				return err
			}
			return run(cmd.Context(), s)
		},
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	f.AddFlags(cmd.Flags(), ":8080")
	f.AddDeploymentFlags(cmd.Flags())
	return cmd
}

func run(ctx context.Context, s apicmd.Settings) error {
	log := s.Log
	// Listening first makes a taken port the first error, before the database is touched.
	ln, err := net.Listen("tcp", s.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.HTTP, err)
	}
	defer ln.Close()
	metricsAddr, stopMetrics, err := s.ServeMetrics()
	if err != nil {
		return err
	}
	// Served until the end: the last requests are worth watching.
	defer stopMetrics()

	openCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	db, err := store.Open(openCtx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(openCtx, log); err != nil {
		return err
	}
	blobs, err := storage.Open(s.StorageURL, s.StorageOpts)
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	cfg := s.Config
	cfg.Store, cfg.Blobs, cfg.Farm = db, blobs, client.New(s.Coordinators, s.FarmTLS, nil)
	srv, err := apicmd.Start(ctx, ln, cfg, s.TLS)
	if err != nil {
		return err
	}
	log.Info("api listening", "addr", ln.Addr().String(), "tls", s.TLS != nil, "public_url", cfg.PublicURL,
		"coordinators", strings.Join(s.Coordinators, ","), "metrics_addr", metricsAddr)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-srv.Failed():
		serveErr = fmt.Errorf("serve http: %w", serveErr)
	}
	stopCtx, cancelStop := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelStop()
	if err := srv.Close(stopCtx); err != nil || serveErr != nil {
		return errors.Join(serveErr, err)
	}
	log.Info("api stopped")
	return nil
}
