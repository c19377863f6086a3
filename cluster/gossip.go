package cluster

import (
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Member roles in the gossip pool.
const (
	RoleCoordinator = "coordinator"
	RoleAgent       = "agent"
)

// Meta is what a member advertises in its memberlist metadata.
type Meta struct {
	Role string `json:"role"`
	// HTTP is a coordinator's API base URL.
	HTTP string `json:"http,omitempty"`
	// Raft is a coordinator's Raft address.
	Raft string `json:"raft,omitempty"`
	// Agents advertise capabilities and load.
	Slots    int      `json:"slots,omitempty"`
	Busy     int      `json:"busy,omitempty"`
	Cores    int      `json:"cores,omitempty"`
	Encoders []string `json:"encoders,omitempty"`
	Version  string   `json:"version,omitempty"`
	// Leaving is set just before a graceful leave, so that the others can
	// tell it from a death (memberlist's own state does not reach them).
	Leaving bool `json:"leaving,omitempty"`
}

// Member is a live member of the pool.
type Member struct {
	Name string
	Addr string
	Meta Meta
}

// MemberEvent reports a member joining, leaving gracefully or dying.
type MemberEvent struct {
	Member Member
	Kind   MemberEventKind
}

// MemberEventKind is what happened to a member.
type MemberEventKind string

// Member event kinds.
const (
	MemberJoin   MemberEventKind = "join"
	MemberUpdate MemberEventKind = "update"
	// MemberLeave is a graceful leave: the member said it was going.
	MemberLeave MemberEventKind = "leave"
	MemberDead  MemberEventKind = "dead"
)

// GossipConfig configures one member of the pool.
type GossipConfig struct {
	Name string
	// Bind is HOST:PORT for memberlist's TCP and UDP.
	Bind string
	// Join lists HOST:PORT of members to join (any one answering is enough).
	Join []string
	// Key encrypts gossip (16, 24 or 32 bytes); empty leaves it in clear.
	Key    []byte
	Meta   Meta
	Logger *slog.Logger
	// Fast shortens failure detection for loopback test clusters.
	Fast bool
}

// Gossip is this process's membership in the pool: coordinators and agents
// find each other through it, and it hints quickly that a member died; the
// state written through Raft stays the truth.
type Gossip struct {
	ml     *memberlist.Memberlist
	log    *slog.Logger
	mu     sync.Mutex
	meta   Meta
	events chan MemberEvent
}

// JoinGossip starts memberlist and joins the pool through cfg.Join. It keeps
// retrying the join in the background when no member answers yet, so start
// order does not matter.
func JoinGossip(cfg GossipConfig) (*Gossip, error) {
	host, portStr, err := net.SplitHostPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: %w", cfg.Bind, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: bad port", cfg.Bind)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Gossip{log: logger.With("component", "gossip"), meta: cfg.Meta, events: make(chan MemberEvent, 256)}
	mc := lanConfig()
	if cfg.Fast {
		mc = memberlist.DefaultLocalConfig()
		mc.ProbeInterval = 300 * time.Millisecond
		mc.ProbeTimeout = 150 * time.Millisecond
		mc.GossipInterval = 100 * time.Millisecond
		mc.SuspicionMult = 2
		mc.PushPullInterval = 5 * time.Second
	}
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = host, port
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		// Otherwise memberlist advertises the host's private address.
		mc.AdvertiseAddr, mc.AdvertisePort = host, port
	}
	mc.SecretKey = cfg.Key
	mc.Delegate = (*gossipDelegate)(g)
	mc.Events = (*gossipEvents)(g)
	mc.Logger = log.New(levelWriter{g.log.With("library", "memberlist")}, "", 0)
	if g.ml, err = memberlist.Create(mc); err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.Bind, err)
	}
	if len(cfg.Join) > 0 {
		go g.joinLoop(cfg.Join)
	}
	return g, nil
}

// Failure detection on a LAN. A member that dies without leaving (SIGKILL,
// a host that loses power) is declared dead after
//
//	detection ≈ wait for a probe + ProbeInterval + suspicion timeout
//	suspicion timeout = SuspicionMult × max(1, log10(n)) × ProbeInterval
//
// for a pool of n members. The wait for a probe is short: every member
// probes one other per ProbeInterval, so with n-1 live probers the dead one
// is usually probed within the first interval. A failed probe takes the
// whole ProbeInterval: ProbeTimeout for the direct ping, then indirect pings
// through IndirectChecks members and a TCP ping until the interval ends. The
// suspicion timeout is that minimum once SuspicionMult-2 other members have
// confirmed the suspicion (Lifeguard); without confirmations it starts at
// SuspicionMaxTimeoutMult times the minimum and shrinks as they come in.
//
// memberlist's DefaultLANConfig (what Consul's LAN pool uses: 1 s interval,
// 500 ms timeout, multiplier 4) gives 1 + 1 + 4 = 6 s for n ≤ 10, measured
// at 5.3–6.8 s after a SIGKILL. Halving the interval and the timeout gives,
// for n ≤ 10 (3 coordinators and 7 agents):
//
//	0.5 s + 0.5 s + 4 × 1 × 0.5 s = 3 s (suspicion 2 s, up to 12 s unconfirmed)
//
// and stays under 5 s up to about 100 members (log10(100) = 2: 4 s of
// suspicion). The multiplier stays at 4 so that two independent members
// must confirm before the minimum applies: one member with a bad link
// cannot kill another on its own. 250 ms is still more than two orders of
// magnitude above a LAN round trip, and an agent whose encodes saturate its
// cores (they run in child processes) answers pings within milliseconds; a
// member that misses one only becomes suspect, and it refutes the suspicion
// as soon as it hears of it, long before 2 s pass. Probing twice as often
// costs one small UDP ping and ack per member per 500 ms. Lease expiry
// (--lease-ttl) stays the fallback when gossip cannot tell.
const (
	lanProbeInterval           = 500 * time.Millisecond
	lanProbeTimeout            = 250 * time.Millisecond
	lanSuspicionMult           = 4
	lanSuspicionMaxTimeoutMult = 6
)

// lanConfig is memberlist's LAN configuration with the failure detection
// above.
func lanConfig() *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.ProbeInterval = lanProbeInterval
	mc.ProbeTimeout = lanProbeTimeout
	mc.SuspicionMult = lanSuspicionMult
	mc.SuspicionMaxTimeoutMult = lanSuspicionMaxTimeoutMult
	return mc
}

func (g *Gossip) joinLoop(addrs []string) {
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		n, err := g.ml.Join(addrs)
		if n > 0 {
			return
		}
		g.log.Debug("join failed, retrying", "error", err)
		time.Sleep(delay)
		if len(g.ml.Members()) > 1 {
			return
		}
	}
}

// Events delivers membership changes; a slow reader loses the oldest.
func (g *Gossip) Events() <-chan MemberEvent { return g.events }

// Members lists the live members, this one included, sorted by name.
func (g *Gossip) Members() []Member {
	var ms []Member
	for _, n := range g.ml.Members() {
		ms = append(ms, memberOf(n))
	}
	slices.SortFunc(ms, func(a, b Member) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return ms
}

// Coordinators returns the HTTP URLs of the live coordinators.
func (g *Gossip) Coordinators() []string {
	var urls []string
	for _, m := range g.Members() {
		if m.Meta.Role == RoleCoordinator && m.Meta.HTTP != "" {
			urls = append(urls, m.Meta.HTTP)
		}
	}
	return urls
}

// UpdateMeta changes what this member advertises (load, for agents).
func (g *Gossip) UpdateMeta(fn func(*Meta)) {
	g.mu.Lock()
	fn(&g.meta)
	g.mu.Unlock()
	_ = g.ml.UpdateNode(time.Second)
}

// Leave tells the pool this member is going away, then stops gossiping.
func (g *Gossip) Leave(timeout time.Duration) error {
	g.UpdateMeta(func(m *Meta) { m.Leaving = true })
	err := g.ml.Leave(timeout)
	if serr := g.ml.Shutdown(); err == nil {
		err = serr
	}
	return err
}

// Shutdown stops gossiping without saying goodbye (the others see a death).
func (g *Gossip) Shutdown() error { return g.ml.Shutdown() }

func memberOf(n *memberlist.Node) Member {
	m := Member{Name: n.Name, Addr: n.Address()}
	_ = json.Unmarshal(n.Meta, &m.Meta)
	return m
}

func (g *Gossip) emit(n *memberlist.Node, kind MemberEventKind) {
	ev := MemberEvent{Member: memberOf(n), Kind: kind}
	select {
	case g.events <- ev:
	default:
		// Drop the oldest so that the latest state always gets through.
		select {
		case <-g.events:
		default:
		}
		g.events <- ev
	}
}

type gossipDelegate Gossip

func (d *gossipDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, _ := json.Marshal(d.meta)
	if len(b) > limit {
		b, _ = json.Marshal(Meta{Role: d.meta.Role, HTTP: d.meta.HTTP, Raft: d.meta.Raft, Leaving: d.meta.Leaving})
	}
	return b
}
func (d *gossipDelegate) NotifyMsg([]byte)                  {}
func (d *gossipDelegate) GetBroadcasts(int, int) [][]byte   { return nil }
func (d *gossipDelegate) LocalState(bool) []byte            { return nil }
func (d *gossipDelegate) MergeRemoteState(_ []byte, _ bool) {}

type gossipEvents Gossip

func (e *gossipEvents) NotifyJoin(n *memberlist.Node)   { (*Gossip)(e).emit(n, MemberJoin) }
func (e *gossipEvents) NotifyUpdate(n *memberlist.Node) { (*Gossip)(e).emit(n, MemberUpdate) }
func (e *gossipEvents) NotifyLeave(n *memberlist.Node) {
	kind := MemberDead
	if memberOf(n).Meta.Leaving {
		kind = MemberLeave
	}
	(*Gossip)(e).emit(n, kind)
}
