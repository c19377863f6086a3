package cluster_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/pkitest"
	"github.com/sunomi/sunomi/internal/syncbuf"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
)

// voters lists the IDs in the Raft configuration the leader reports.
func voters(ctx context.Context, f *farmtest.Farm) ([]string, error) {
	cl, err := f.Client().Cluster(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range cl.Peers {
		ids = append(ids, p.ID)
	}
	return ids, nil
}

// TestFarmAdmitsOnlyServerCertificatesAsVoters: gossip metadata never makes
// a voter. A coordinator holding a server certificate of another CA joins
// the gossip pool (it has the key) and claims to be a coordinator, yet never
// enters the Raft configuration, while one with a server certificate of the
// farm does; a raw Raft connection with an agent certificate is cut before
// Raft reads a byte.
func TestFarmAdmitsOnlyServerCertificatesAsVoters(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1})
	stranger := f.StartCoordinator("x1", pkitest.New(t).Files(pki.RoleServer, "x1"))
	member := f.StartCoordinator("c2", f.CA.Files(pki.RoleServer, "c2"))
	f.Eventually(30*time.Second, "c2 to become a voter", func(ctx context.Context) (bool, error) {
		ids, err := voters(ctx, f)
		return slices.Contains(ids, member.Name), err
	})
	// x1 has been knocking as long as c2 has; give it a few more seconds.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ids, err := voters(ctx, f)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, stranger.Name) {
			t.Fatalf("the coordinator with another CA's certificate became a voter: %v", ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !stranger.Running() {
		t.Fatalf("x1 exited; it should keep trying to join:\n%s", stranger.Log())
	}

	t.Run("raw raft connection with an agent certificate", func(t *testing.T) {
		agent := f.CA.Material(pki.RoleAgent, "a9")
		conn, err := tls.Dial("tcp", f.Coordinators[0].Raft, agent.ClientConfig())
		if err != nil {
			return // refused at the handshake: as good
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = conn.Write([]byte{0}) // raft's rpcAppendEntries type byte
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the raft listener kept a connection with an agent certificate open (read: %v)", err)
		}
	})
}

// TestCoordinatorAndAgentRefuseToStartWithoutTLS: without TLS material and
// a gossip key, or with a certificate of the wrong role, the processes stop
// at once with one line naming what to pass; --insecure-dev runs, loudly.
func TestCoordinatorAndAgentRefuseToStartWithoutTLS(t *testing.T) {
	skipShort(t)
	bin := farmtest.Binaries(t)
	ca := pkitest.New(t)
	agentCert := ca.Files(pki.RoleAgent, "c1")
	key := pki.NewGossipKey()
	coordinator := func(extra ...string) []string {
		addrs := testkit.FreeAddrs(t, "127.0.0.1", 3)
		return append([]string{"--node-id", "c1", "--data-dir", t.TempDir(), "--bootstrap-expect", "1",
			"--http-addr", addrs[0], "--raft-addr", addrs[1], "--gossip-addr", addrs[2]}, extra...)
	}
	agentArgs := []string{"--node-id", "a1", "--data-dir", t.TempDir(), "--coordinator", "https://127.0.0.1:1", "--encoder", "libx264"}
	tests := []struct {
		name, bin string
		args      []string
		want      []string
	}{
		{"coordinator without TLS", "coordinator", coordinator(), []string{"--tls-ca", "--tls-cert", "--tls-key", "--gossip-key", "--insecure-dev"}},
		{"coordinator without gossip key", "coordinator",
			coordinator("--tls-ca", agentCert.CA, "--tls-cert", agentCert.Cert, "--tls-key", agentCert.Key), []string{"--gossip-key"}},
		{"coordinator with an agent certificate", "coordinator",
			coordinator("--tls-ca", agentCert.CA, "--tls-cert", agentCert.Cert, "--tls-key", agentCert.Key, "--gossip-key", key),
			[]string{"want a server certificate"}},
		{"agent without TLS", "agent", agentArgs, []string{"--tls-ca", "--tls-cert", "--tls-key", "--gossip-key", "--insecure-dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(bin, tt.bin), tt.args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; output:\n%s", err, out)
			}
			if strings.Count(string(out), "\n") != 1 {
				t.Errorf("output %q, want one line", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output %q does not name %s", out, w)
				}
			}
		})
	}
	t.Run("coordinator with --insecure-dev", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(bin, "coordinator"), coordinator("--insecure-dev")...)
		out := &syncbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		testkit.WaitFor(t, 10*time.Second, "the insecure warning", func() bool { return strings.Contains(out.String(), "INSECURE") })
	})
}

// TestFarmGossipWithoutKeyIsNotSeen: a member without the gossip key (or
// with another) cannot join the farm's encrypted pool: it sees nobody, and
// nobody sees it. One with the key sees the farm, so the check can fail.
func TestFarmGossipWithoutKeyIsNotSeen(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 1})
	key, err := base64.StdEncoding.DecodeString(f.GossipKey)
	if err != nil {
		t.Fatal(err)
	}
	join := func(name string, key []byte) *cluster.Gossip {
		g, err := cluster.JoinGossip(cluster.GossipConfig{Name: name, Bind: testkit.FreeAddr(t, "127.0.0.1"), Join: f.GossipAddrs(),
			Key: key, Fast: true, Meta: cluster.Meta{Role: cluster.RoleCoordinator, HTTP: "http://127.0.0.1:1", Raft: "127.0.0.1:1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Shutdown() })
		return g
	}
	clear, wrong := join("clear", nil), join("wrong", []byte("0123456789abcdef0123456789abcdef"))
	keyed := join("keyed", key)
	testkit.WaitFor(t, 15*time.Second, "the keyed member to see the farm", func() bool { return len(keyed.Members()) >= 3 })
	time.Sleep(2 * time.Second) // the others had as long, and more
	for _, g := range []*cluster.Gossip{clear, wrong} {
		if ms := g.Members(); len(ms) != 1 {
			t.Errorf("a member without the key sees %v, want only itself", ms)
		}
	}
	for _, m := range keyed.Members() {
		if m.Name == "clear" || m.Name == "wrong" {
			t.Errorf("the pool lists %s, which has no key", m.Name)
		}
	}
}

// TestFarmRotatesCertificatesOnSIGHUP rewrites the certificate files of the
// agent and the coordinator with new certificates of the same CA while a
// job runs, sends SIGHUP, and checks that the new certificate is served and
// the job finishes.
func TestFarmRotatesCertificatesOnSIGHUP(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 1})
	coord, agent := f.Coordinators[0], f.Agents[0]
	src := testmedia.Generate(t, testmedia.CFR(20, 320, 240, 25, true))
	j := f.Submit(src, smallJob)
	f.Eventually(time.Minute, "encoding under way", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		return err == nil && job.State == scheduler.JobEncoding, err
	})
	before := servedSerial(t, f, coord)
	roles := map[*farmtest.Process]pki.Role{coord.Process: pki.RoleServer, agent: pki.RoleAgent}
	// A certificate for another name is refused: the node keeps its own.
	for p, role := range roles {
		other := f.CA.Files(role, p.Name+"-other")
		testkit.CopyFile(t, other.Cert, p.TLS.Cert)
		testkit.CopyFile(t, other.Key, p.TLS.Key)
		p.Reload()
		testkit.WaitFor(t, 10*time.Second, p.Name+" to refuse the certificate of another node",
			func() bool { return strings.Contains(p.Log(), "reload of TLS certificates failed") })
	}
	if got := servedSerial(t, f, coord); got != before {
		t.Fatalf("the coordinator serves %s after a refused reload, want its certificate %s", got, before)
	}
	for p, role := range roles {
		f.CA.Issue(role, p.Name, filepath.Dir(p.TLS.Cert))
		p.Reload()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if job, err := f.Client().Job(ctx, j.ID); err != nil || job.State.Finished() {
		t.Fatalf("job %s (%v) already over at the rotation: make it longer", job.State, err)
	}
	// The coordinator logs at warn in test farms: what it serves tells.
	want := pkitest.ReadCert(t, coord.TLS.Cert).SerialNumber.String()
	testkit.WaitFor(t, 10*time.Second, "the coordinator to serve its new certificate", func() bool { return servedSerial(t, f, coord) == want })
	if want == before {
		t.Fatalf("the rewritten certificate has the old serial %s", before)
	}
	testkit.WaitFor(t, 10*time.Second, "the agent to reload", func() bool { return strings.Contains(agent.Log(), "reloaded TLS certificates") })
	j = f.WaitJob(j.ID, 2*time.Minute)
	wantPublished(t, f, j, 500)
	if !coord.Running() || !agent.Running() {
		t.Error("a process exited on SIGHUP")
	}
}

// servedSerial is the serial number of the certificate c presents now.
func servedSerial(t *testing.T, f *farmtest.Farm, c *farmtest.Coordinator) string {
	t.Helper()
	conn, err := tls.Dial("tcp", c.HTTP, f.ClientTLS().ClientConfig())
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", c.Name, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestFarmInsecureDev runs a farm with --insecure-dev, as before TLS: plain
// HTTP and Raft, gossip in clear. It must still elect, replicate and encode.
func TestFarmInsecureDev(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 3, Agents: 1, Insecure: true})
	if u := f.Coordinators[0].URL(); !strings.HasPrefix(u, "http://") {
		t.Fatalf("insecure farm URL %s", u)
	}
	src := testmedia.Generate(t, testmedia.CFR(4, 320, 240, 25, false))
	j := f.WaitJob(f.Submit(src, smallJob).ID, 2*time.Minute)
	wantPublished(t, f, j, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ids, err := voters(ctx, f); err != nil || len(ids) != 3 {
		t.Errorf("voters %v (%v), want 3", ids, err)
	}
}
