// Command coordinator runs one node of Sunomi's Raft-replicated coordinator.
package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/storage"
)

func main() { cli.Main(newCoordinatorCmd()) }

type flags struct {
	cfg                      cluster.Config
	join, storageURL         string
	tls                      cli.TLSFlags
	gossipKey, gossipKeyFile string
	insecureDev              bool
	logLevel                 string

	storageSecret, storageSecretFile string
}

func newCoordinatorCmd() *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:               "coordinator --node-id ID --data-dir DIR --http-addr HOST:PORT --raft-addr HOST:PORT --gossip-addr HOST:PORT",
		Short:             "Run a node of Sunomi's Raft-replicated transcoding coordinator",
		Args:              cobra.NoArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: cli.ApplyEnvPreRun,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.NodeID, "node-id", "", "unique name of this coordinator (required)")
	fl.StringVar(&f.cfg.DataDir, "data-dir", "", "directory for the Raft log, snapshots and local storage (required)")
	fl.StringVar(&f.cfg.HTTPAddr, "http-addr", "127.0.0.1:7000", "HOST:PORT of the HTTP API")
	fl.StringVar(&f.cfg.RaftAddr, "raft-addr", "127.0.0.1:7001", "HOST:PORT for Raft traffic")
	fl.StringVar(&f.cfg.GossipAddr, "gossip-addr", "127.0.0.1:7002", "HOST:PORT for memberlist gossip")
	fl.StringVar(&f.cfg.HealthAddr, "health-addr", "", "HOST:PORT serving GET /healthz alone over plain HTTP, for health checks that have no client certificate (default: not served)")
	fl.StringVar(&f.join, "join", "", "comma-separated gossip addresses of other members")
	fl.IntVar(&f.cfg.BootstrapExpect, "bootstrap-expect", 0, "bootstrap a new cluster once this many coordinators see each other (1: alone; 0: join an existing cluster)")
	fl.StringVar(&f.storageURL, "storage", "", "file:///path or s3://bucket?endpoint=HOST:PORT&secure=false (default file://DATA-DIR/blobs); S3 credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	f.tls.Register(fl, pki.RoleServer)
	fl.StringVar(&f.gossipKey, "gossip-key", "", "base64 memberlist encryption key of 16, 24 or 32 bytes (or SUNOMI_GOSSIP_KEY; made by sunomi gossip keygen)")
	fl.StringVar(&f.gossipKeyFile, "gossip-key-file", "", "file holding the base64 gossip key")
	fl.StringVar(&f.storageSecret, "storage-secret", "", "HMAC key (at least 16 bytes, the same on every coordinator) signing the URLs of file:// storage (or SUNOMI_STORAGE_SECRET)")
	fl.StringVar(&f.storageSecretFile, "storage-secret-file", "", "file holding the storage secret")
	fl.BoolVar(&f.insecureDev, "insecure-dev", false, "run without TLS material or gossip key: plain HTTP and Raft, gossip in clear, every caller trusted, any gossip member made a voter (throwaway test farms only)")
	fl.DurationVar(&f.cfg.LeaseTTL, "lease-ttl", 10*time.Second, "how long an attempt's lease lives without a heartbeat")
	fl.DurationVar(&f.cfg.FailoverGrace, "failover-grace", 15*time.Second, "lease granted to every inherited attempt when a new leader takes over")
	fl.DurationVar(&f.cfg.JobRetention, "job-retention", cluster.DefaultRetention, "how long a finished job stays listed after its clean-up before it is compacted out of the replicated state")
	fl.DurationVar(&f.cfg.AgentRetention, "agent-retention", cluster.DefaultRetention, "how long a dead or departed agent stays listed after it was last heard from")
	fl.DurationVar(&f.cfg.AV1AgentWait, "av1-agent-wait", cluster.DefaultAV1AgentWait, "how long a job's AV1 rungs wait for an agent that advertises the AV1 encoder (libsvtav1) before their AV1 job fails; the H.264 ladder is published regardless")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&f.cfg.Fast, "fast", false, "short Raft and gossip timeouts for loopback test clusters")
	_ = fl.MarkHidden("fast")
	return cmd
}

func run(ctx context.Context, f flags) error {
	cfg := f.cfg
	if cfg.NodeID == "" || cfg.DataDir == "" {
		return errors.New("--node-id and --data-dir are required")
	}
	var err error
	if cfg.Logger, err = cli.NewLogger(f.logLevel); err != nil {
		return err
	}
	creds, err := cluster.ReadCredentials(cluster.CredentialSources{TLS: f.tls.Files(),
		GossipKey: f.gossipKey, GossipKeyFile: f.gossipKeyFile, InsecureDev: f.insecureDev})
	if err != nil {
		return err
	}
	cfg.TLS, cfg.GossipKey = creds.TLS, creds.GossipKey
	if err := cluster.CheckCertificate(cfg.TLS, cfg.NodeID); err != nil {
		return err
	}
	if cfg.TLS == nil {
		cfg.Logger.Warn("INSECURE: --insecure-dev: plain HTTP and Raft, every caller trusted, any gossip member becomes a voter; never run a farm reachable by others this way")
	}
	cfg.Join = cli.SplitList(f.join)
	storageURL := f.storageURL
	if storageURL == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "blobs"))
		if err != nil {
			return err
		}
		storageURL = "file://" + dir
	}
	blobKey, err := storageSecret(storageURL, storageSecretSource{value: f.storageSecret, file: f.storageSecretFile,
		insecure: f.insecureDev, dataDir: cfg.DataDir}, cfg.Logger)
	if err != nil {
		return err
	}
	publicURL := "http://" + cfg.HTTPAddr
	if cfg.TLS != nil {
		publicURL = "https://" + cfg.HTTPAddr
	}
	if cfg.Store, err = storage.Open(storageURL, storage.Options{PublicURL: publicURL, Secret: blobKey}); err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	reg := cli.NewRegistry()
	cfg.Registry, cfg.Gatherer = reg, reg

	node, err := cluster.New(cfg)
	if err != nil {
		return err
	}
	if err := node.Start(ctx); err != nil {
		_ = node.Close(context.Background())
		return err
	}
	cli.ReloadOnHangup(ctx, cfg.Logger, cfg.TLS)
	cfg.Logger.Info("coordinator started", "node_id", cfg.NodeID, "http", cfg.HTTPAddr, "raft", cfg.RaftAddr, "gossip", cfg.GossipAddr)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return node.Close(closeCtx)
}
