package main

import (
	"context"
	"runtime"
	"slices"
	"time"

	"github.com/sunomi/sunomi/agent"
	"github.com/sunomi/sunomi/cluster"
)

// joinPool joins the gossip pool, advertising the agent's capabilities.
func joinPool(cfg agent.Config, fast bool) (*cluster.Gossip, error) {
	return cluster.JoinGossip(cluster.GossipConfig{
		Name: cfg.NodeID, Bind: cfg.GossipAddr, Join: cfg.Join, Key: cfg.GossipKey, Logger: cfg.Logger, Fast: fast,
		Meta: cluster.Meta{Role: cluster.RoleAgent, Slots: cfg.Slots, Cores: runtime.NumCPU(),
			Encoders: cfg.Encoders, Version: cfg.Version},
	})
}

// followCoordinators points the agent at the coordinators the pool knows
// (plus any given with --coordinator), as they come and go, and keeps the
// agent's advertised load current.
func followCoordinators(ctx context.Context, g *cluster.Gossip, a *agent.Agent, static []string) {
	var current []string
	advertised := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		urls := append(slices.Clone(static), g.Coordinators()...)
		slices.Sort(urls)
		urls = slices.Compact(urls)
		if len(urls) > 0 && !slices.Equal(urls, current) {
			a.SetCoordinators(urls)
			current = urls
		}
		if busy := a.Busy(); busy != advertised {
			g.UpdateMeta(func(m *cluster.Meta) { m.Busy = busy })
			advertised = busy
		}
		select {
		case <-ctx.Done():
			return
		case <-g.Events():
		case <-tick.C:
		}
	}
}
