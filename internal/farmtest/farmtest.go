// Package farmtest starts real farms for tests: coordinators and agents as
// separate OS processes of the real binaries, on loopback addresses, so that
// they can be killed with SIGKILL and restarted from their data dirs.
package farmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/internal/syncbuf"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/scheduler"
)

// processLogTail is how much of each process's log a failed test shows.
const processLogTail = 4000

// Binaries builds cmd/coordinator, cmd/agent and cmd/sunomi (testkit.Build)
// and returns the directory holding them.
func Binaries(tb testing.TB) string {
	tb.Helper()
	var dir string
	for _, name := range []string{"coordinator", "agent", "sunomi"} {
		dir = filepath.Dir(testkit.Build(tb, name))
	}
	return dir
}

// Process is a running coordinator or agent.
type Process struct {
	Name string
	Args []string
	// TLS names the process's certificate files (zero in an insecure
	// farm); a test rotates them by rewriting the files and calling Reload.
	TLS   pki.Files
	bin   string
	netns string // network namespace to run in, if any
	cmd   *exec.Cmd
	log   syncbuf.Buffer // every run's output, written by the process while the test reads
	done  chan struct{}
	mu    sync.Mutex // guards cmd and done
}

func (p *Process) start(tb testing.TB) {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = exec.Command(p.bin, p.Args...)
	if p.netns != "" {
		p.cmd = exec.Command("ip", append([]string{"netns", "exec", p.netns, p.bin}, p.Args...)...)
	}
	fmt.Fprintf(&p.log, "=== start %s\n", time.Now().Format(time.TimeOnly))
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", p.Name, err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
}

// Kill sends SIGKILL to the process group (the agent's task children too)
// and waits for it to die.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM and waits up to timeout before killing.
func (p *Process) Stop(timeout time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		p.Kill()
	}
}

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Reload sends SIGHUP: the process re-reads its certificate files.
func (p *Process) Reload() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
}

// Restart starts the process again with the same arguments.
func (p *Process) Restart(tb testing.TB) { p.start(tb) }

// Log returns what the process printed so far.
func (p *Process) Log() string { return p.log.String() }

// Coordinator is one coordinator of a farm.
type Coordinator struct {
	*Process
	HTTP, Raft, Gossip string
	// Health serves /healthz over plain HTTP (--health-addr).
	Health string
	host   *host // with Options.Namespaces
	secure bool
}

// URL is the coordinator's API base URL.
func (c *Coordinator) URL() string {
	if c.secure {
		return "https://" + c.HTTP
	}
	return "http://" + c.HTTP
}

// Farm is a set of coordinators and agents.
type Farm struct {
	tb           testing.TB
	bin          string
	dir          string
	Storage      string // storage URL shared by the coordinators
	Coordinators []*Coordinator
	Agents       []*Process
	// CA signs every certificate of the farm, GossipKey (base64) encrypts
	// its gossip; both are nil/empty in an insecure farm.
	CA        *pkitest.CA
	GossipKey string
	// clientFiles and clientTLS are the operator's certificate, which
	// Client and Inside call with.
	clientFiles pki.Files
	clientTLS   *pki.Material
}

// Options shape a farm.
type Options struct {
	Coordinators int
	Agents       int
	Slots        int
	// Storage is a storage URL; default a local directory in the farm's dir.
	Storage  string
	LeaseTTL time.Duration
	// AgentArgs are extra flags for every agent, CoordinatorArgs for every
	// coordinator (a flag given again overrides the farm's own).
	AgentArgs       []string
	CoordinatorArgs []string
	// Production runs coordinators and agents with the production Raft,
	// gossip and lease timings (no --fast, the default --lease-ttl and
	// --failover-grace), for benchmarks of failure detection.
	Production bool
	// Namespaces runs every coordinator in a network namespace of its own,
	// on a bridge, so that a test can cut one off (Partition). Needs root.
	Namespaces bool
	// Insecure runs the farm with --insecure-dev: no certificates, gossip
	// in clear. The default is mutual TLS from a CA of the test's own, a
	// certificate per node, and an encrypted gossip pool.
	Insecure bool
	// Binaries is the directory of the coordinator, agent and sunomi
	// binaries to run; Binaries(tb) (this checkout's) when empty. A
	// benchmark compares another revision's with it.
	Binaries string
}

// Start launches a farm and waits until it has a leader and every agent
// has polled for work. Everything is killed at the end of the test, and the
// processes' logs are printed when it failed.
func Start(tb testing.TB, o Options) *Farm {
	tb.Helper()
	bin := o.Binaries
	if bin == "" {
		bin = Binaries(tb)
	}
	f := &Farm{tb: tb, bin: bin, dir: tb.TempDir(), Storage: o.Storage}
	if !o.Insecure {
		f.CA, f.GossipKey = pkitest.New(tb), pki.NewGossipKey()
		f.clientFiles = f.CA.Files(pki.RoleClient, "operator")
		var err error
		if f.clientTLS, err = pki.Load(f.clientFiles); err != nil {
			tb.Fatal(err)
		}
	}
	if f.Storage == "" {
		f.Storage = "file://" + filepath.Join(f.dir, "blobs")
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 3 * time.Second
	}
	var hosts []host
	agentIP := "127.0.0.1"
	if o.Namespaces {
		// Agents stay in the root namespace, on the bridge the
		// coordinators can reach.
		hosts, agentIP = newHosts(tb, o.Coordinators)
	}
	for i := 1; i <= o.Coordinators; i++ {
		addrs := testkit.FreeAddrs(tb, "127.0.0.1", 4)
		c := &Coordinator{HTTP: addrs[0], Raft: addrs[1], Gossip: addrs[2], Health: addrs[3], secure: !o.Insecure}
		c.Process = &Process{Name: fmt.Sprintf("c%d", i), bin: filepath.Join(f.bin, "coordinator")}
		c.TLS = f.issue(pki.RoleServer, c.Name)
		if hosts != nil {
			h := hosts[i-1]
			c.HTTP, c.Raft, c.Gossip, c.Health, c.host = h.ip+":7000", h.ip+":7001", h.ip+":7002", h.ip+":7003", &h
			c.Process.netns = h.netns
		}
		f.Coordinators = append(f.Coordinators, c)
	}
	gossip := f.GossipAddrs()
	storageSecret := f.writeStorageSecret()
	for _, c := range f.Coordinators {
		c.Args = []string{"--node-id", c.Name, "--data-dir", filepath.Join(f.dir, c.Name),
			"--http-addr", c.HTTP, "--raft-addr", c.Raft, "--gossip-addr", c.Gossip, "--health-addr", c.Health,
			"--join", strings.Join(gossip, ","), "--bootstrap-expect", fmt.Sprint(o.Coordinators),
			"--storage", f.Storage, "--log-level", "warn"}
		if !o.Production {
			c.Args = append(c.Args, "--lease-ttl", o.LeaseTTL.String(), "--failover-grace", (2 * o.LeaseTTL).String(), "--fast")
		}
		c.Args = append(c.Args, "--storage-secret-file", storageSecret)
		c.Args = append(c.Args, f.credentialArgs(c.TLS)...)
		c.Args = append(c.Args, o.CoordinatorArgs...)
		c.start(tb)
	}
	slots := max(o.Slots, 1)
	for i := 1; i <= o.Agents; i++ {
		a := &Process{Name: fmt.Sprintf("a%d", i), bin: filepath.Join(f.bin, "agent")}
		a.TLS = f.issue(pki.RoleAgent, a.Name)
		a.Args = []string{"--node-id", a.Name, "--data-dir", filepath.Join(f.dir, a.Name),
			"--join", strings.Join(gossip, ","), "--gossip-addr", testkit.FreeAddr(tb, agentIP), "--slots", fmt.Sprint(slots),
			"--coordinator", strings.Join(f.URLs(), ",")}
		if !o.Production {
			a.Args = append(a.Args, "--fast")
		}
		a.Args = append(a.Args, f.credentialArgs(a.TLS)...)
		a.Args = append(a.Args, o.AgentArgs...)
		a.start(tb)
		f.Agents = append(f.Agents, a)
	}
	tb.Cleanup(func() {
		for _, p := range f.processes() {
			if p.Running() {
				p.Kill()
			}
		}
		if tb.Failed() {
			for _, p := range f.processes() {
				tb.Logf("--- %s log ---\n%s", p.Name, testkit.Tail(p.Log(), processLogTail))
			}
		}
	})
	f.WaitLeader(30 * time.Second)
	f.Eventually(30*time.Second, "every agent registered", func(ctx context.Context) (bool, error) {
		agents, err := f.Client().Agents(ctx)
		if err != nil {
			return false, err
		}
		alive := 0
		for _, a := range agents {
			if a.State == scheduler.AgentAlive {
				alive++
			}
		}
		return alive >= o.Agents, nil
	})
	return f
}

// StorageSecret signs the URLs of the farm's file:// storage. The
// coordinators read it from a file; the agents never see it.
const StorageSecret = "farmtest-storage-secret"

func (f *Farm) writeStorageSecret() string {
	path := filepath.Join(f.dir, "storage-secret")
	if err := os.WriteFile(path, []byte(StorageSecret), 0o600); err != nil {
		f.tb.Fatal(err)
	}
	return path
}

// issue writes a certificate of role for a node into the farm's directory
// (nothing in an insecure farm).
func (f *Farm) issue(role pki.Role, name string) pki.Files {
	if f.CA == nil {
		return pki.Files{}
	}
	return f.CA.Issue(role, name, filepath.Join(f.dir, "tls", name))
}

// credentialArgs are the flags that give a coordinator or agent its
// certificate files and the gossip key, or --insecure-dev.
func (f *Farm) credentialArgs(files pki.Files) []string {
	if f.CA == nil {
		return []string{"--insecure-dev"}
	}
	return []string{"--tls-ca", files.CA, "--tls-cert", files.Cert, "--tls-key", files.Key, "--gossip-key", f.GossipKey}
}

// Dir is the farm's working directory.
func (f *Farm) Dir() string { return f.dir }

// StartCoordinator starts one more coordinator that joins the farm's gossip
// pool (bootstrap-expect 0: it joins the existing cluster) with the
// certificate files given, for tests of who may become a voter.
func (f *Farm) StartCoordinator(name string, files pki.Files) *Coordinator {
	f.tb.Helper()
	addrs := testkit.FreeAddrs(f.tb, "127.0.0.1", 3)
	c := &Coordinator{HTTP: addrs[0], Raft: addrs[1], Gossip: addrs[2], secure: files.Given()}
	c.Process = &Process{Name: name, bin: filepath.Join(f.bin, "coordinator"), TLS: files}
	c.Args = []string{"--node-id", name, "--data-dir", filepath.Join(f.dir, name),
		"--http-addr", c.HTTP, "--raft-addr", c.Raft, "--gossip-addr", c.Gossip,
		"--join", strings.Join(f.GossipAddrs(), ","), "--bootstrap-expect", "0", "--storage", f.Storage,
		"--fast", "--log-level", "info", "--storage-secret-file", filepath.Join(f.dir, "storage-secret")}
	c.Args = append(c.Args, f.credentialArgs(files)...)
	c.start(f.tb)
	f.Coordinators = append(f.Coordinators, c)
	return c
}

func (f *Farm) processes() []*Process {
	var ps []*Process
	for _, c := range f.Coordinators {
		ps = append(ps, c.Process)
	}
	return append(ps, f.Agents...)
}

// GossipAddrs lists the coordinators' gossip addresses.
func (f *Farm) GossipAddrs() []string {
	var as []string
	for _, c := range f.Coordinators {
		as = append(as, c.Gossip)
	}
	return as
}

// URLs lists the coordinators' API URLs.
func (f *Farm) URLs() []string {
	var us []string
	for _, c := range f.Coordinators {
		us = append(us, c.URL())
	}
	return us
}

// Client talks to any coordinator, failing over between them, with an
// operator's client certificate.
func (f *Farm) Client() *client.Client { return client.New(f.URLs(), f.clientTLS, nil) }

// ClientTLS is the operator's material Client calls with (nil in an
// insecure farm).
func (f *Farm) ClientTLS() *pki.Material { return f.clientTLS }

// Leader returns the coordinator that is leader now, waiting for one.
func (f *Farm) Leader() *Coordinator {
	f.tb.Helper()
	var leader *Coordinator
	f.Eventually(30*time.Second, "a leader", func(ctx context.Context) (bool, error) {
		for _, c := range f.Coordinators {
			if !c.Running() {
				continue
			}
			cl, err := client.New([]string{c.URL()}, f.clientTLS, nil).Cluster(ctx)
			if err == nil && cl.State == raft.Leader.String() {
				leader = c
				return true, nil
			}
		}
		return false, nil
	})
	return leader
}

// WaitLeader waits until some coordinator leads.
func (f *Farm) WaitLeader(timeout time.Duration) {
	f.tb.Helper()
	f.Eventually(timeout, "a leader", func(ctx context.Context) (bool, error) {
		for _, c := range f.Coordinators {
			cl, err := client.New([]string{c.URL()}, f.clientTLS, nil).Cluster(ctx)
			if err == nil && cl.Leader != "" {
				return true, nil
			}
		}
		return false, nil
	})
}

// Eventually polls cond until it holds or timeout passes; the last error is
// reported on failure. Each try gets a few seconds: a process that does not
// answer must not use up the whole wait.
func (f *Farm) Eventually(timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	f.tb.Helper()
	err := testkit.Poll(timeout, func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cond(ctx)
	})
	if err != nil {
		f.tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// Submit uploads a local file through a coordinator and submits a job for it.
func (f *Farm) Submit(src string, opts wire.JobOptions) wire.Job {
	f.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := f.Client()
	file, err := os.Open(src)
	if err != nil {
		f.tb.Fatal(err)
	}
	defer file.Close()
	st, _ := file.Stat()
	key := fmt.Sprintf("uploads/%d-%s", time.Now().UnixNano(), filepath.Base(src))
	if err := c.Upload(ctx, key, file, st.Size()); err != nil {
		f.tb.Fatalf("upload %s: %v", src, err)
	}
	j, err := c.SubmitJob(ctx, "", wire.SubmitJob{Source: key, Options: opts})
	if err != nil {
		f.tb.Fatalf("submit %s: %v", src, err)
	}
	return j
}

// WaitJob waits until the job has finished and returns it.
func (f *Farm) WaitJob(id string, timeout time.Duration) wire.Job {
	f.tb.Helper()
	var job wire.Job
	f.Eventually(timeout, "job "+id+" to finish", func(ctx context.Context) (bool, error) {
		j, err := f.Client().Job(ctx, id)
		if err != nil {
			return false, err
		}
		job = j
		return j.State == scheduler.JobDone || j.State == scheduler.JobFailed || j.State == scheduler.JobCanceled, nil
	})
	return job
}

// Freeze stops the process with SIGSTOP: it keeps its sockets but neither
// hears nor answers anything, like a node cut off from the network.
func (p *Process) Freeze() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGSTOP) }

// Thaw resumes a frozen process.
func (p *Process) Thaw() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGCONT) }
