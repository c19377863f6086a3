package cluster

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// leaderLoop follows Raft's leadership notifications: on gaining it, a
// Barrier makes sure every committed entry is applied, then the leader's
// duties start; on losing it they stop.
func (n *Node) leaderLoop(ctx context.Context) {
	var stop context.CancelFunc
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-n.notify:
			n.metrics.leaderChanges.Inc()
			if stop != nil {
				stop()
				stop = nil
			}
			if !leader {
				n.log.Info("lost leadership")
				continue
			}
			if err := n.raft.Barrier(30 * time.Second).Error(); err != nil {
				n.log.Warn("barrier failed", "error", err)
				continue
			}
			n.log.Info("leading")
			stop = n.startLeaderDuties(ctx)
		}
	}
}

// startLeaderDuties runs leaderDuties, publishLoop and retention until the
// returned function is called.
func (n *Node) startLeaderDuties(ctx context.Context) context.CancelFunc {
	ctx, cancel := context.WithCancel(ctx)
	n.wg.Add(3)
	go func() { defer n.wg.Done(); n.leaderDuties(ctx) }()
	go func() { defer n.wg.Done(); n.publishLoop(ctx) }()
	go func() { defer n.wg.Done(); n.retention(ctx) }()
	return cancel
}

// leaderDuties expires leases that stopped heartbeating and marks agents
// that went silent as dead (publishLoop, beside it, publishes growing
// playlists, and retention cleans up after finished jobs).
// Every inherited lease first gets a grace period: the new leader has not
// heard any heartbeat yet.
func (n *Node) leaderDuties(ctx context.Context) {
	now := time.Now()
	n.leases.reset(now.Add(n.cfg.FailoverGrace))
	for now := range n.leaderTicks(ctx, 500*time.Millisecond) {
		for _, a := range n.leases.expired(now, n.fsm.ActiveAttempts()) {
			_, err := n.apply(ctx, scheduler.CmdExpireAttempt, scheduler.ExpireAttempt{Task: a.Task, Attempt: a.Attempt,
				Reason: "lease expired: agent " + a.Agent + " stopped heartbeating", Now: now})
			if err != nil {
				n.log.Warn("expire attempt failed", "task_id", a.Task, "error", err)
				continue
			}
			if j, ok := n.fsm.Job(a.Job); ok && j.State == scheduler.JobFailed {
				n.metrics.observeJob(scheduler.JobFailed, now.Sub(j.Created))
			}
		}
		for _, id := range n.leases.silentAgents(now, 3*n.cfg.LeaseTTL) {
			if ag, ok := n.fsm.Agent(id); ok && (ag.State == scheduler.AgentAlive || ag.State == scheduler.AgentDraining) {
				if _, err := n.apply(ctx, scheduler.CmdAgentDown, scheduler.AgentDown{ID: id, State: scheduler.AgentDead, Now: now}); err != nil {
					n.log.Warn("mark agent dead failed", "agent_id", id, "error", err)
				}
			}
		}
	}
}

// collect deletes what a finished job wrote and does not keep: every object
// granted to its attempts (chunk sources, losing attempts' segments,
// thumbnails) and the playlists the leader published while it ran, except,
// for a done job, what its published ladder references. It deletes these
// keys only, never what a listing of the output prefix finds: the prefix may
// hold objects that are not the job's. Deleting is idempotent (a missing
// object counts as deleted), so a new leader may collect again.
//
// An AV1 job keeps what the published ladder references whatever its end:
// the ladder is its parent's, and holds the AV1 rungs published before a
// failure.
func (n *Node) collect(ctx context.Context, j scheduler.Job) error {
	keep := map[string]bool{}
	if j.State == scheduler.JobDone || j.Parent != "" {
		var err error
		if keep, err = n.published(ctx, j.Output); err != nil {
			return err
		}
	}
	for _, key := range n.jobObjects(j) {
		if keep[key] {
			continue
		}
		if err := n.cfg.Store.Delete(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// jobObjects lists the keys a job may have written: its attempts' grants,
// and the playlists and screening prefix the leader publishes under its
// output prefix while its chunks finish (see publishJob).
func (n *Node) jobObjects(j scheduler.Job) []string {
	keys := n.fsm.JobObjects(j.ID)
	ladder := []string{layout.MasterPlaylist, layout.RungPlaylist(layout.AudioDir), layout.ScreeningFile}
	if j.Parent != "" {
		ladder = nil // an AV1 job writes its rung playlists, the rest is its parent's
	}
	for _, rung := range j.Rungs {
		ladder = append(ladder, layout.RungPlaylist(rung))
	}
	for _, rel := range ladder {
		keys = append(keys, j.Output+"/"+rel)
	}
	return keys
}

// published lists the keys of the objects a finished ladder consists of,
// from its playlists: the playlists themselves, their segments, poster,
// storyboard, perceptual hashes and speech track. A ladder whose master
// playlist is gone (its video was deleted) keeps nothing.
func (n *Node) published(ctx context.Context, prefix string) (map[string]bool, error) {
	ladder, err := hls.ReadLadder(layout.MasterPlaylist, func(uri string) ([]byte, error) {
		return n.readObject(ctx, prefix+"/"+uri)
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return map[string]bool{}, nil
	case err != nil:
		return nil, err
	}
	keep := map[string]bool{}
	for _, f := range append(slices.Clone(publishedFiles), ladder.Files()...) {
		keep[prefix+"/"+f] = true
	}
	return keep, nil
}

// leaderTicks yields the time every interval until ctx ends or leadership
// is lost: the clock of a leader duty.
func (n *Node) leaderTicks(ctx context.Context, every time.Duration) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if !n.isLeader() || !yield(time.Now()) {
				return
			}
		}
	}
}

// leaseTable is the leader's in-memory view of when each attempt and agent
// was last heard from. It is deliberately not replicated: heartbeats would
// flood the log, and a new leader grants a grace period instead.
type leaseTable struct {
	mu        sync.Mutex
	deadlines map[scheduler.AttemptRef]time.Time
	agents    map[string]time.Time
	grace     time.Time // deadline of attempts not heard from since leadership began
}

func newLeaseTable() *leaseTable {
	return &leaseTable{deadlines: map[scheduler.AttemptRef]time.Time{}, agents: map[string]time.Time{}}
}

func (l *leaseTable) reset(grace time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadlines, l.agents, l.grace = map[scheduler.AttemptRef]time.Time{}, map[string]time.Time{}, grace
}

func (l *leaseTable) extend(ref scheduler.AttemptRef, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deadlines[ref] = until
}

func (l *leaseTable) seen(agent string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.agents[agent] = at
}

// expired returns the active attempts whose lease ran out, and forgets
// attempts that are no longer active.
func (l *leaseTable) expired(now time.Time, active []scheduler.ActiveAttempt) []scheduler.ActiveAttempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	live := map[scheduler.AttemptRef]bool{}
	var out []scheduler.ActiveAttempt
	for _, a := range active {
		ref := scheduler.AttemptRef{Task: a.Task, Attempt: a.Attempt}
		live[ref] = true
		deadline, ok := l.deadlines[ref]
		if !ok {
			deadline = l.grace
		}
		if now.After(deadline) {
			out = append(out, a)
		}
	}
	for ref := range l.deadlines {
		if !live[ref] {
			delete(l.deadlines, ref)
		}
	}
	return out
}

// silentAgents lists agents not heard from for longer than quiet (and
// since the grace period ended).
func (l *leaseTable) silentAgents(now time.Time, quiet time.Duration) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, at := range l.agents {
		if now.Sub(at) > quiet && now.After(l.grace) {
			ids = append(ids, id)
			delete(l.agents, id)
		}
	}
	return ids
}

// leaderHTTP returns the leader's HTTP URL as advertised over gossip.
func (n *Node) leaderHTTP() string {
	_, id := n.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	if id == raft.ServerID(n.cfg.NodeID) {
		return n.httpURL()
	}
	for _, m := range n.gossip.Members() {
		if m.Name == string(id) {
			return m.Meta.HTTP
		}
	}
	return ""
}
