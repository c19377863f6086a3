package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/agent"
	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cmd/internal/runtask"
	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/media"
)

type flags struct {
	cfg                      agent.Config
	join, coordinators       string
	encoder                  string
	av1                      bool
	tls                      cli.TLSFlags
	gossipKey, gossipKeyFile string
	insecureDev              bool
	memoryLimit              string
	logLevel                 string
	metricsAddr              string
	fast                     bool
}

func newAgentCmd() *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:               "agent --node-id ID --data-dir DIR --join HOST:PORT,… [--coordinator URL,…]",
		Short:             "Run a Sunomi transcoding agent: lease tasks from the coordinators and run them",
		Args:              cobra.NoArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: cli.ApplyEnvPreRun,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			var reg *prometheus.Registry
			if f.metricsAddr != "" {
				reg = cli.NewRegistry()
				cfg.Registry = reg
			}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			if reg != nil {
				// Served once the agent registered its metrics, so that no
				// scrape sees the process without them; until the drain is
				// over: its last tasks are worth watching.
				_, stop, err := cli.ServeMetrics(f.metricsAddr, reg)
				if err != nil {
					return err
				}
				defer stop()
			}
			cli.ReloadOnHangup(cmd.Context(), cfg.Logger, cfg.TLS)
			if len(cfg.Join) > 0 {
				g, err := joinPool(cfg, f.fast)
				if err != nil {
					return err
				}
				// Leaving after the drain tells the pool at once instead of
				// letting it find out by failed probes.
				defer g.Leave(5 * time.Second)
				go followCoordinators(cmd.Context(), g, a, cfg.Coordinators)
			}
			return a.Run(cmd.Context())
		},
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.AddCommand(runtask.NewCmd())

	host, _ := os.Hostname()
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.NodeID, "node-id", host, "unique name of this agent")
	fl.StringVar(&f.cfg.DataDir, "data-dir", "", "directory for the tasks' working files (required)")
	fl.StringVar(&f.join, "join", "", "comma-separated gossip addresses of cluster members; the agent finds the coordinators through them")
	fl.StringVar(&f.cfg.GossipAddr, "gossip-addr", "0.0.0.0:7946", "HOST:PORT this agent gossips on")
	fl.StringVar(&f.coordinators, "coordinator", "",
		"comma-separated coordinator HTTP URLs, tried in turn (default $SUNOMI_COORDINATOR)")
	cli.BindEnv(fl, "coordinator", "SUNOMI_COORDINATOR")
	fl.IntVar(&f.cfg.Slots, "slots", max(1, runtime.NumCPU()/4), "tasks run at once (a quarter of the cores unless set)")
	fl.IntVar(&f.cfg.Prefetch, "prefetch", 1, "leased tasks whose inputs download while the slots are busy (0: none)")
	fl.StringVar(&f.encoder, "encoder", media.EncoderAuto, "H.264 encoders to offer: auto (every one that opens here) or a comma-separated list of libx264, h264_nvenc, h264_qsv")
	fl.BoolVar(&f.av1, "av1", true, "offer AV1 encodes ("+media.EncoderSVTAV1+") when this host's libavcodec has the encoder; --av1=false leaves the farm's AV1 tasks to other agents")
	f.tls.Register(fl, pki.RoleAgent)
	fl.StringVar(&f.gossipKey, "gossip-key", "", "base64 memberlist encryption key (or SUNOMI_GOSSIP_KEY)")
	fl.StringVar(&f.gossipKeyFile, "gossip-key-file", "", "file holding the base64 gossip key")
	fl.BoolVar(&f.insecureDev, "insecure-dev", false, "run without TLS material or gossip key: plain HTTP to the coordinators, gossip in clear (throwaway test farms only)")
	fl.IntVar(&f.cfg.EncodeThreads, "encode-threads", 0, "rungs a task encodes at once (0: all, one goroutine each; 1: one core per task, for farms that pack many slots)")
	fl.StringVar(&f.memoryLimit, "memory-limit", "6GiB", "address-space limit of each task process, e.g. 8GiB (0: none); a 2160p ladder needs about 4GiB")
	fl.DurationVar(&f.cfg.DrainTimeout, "drain-timeout", agent.DefaultDrainTimeout, "how long SIGTERM lets running tasks finish")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "HOST:PORT to serve Prometheus metrics on at /metrics (default: not served)")
	fl.BoolVar(&f.fast, "fast", false, "short gossip timeouts for loopback test clusters")
	_ = fl.MarkHidden("fast")
	return cmd
}

// config turns the flags into the agent's configuration.
func (f flags) config() (agent.Config, error) {
	cfg := f.cfg
	if cfg.NodeID == "" {
		return cfg, errors.New("--node-id is required")
	}
	if cfg.DataDir == "" {
		return cfg, errors.New("--data-dir is required")
	}
	cfg.Join, cfg.Coordinators = cli.SplitList(f.join), cli.SplitList(f.coordinators)
	if len(cfg.Join) == 0 && len(cfg.Coordinators) == 0 {
		return cfg, errors.New("--join or --coordinator is required")
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = -1 // the agent's zero value means its default
	}
	var err error
	if cfg.Logger, err = cli.NewLogger(f.logLevel); err != nil {
		return cfg, err
	}
	if cfg.MemoryLimit, err = cli.ParseBytes(f.memoryLimit); err != nil {
		return cfg, fmt.Errorf("--memory-limit: %w", err)
	}
	avx.Quiet()
	if cfg.Encoders, err = encoders(f.encoder); err != nil {
		return cfg, fmt.Errorf("--encoder: %w", err)
	}
	if f.av1 {
		cfg.Encoders = encoder.WithAV1Encoder(cfg.Encoders)
	}
	cfg.Version = cli.Version()
	creds, err := cluster.ReadCredentials(cluster.CredentialSources{TLS: f.tls.Files(),
		GossipKey: f.gossipKey, GossipKeyFile: f.gossipKeyFile, InsecureDev: f.insecureDev})
	if err != nil {
		return cfg, err
	}
	cfg.TLS, cfg.GossipKey = creds.TLS, creds.GossipKey
	if cfg.TLS == nil {
		cfg.Logger.Warn("INSECURE: --insecure-dev: plain HTTP to the coordinators, gossip in clear; never run an agent this way on a network others reach")
	}
	return cfg, nil
}

// encoders lists the encoders to advertise: every one that opens here for
// auto, else the named ones, each of which must open.
func encoders(spec string) ([]string, error) {
	if spec == "" || spec == media.EncoderAuto {
		return encoder.AvailableEncoders(), nil
	}
	var out []string
	for _, name := range cli.SplitList(spec) {
		e, err := encoder.ResolveEncoder(name)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
