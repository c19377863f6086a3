// Package agent is the farm's worker runtime. It owns leasing (long-polls
// the coordinators for as many tasks as it has free slots plus a small
// prefetch queue), prefetching (downloads the next task's inputs while the
// current one runs), execution of each task in a child process of the agent
// binary under a memory limit and a timeout scaled to the media, heartbeats
// for every attempt it holds, and reporting progress, outputs and failures.
// It does not decide placement: the coordinator picks which tasks it gets.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/retry"
)

// Config configures an agent; zero values mean the documented defaults.
type Config struct {
	// NodeID names the agent in the cluster; required.
	NodeID string
	// DataDir holds the agent's working files (DataDir/tasks/…); required.
	DataDir string
	// Slots is how many tasks run at once (default 1).
	Slots int
	// Encoders are the encoders the agent advertises: H.264 ones, and
	// media.EncoderSVTAV1 when it runs AV1 tasks.
	Encoders []string
	// Coordinators are the coordinators' HTTP base URLs.
	Coordinators []string
	// Join lists gossip addresses to join, and GossipAddr the address the
	// agent gossips on; the cluster package wires them (coming), and calls
	// SetCoordinators with the coordinators it learns.
	Join       []string
	GossipAddr string
	// GossipKey is the memberlist encryption key (16, 24 or 32 bytes).
	GossipKey []byte
	// TLS is the agent's certificate material: it calls only coordinators
	// presenting a server certificate of its CA, over HTTPS. Nil only under
	// --insecure-dev.
	TLS     *pki.Material
	Version string
	// Prefetch is how many leased tasks may wait, inputs downloaded, for a
	// free slot: 0 means the default 1, a negative value none.
	Prefetch int
	// LeaseWait is how long one lease long-poll waits for work (default 20s).
	LeaseWait time.Duration
	// Heartbeat is the interval between heartbeats (default 2s).
	Heartbeat time.Duration
	// DrainTimeout bounds how long a canceled Run lets running tasks finish
	// (default 5 min); tasks still running then are killed and failed.
	DrainTimeout time.Duration
	// MemoryLimit caps each task process's address space (RLIMIT_AS) in
	// bytes; 0 means none. The Go runtime and libav threads reserve address
	// space they never touch, so leave a gigabyte or so beyond the real need.
	// Tasks that may open a hardware encoder run without it (see memoryLimitFor).
	MemoryLimit int64
	// EncodeThreads caps how many rungs of a chunk a task encodes at once
	// (0: all of them in parallel; 1: one core per task).
	EncodeThreads int
	// TaskTimeout gives a task's time limit from the media seconds it covers,
	// 0 when unknown (default DefaultTaskTimeout).
	TaskTimeout func(mediaSeconds float64) time.Duration
	// Executable is the binary re-executed as `<exe> run-task …` for every
	// task (default os.Executable()); it must dispatch run-task to RunTaskMain.
	Executable string
	// HTTPClient, when set, carries coordinator calls and transfers; it
	// must not time out long-polls (client.Client lifts its Timeout for them).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Registry receives the agent's metrics (default: a private registry
	// nobody scrapes).
	Registry prometheus.Registerer
}

// Defaults.
const (
	DefaultLeaseWait    = 20 * time.Second
	DefaultHeartbeat    = 2 * time.Second
	DefaultDrainTimeout = 5 * time.Minute
)

// DefaultTaskTimeout is 2 minutes plus 20 times the media duration: slow
// enough for a software encode of every rung on a loaded host, fast enough
// to catch a hung decoder. A task whose duration nobody knows yet (the
// split, before its probe) gets UnknownMediaTimeout.
func DefaultTaskTimeout(mediaSeconds float64) time.Duration {
	if mediaSeconds <= 0 {
		return UnknownMediaTimeout
	}
	return 2*time.Minute + time.Duration(20*mediaSeconds*float64(time.Second))
}

// UnknownMediaTimeout bounds a task of unknown media duration: a split
// stream-copies the whole upload, hours of it at worst.
const UnknownMediaTimeout = time.Hour

func (c Config) withDefaults() (Config, error) {
	if c.NodeID == "" {
		return c, errors.New("agent: a node ID is required")
	}
	if c.DataDir == "" {
		return c, errors.New("agent: a data directory is required")
	}
	if len(c.Coordinators) == 0 && len(c.Join) == 0 {
		return c, errors.New("agent: coordinator URLs or gossip addresses to join are required")
	}
	if c.TLS != nil {
		// Coordinators act on an agent's calls only for the node its
		// certificate names: a mismatch would be refused on every call.
		if id := c.TLS.Identity(); id.Role != pki.RoleAgent || id.Name != c.NodeID {
			return c, fmt.Errorf("agent: the TLS certificate is for %s, want an agent certificate named %q (the node ID)", id, c.NodeID)
		}
	}
	if c.Slots <= 0 {
		c.Slots = 1
	}
	switch {
	case c.Prefetch == 0:
		c.Prefetch = 1
	case c.Prefetch < 0:
		c.Prefetch = 0
	}
	if c.LeaseWait <= 0 {
		c.LeaseWait = DefaultLeaseWait
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.MemoryLimit < 0 {
		c.MemoryLimit = 0
	}
	if c.TaskTimeout == nil {
		c.TaskTimeout = DefaultTaskTimeout
	}
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("agent: find own executable: %w", err)
		}
		c.Executable = exe
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c, nil
}

// transferClient carries presigned GETs and PUTs: no overall timeout, as
// files can be large, but bounded waits for connections and first bytes.
func transferClient(c Config) *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		ExpectContinueTimeout: time.Second,
	}
	if c.TLS != nil {
		t.TLSClientConfig = client.TransferTLSConfig(c.TLS)
	}
	return &http.Client{Transport: t}
}

// Agent is one worker node. Create it with New and run it with Run.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	client *client.Client
	// transfer carries the presigned input downloads and output uploads.
	transfer *http.Client
	metrics  *metrics
	// slots holds a token per running task process.
	slots chan struct{}
	// changed is signaled (without blocking) when an attempt is released,
	// so a lease loop waiting for room polls again.
	changed chan struct{}
	// hbNow asks for an immediate heartbeat.
	hbNow chan struct{}
	// wg tracks attempt goroutines.
	wg sync.WaitGroup

	// workCtx parents every attempt; canceling it kills running tasks.
	// reportCtx bounds reporting. Both are set by Run before any attempt exists.
	workCtx   context.Context
	reportCtx context.Context

	// onStart, when set (tests), is called with each task process's PID.
	onStart func(ref wire.AttemptRef, pid int)

	mu sync.Mutex
	// attempts are the attempts the agent holds, from lease to report.
	attempts map[wire.AttemptRef]*attempt // guarded by mu
	// draining is set once Run's context is done: no more leases, and
	// attempts not yet running are handed back.
	draining bool // guarded by mu
	running  bool // guarded by mu: Run was called
}

// New checks cfg and returns an agent ready to Run.
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "agent", "agent_id", cfg.NodeID),
		client:   client.New(cfg.Coordinators, cfg.TLS, cfg.HTTPClient),
		transfer: transferClient(cfg),
		slots:    make(chan struct{}, cfg.Slots),
		changed:  make(chan struct{}, 1),
		hbNow:    make(chan struct{}, 1),
		attempts: map[wire.AttemptRef]*attempt{},
	}
	if a.metrics, err = newMetrics(cfg.Registry, a); err != nil {
		return nil, fmt.Errorf("agent: register metrics: %w", err)
	}
	return a, nil
}

// SetCoordinators replaces the coordinators' HTTP base URLs, as learned from gossip.
func (a *Agent) SetCoordinators(urls []string) { a.client.SetURLs(urls) }

// Busy is how many task processes run now: the load the agent advertises.
func (a *Agent) Busy() int { return len(a.slots) }

// Errors that end an attempt early, read back with context.Cause.
var (
	errAbandoned = errors.New("the coordinator asked the agent to abandon the attempt")
	errDraining  = errors.New("agent draining")
	errStopped   = errors.New("agent stopped before the task finished")
)

// killGrace is how long a drain past DrainTimeout waits for the killed
// tasks' failure reports before it gives up on reporting.
const killGrace = 15 * time.Second

// Run leases and runs tasks until ctx is canceled, then drains: it stops
// leasing, tells the coordinator it is draining, hands back the tasks it has
// not started, lets running ones finish (up to DrainTimeout) and returns nil.
// Unreachable coordinators are retried with backoff; Run never gives up on them.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("agent: Run called twice")
	}
	a.running = true
	a.mu.Unlock()

	tasksDir := filepath.Join(a.cfg.DataDir, "tasks")
	// Leftovers of a previous run belong to attempts the coordinator has
	// given up on since.
	if err := os.RemoveAll(tasksDir); err != nil {
		return fmt.Errorf("agent: clear %s: %w", tasksDir, err)
	}
	if err := os.MkdirAll(tasksDir, 0o755); err != nil {
		return fmt.Errorf("agent: create %s: %w", tasksDir, err)
	}

	base := context.WithoutCancel(ctx)
	workCtx, stopWork := context.WithCancelCause(base)
	defer stopWork(errStopped)
	reportCtx, stopReports := context.WithCancel(base)
	defer stopReports()
	a.workCtx, a.reportCtx = workCtx, reportCtx

	hbCtx, stopHeartbeats := context.WithCancel(base)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		a.heartbeatLoop(hbCtx)
	}()

	a.log.Info("agent started", "slots", a.cfg.Slots, "prefetch", a.cfg.Prefetch,
		"encoders", strings.Join(a.cfg.Encoders, ","), "coordinators", strings.Join(a.client.URLs(), ","))
	a.leaseLoop(ctx)

	a.drain(stopWork, stopReports)
	// One last heartbeat says the agent holds nothing any more.
	stopHeartbeats()
	<-hbDone
	hb, cancel := context.WithTimeout(base, 5*time.Second)
	a.sendHeartbeat(hb)
	cancel()
	a.log.Info("agent stopped")
	return nil
}

// drain runs after Run's context is done; see Run.
func (a *Agent) drain(stopWork context.CancelCauseFunc, stopReports context.CancelFunc) {
	a.mu.Lock()
	a.draining = true
	var handBack int
	for _, att := range a.attempts {
		if att.stage < stageRunning {
			att.cancel(errDraining)
			handBack++
		}
	}
	held := len(a.attempts)
	a.mu.Unlock()
	a.log.Info("agent draining", "held", held, "handed_back", handBack, "drain_timeout", a.cfg.DrainTimeout.String())
	a.heartbeatNow()

	done := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(a.cfg.DrainTimeout):
	}
	a.log.Warn("drain timed out, stopping tasks", "drain_timeout", a.cfg.DrainTimeout.String())
	stopWork(errStopped)
	select {
	case <-done:
		return
	case <-time.After(killGrace):
	}
	a.log.Warn("reports still pending, giving up on them")
	stopReports()
	<-done
}

// info is what the agent says about itself on every lease.
func (a *Agent) info() wire.AgentInfo {
	return wire.AgentInfo{ID: a.cfg.NodeID, Addr: a.cfg.GossipAddr, Slots: a.cfg.Slots,
		Cores: runtime.NumCPU(), Encoders: a.cfg.Encoders, Version: a.cfg.Version}
}

// free is how many more tasks the agent takes: its slots and prefetch
// queue less the attempts it holds (leased, downloading, queued, running
// or uploading).
func (a *Agent) free() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg.Slots + a.cfg.Prefetch - len(a.attempts)
}

// leaseLoop long-polls for work until ctx is done.
func (a *Agent) leaseLoop(ctx context.Context) {
	wait := retry.NewBackoff(500*time.Millisecond, 15*time.Second)
	failing := false
	for ctx.Err() == nil {
		free := a.free()
		if free <= 0 {
			select {
			case <-ctx.Done():
				return
			case <-a.changed:
			}
			continue
		}
		start := time.Now()
		resp, err := a.client.Lease(ctx, wire.LeaseRequest{Agent: a.info(), Free: free}, a.cfg.LeaseWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d := wait.Next()
			a.log.Warn("lease failed", "error", err, "retry_in", d.Round(time.Millisecond).String())
			failing = true
			retry.Sleep(ctx, d)
			continue
		}
		if failing {
			a.log.Info("coordinator reachable again")
			failing = false
		}
		wait.Reset()
		for _, asg := range resp.Assignments {
			a.accept(asg)
		}
		// A coordinator that answers an empty long-poll at once must not
		// turn the loop into busy polling.
		if len(resp.Assignments) == 0 {
			if floor := min(time.Second, a.cfg.LeaseWait); time.Since(start) < floor {
				retry.Sleep(ctx, floor-time.Since(start))
			}
		}
	}
}

// accept registers a leased attempt and starts working on it.
func (a *Agent) accept(asg wire.Assignment) {
	ref := wire.AttemptRef{Task: asg.Task, Attempt: asg.Attempt}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.attempts[ref]; dup {
		return
	}
	att := &attempt{
		asg:       asg,
		ref:       ref,
		dir:       filepath.Join(a.cfg.DataDir, "tasks", fmt.Sprintf("%s-a%d", safeName(asg.Task), asg.Attempt)),
		abandoned: make(chan struct{}),
		log:       a.log.With("task_id", asg.Task, "attempt", asg.Attempt, "job_id", asg.Job, "kind", asg.Kind),
	}
	att.ctx, att.cancel = context.WithCancelCause(a.workCtx)
	if a.draining {
		att.cancel(errDraining)
	}
	a.attempts[ref] = att
	a.wg.Add(1)
	go a.runAttempt(att)
}

// safeName keeps a task ID usable as a directory name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// release forgets a finished attempt and lets the lease loop fill its place.
func (a *Agent) release(att *attempt) {
	a.mu.Lock()
	delete(a.attempts, att.ref)
	a.mu.Unlock()
	att.cancel(context.Canceled)
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// abandon cancels an attempt the coordinator no longer wants; nothing is reported.
func (a *Agent) abandon(ref wire.AttemptRef) {
	a.mu.Lock()
	att, ok := a.attempts[ref]
	a.mu.Unlock()
	if !ok {
		return
	}
	att.abandonOnce.Do(func() {
		att.log.Info("abandoning attempt at the coordinator's request")
		close(att.abandoned)
		att.cancel(errAbandoned)
	})
}

func (a *Agent) heartbeatNow() {
	select {
	case a.hbNow <- struct{}{}:
	default:
	}
}

// heartbeatLoop sends a heartbeat every cfg.Heartbeat until ctx is done.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.Heartbeat)
	defer t.Stop()
	for {
		a.sendHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.hbNow:
		}
	}
}

// sendHeartbeat reports every held attempt and abandons those the
// coordinator lists.
func (a *Agent) sendHeartbeat(ctx context.Context) {
	a.mu.Lock()
	hb := wire.Heartbeat{Agent: a.cfg.NodeID, Draining: a.draining, Attempts: []wire.AttemptRef{}}
	for ref := range a.attempts {
		hb.Attempts = append(hb.Attempts, ref)
	}
	a.mu.Unlock()
	slices.SortFunc(hb.Attempts, func(x, y wire.AttemptRef) int {
		if c := strings.Compare(x.Task, y.Task); c != 0 {
			return c
		}
		return x.Attempt - y.Attempt
	})
	ctx, cancel := context.WithTimeout(ctx, max(2*a.cfg.Heartbeat, 5*time.Second))
	defer cancel()
	resp, err := a.client.Heartbeat(ctx, hb)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Debug("heartbeat failed", "error", err)
		}
		return
	}
	for _, ref := range resp.Abandon {
		a.abandon(ref)
	}
}
