// Package cluster wires the coordinator together: a Raft node
// (hashicorp/raft with raft-boltdb and file snapshots) replicating the
// scheduler's state machine, memberlist gossip for discovery and fast
// failure hints, the leader's duties (lease timers, dead agents, garbage
// collection) and the coordinator's HTTP API, whose bodies (cluster/wire) it
// maps to and from the domain in views.go. Scheduling policy lives in
// scheduler/, not here: the lease handler proposes what scheduler.FindWork
// decides.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// ErrNotLeader means a write reached a node that is not the leader and no
// leader is known to forward it to.
var ErrNotLeader = errors.New("no leader")

// DefaultRetention is how long finished jobs and gone agents stay in the
// replicated state unless configured.
const DefaultRetention = 24 * time.Hour

// Config configures a coordinator.
type Config struct {
	NodeID  string
	DataDir string
	// HTTPAddr, RaftAddr and GossipAddr are HOST:PORT to listen on.
	HTTPAddr   string
	RaftAddr   string
	GossipAddr string
	// HealthAddr, when set, serves GET /healthz alone over plain HTTP, for
	// orchestrators' health checks, which present no client certificate.
	HealthAddr string
	// Join lists gossip addresses of other members.
	Join []string
	// BootstrapExpect is the number of coordinators to wait for before
	// bootstrapping a new cluster (1: alone); 0 joins an existing one.
	BootstrapExpect int
	Store           storage.Store
	// TLS is the node's certificate material; nil runs the farm unverified
	// (--insecure-dev): plain HTTP and Raft, every caller treated as a
	// server, and any coordinator in the gossip pool made a voter.
	TLS *pki.Material
	// GossipKey encrypts memberlist traffic; nil leaves it in clear.
	GossipKey []byte
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	Gatherer  prometheus.Gatherer
	// LeaseTTL is how long an attempt lives without a heartbeat.
	LeaseTTL time.Duration
	// FailoverGrace is the lease a new leader gives every attempt it inherits.
	FailoverGrace time.Duration
	// JobRetention is how long a finished job stays in the replicated
	// state after its clean-up, for clients to read, before it is
	// compacted; AgentRetention is how long a dead or departed agent stays
	// listed after it was last heard from.
	JobRetention   time.Duration
	AgentRetention time.Duration
	// AV1AgentWait is how long an AV1 job whose tasks are ready waits
	// while no alive agent advertises the AV1 encoder before it ends
	// failed, its job's H.264 ladder staying published (DefaultAV1AgentWait).
	AV1AgentWait time.Duration
	// Fast shortens Raft and gossip timeouts for loopback test clusters.
	Fast bool
}

func (c *Config) defaults() {
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.FailoverGrace == 0 {
		c.FailoverGrace = 15 * time.Second
	}
	if c.JobRetention == 0 {
		c.JobRetention = DefaultRetention
	}
	if c.AgentRetention == 0 {
		c.AgentRetention = DefaultRetention
	}
	if c.AV1AgentWait == 0 {
		c.AV1AgentWait = DefaultAV1AgentWait
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		reg := prometheus.NewRegistry()
		c.Registry, c.Gatherer = reg, reg
	}
}

// Node is one coordinator.
type Node struct {
	cfg   Config
	log   *slog.Logger
	fsm   *scheduler.FSM
	raft  *raft.Raft
	trans *raft.NetworkTransport
	// peers carries what this coordinator sends other coordinators over
	// HTTP (forwarded writes, join requests): over mutual TLS when the
	// farm has it, presenting this node's server certificate.
	peers   *http.Transport
	bolt    *raftboltdb.BoltStore
	gossip  *Gossip
	http    *httpServer
	health  *httpServer // nil without HealthAddr
	metrics *metrics
	hub     *hub
	leases  *leaseTable
	pub     *publisher
	notify  chan bool // raft's leadership notifications

	// bootstrapped and joinAfter are touched by Start and then by the
	// membership loop only.
	bootstrapped bool
	joinAfter    time.Time

	// changed is closed and replaced after every applied change: lease
	// long-polls wait on it.
	changedMu sync.Mutex
	changed   chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// CheckCertificate refuses TLS material that is not a server certificate
// named as the coordinator: peers add a voter under the name in its
// certificate only. Nil material (--insecure-dev) passes.
func CheckCertificate(m *pki.Material, nodeID string) error {
	if m == nil {
		return nil
	}
	if id := m.Identity(); id.Role != pki.RoleServer || id.Name != nodeID {
		return fmt.Errorf("the TLS certificate is for %s, want a server certificate named %q (the node ID)", id, nodeID)
	}
	return nil
}

// New builds a coordinator; Start makes it run.
func New(cfg Config) (*Node, error) {
	cfg.defaults()
	if cfg.NodeID == "" || cfg.DataDir == "" {
		return nil, errors.New("node id and data dir are required")
	}
	if cfg.Store == nil {
		return nil, errors.New("a storage backend is required")
	}
	if err := CheckCertificate(cfg.TLS, cfg.NodeID); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("component", "coordinator", "node_id", cfg.NodeID),
		hub: newHub(), changed: make(chan struct{}), leases: newLeaseTable(), pub: newPublisher()}
	n.fsm = scheduler.NewFSM(n.onChange)
	n.peers = &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true}
	if cfg.TLS != nil {
		n.peers.TLSClientConfig = cfg.TLS.ClientConfig()
	}
	var err error
	if n.metrics, err = newMetrics(cfg.Registry, n); err != nil {
		return nil, err
	}
	return n, nil
}

// onChange runs after the FSM applies a change to a job, on every node.
func (n *Node) onChange(jobID string) {
	n.changedMu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.changedMu.Unlock()
	if jobID != "" {
		if j, ok := n.fsm.Job(jobID); ok {
			n.hub.publish(jobBody(j))
		}
	}
}

// changes returns a channel closed at the next applied change.
func (n *Node) changes() <-chan struct{} {
	n.changedMu.Lock()
	defer n.changedMu.Unlock()
	return n.changed
}

// Start opens the Raft stores, joins the gossip pool, bootstraps when asked
// to, and starts serving HTTP.
func (n *Node) Start(ctx context.Context) error {
	ctx, n.cancel = context.WithCancel(ctx)
	if err := os.MkdirAll(n.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := n.openRaft(); err != nil {
		return err
	}
	var err error
	n.gossip, err = JoinGossip(GossipConfig{
		Name: n.cfg.NodeID, Bind: n.cfg.GossipAddr, Join: n.cfg.Join, Key: n.cfg.GossipKey,
		Meta:   Meta{Role: RoleCoordinator, HTTP: n.httpURL(), Raft: n.cfg.RaftAddr},
		Logger: n.cfg.Logger, Fast: n.cfg.Fast,
	})
	if err != nil {
		return err
	}
	if n.http, err = n.serveHTTP(); err != nil {
		return err
	}
	if n.cfg.HealthAddr != "" {
		health := http.NewServeMux()
		health.HandleFunc("GET /healthz", n.healthz)
		if n.health, err = serve(n.cfg.HealthAddr, health, nil); err != nil {
			return err
		}
	}
	n.wg.Add(2)
	go func() { defer n.wg.Done(); n.membership(ctx) }()
	go func() { defer n.wg.Done(); n.leaderLoop(ctx) }()
	return nil
}

func (n *Node) httpURL() string {
	if n.cfg.TLS != nil {
		return "https://" + n.cfg.HTTPAddr
	}
	return "http://" + n.cfg.HTTPAddr
}

func (n *Node) openRaft() error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.Logger = newHCLogger(n.cfg.Logger, "raft")
	notify := make(chan bool, 8)
	rc.NotifyCh = notify
	rc.SnapshotThreshold = 2048
	rc.TrailingLogs = 1024
	if n.cfg.Fast {
		rc.HeartbeatTimeout = 300 * time.Millisecond
		rc.ElectionTimeout = 300 * time.Millisecond
		rc.LeaderLeaseTimeout = 150 * time.Millisecond
		rc.CommitTimeout = 20 * time.Millisecond
	}
	addr, err := net.ResolveTCPAddr("tcp", n.cfg.RaftAddr)
	if err != nil {
		return fmt.Errorf("raft address %q: %w", n.cfg.RaftAddr, err)
	}
	if n.trans, err = n.raftTransport(addr, rc.Logger); err != nil {
		return fmt.Errorf("listen for raft on %s: %w", n.cfg.RaftAddr, err)
	}
	if n.bolt, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.cfg.DataDir, "raft.db")}); err != nil {
		return fmt.Errorf("open raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.DataDir, 2, rc.Logger)
	if err != nil {
		return fmt.Errorf("open snapshots: %w", err)
	}
	fsm := raftFSM{fsm: n.fsm, hist: n.metrics.fsmApply}
	if n.raft, err = raft.NewRaft(rc, fsm, n.bolt, n.bolt, snaps, n.trans); err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.notify = notify
	has, err := raft.HasExistingState(n.bolt, n.bolt, snaps)
	if err != nil {
		return fmt.Errorf("read raft state: %w", err)
	}
	n.bootstrapped = has
	if !has && n.cfg.BootstrapExpect == 1 {
		n.bootstrap([]raft.Server{{ID: rc.LocalID, Address: n.trans.LocalAddr()}})
	}
	return nil
}

// raftTransport runs Raft over mutual TLS, or over plain TCP under
// --insecure-dev.
func (n *Node) raftTransport(advertise *net.TCPAddr, logger hclog.Logger) (*raft.NetworkTransport, error) {
	if n.cfg.TLS == nil {
		return raft.NewTCPTransportWithLogger(n.cfg.RaftAddr, advertise, 3, 5*time.Second, logger)
	}
	stream, err := newTLSStreamLayer(n.cfg.RaftAddr, advertise, n.cfg.TLS, n.cfg.Logger)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 3, Timeout: 5 * time.Second, Logger: logger}), nil
}

func (n *Node) bootstrap(servers []raft.Server) {
	err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		n.log.Error("bootstrap failed", "error", err)
		return
	}
	n.bootstrapped = true
	n.log.Info("bootstrapped", "servers", len(servers))
}

// membership follows the gossip pool: it bootstraps once BootstrapExpect
// coordinators see each other (verified over TLS), asks the leader to add
// this node as a voter while it is not in the configuration, and the leader
// tells the state machine about dead agents.
func (n *Node) membership(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-n.gossip.Events():
			n.memberEvent(ctx, ev)
		case <-tick.C:
		}
		n.maybeBootstrap()
		switch {
		case n.cfg.TLS == nil && n.isLeader():
			// --insecure-dev: gossip alone makes voters, as before TLS.
			n.reconcileVoters()
		case n.cfg.TLS != nil && !n.isLeader():
			n.maybeJoin(ctx)
		}
	}
}

func (n *Node) maybeBootstrap() {
	if n.bootstrapped || n.cfg.BootstrapExpect <= 1 {
		return
	}
	var servers []raft.Server
	for _, m := range n.gossip.Members() {
		if m.Meta.Role != RoleCoordinator || m.Meta.Raft == "" {
			continue
		}
		if err := n.verifyPeer(m); err != nil {
			n.log.Warn("not bootstrapping with gossip member", "peer", m.Name, "error", err)
			continue
		}
		servers = append(servers, raft.Server{ID: raft.ServerID(m.Name), Address: raft.ServerAddress(m.Meta.Raft)})
	}
	if len(servers) >= n.cfg.BootstrapExpect {
		// Every coordinator bootstraps with the same sorted configuration,
		// as Nomad does; Raft accepts identical bootstraps.
		n.bootstrap(servers)
	}
}

// reconcileVoters adds live coordinators missing from the configuration;
// AddVoter is idempotent, so re-joining is too. It trusts gossip metadata,
// so it runs only under --insecure-dev: with TLS, a coordinator joins by
// proving its server certificate to the leader (join.go).
func (n *Node) reconcileVoters() {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	have := f.Configuration().Servers
	for _, m := range n.gossip.Members() {
		if m.Meta.Role != RoleCoordinator || m.Meta.Raft == "" {
			continue
		}
		i := slices.IndexFunc(have, func(s raft.Server) bool { return string(s.ID) == m.Name })
		if i >= 0 && string(have[i].Address) == m.Meta.Raft {
			continue
		}
		if err := n.raft.AddVoter(raft.ServerID(m.Name), raft.ServerAddress(m.Meta.Raft), 0, 5*time.Second).Error(); err != nil {
			n.log.Warn("add voter failed", "peer", m.Name, "error", err)
		} else {
			n.log.Info("added voter", "peer", m.Name)
		}
	}
}

func (n *Node) memberEvent(ctx context.Context, ev MemberEvent) {
	if ev.Member.Meta.Role != RoleAgent || !n.isLeader() {
		return
	}
	switch ev.Kind {
	case MemberDead, MemberLeave:
		state := scheduler.AgentDead
		if ev.Kind == MemberLeave {
			state = scheduler.AgentLeft
		}
		if _, ok := n.fsm.Agent(ev.Member.Name); !ok {
			return
		}
		if _, err := n.apply(ctx, scheduler.CmdAgentDown, scheduler.AgentDown{ID: ev.Member.Name, State: state, Now: time.Now()}); err != nil {
			n.log.Warn("mark agent down failed", "agent_id", ev.Member.Name, "error", err)
		}
	}
}

func (n *Node) isLeader() bool { return n.raft.State() == raft.Leader }

// apply proposes a command through Raft (leader only) and unwraps the
// state machine's answer: an error value returned by Apply is the error.
func (n *Node) apply(ctx context.Context, t scheduler.CommandType, payload any) (any, error) {
	b, err := scheduler.Encode(t, payload)
	if err != nil {
		return nil, err
	}
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	start := time.Now()
	f := n.raft.Apply(b, timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, ErrNotLeader
		}
		return nil, fmt.Errorf("apply: %w", err)
	}
	n.metrics.applyLatency.Observe(time.Since(start).Seconds())
	if err, ok := f.Response().(error); ok {
		return nil, err
	}
	return f.Response(), nil
}

// Close leaves the pool and stops Raft and HTTP.
func (n *Node) Close(ctx context.Context) error {
	if n.cancel != nil {
		n.cancel()
	}
	var errs []error
	for _, h := range []*httpServer{n.http, n.health} {
		if h != nil {
			errs = append(errs, h.close(ctx))
		}
	}
	n.wg.Wait()
	if n.gossip != nil {
		errs = append(errs, n.gossip.Leave(time.Second))
	}
	if n.raft != nil {
		errs = append(errs, n.raft.Shutdown().Error())
	}
	if n.trans != nil {
		errs = append(errs, n.trans.Close())
	}
	n.peers.CloseIdleConnections()
	if n.bolt != nil {
		errs = append(errs, n.bolt.Close())
	}
	return errors.Join(errs...)
}
