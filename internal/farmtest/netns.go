package farmtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// host is a network namespace on the test's bridge: a machine of its own
// as far as the network goes, whose link can be cut.
type host struct {
	netns string
	veth  string // the root namespace's end of its link to the bridge
	ip    string
}

// newHosts makes n namespaces on a bridge in the root namespace, which has
// the returned address on it; they are removed when the test ends.
func newHosts(tb testing.TB, n int) ([]host, string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatal("network namespaces need root")
	}
	id := os.Getpid() % 100000
	subnet := fmt.Sprintf("10.231.%d", id%250)
	bridge := fmt.Sprintf("snb%d", id)
	var hosts []host
	tb.Cleanup(func() {
		for _, h := range hosts {
			_ = exec.Command("ip", "netns", "del", h.netns).Run()
			_ = exec.Command("ip", "link", "del", h.veth).Run()
		}
		_ = exec.Command("ip", "link", "del", bridge).Run()
	})
	ip(tb, "link", "add", bridge, "type", "bridge")
	ip(tb, "addr", "add", subnet+".1/24", "dev", bridge)
	ip(tb, "link", "set", bridge, "up")
	for i := 1; i <= n; i++ {
		h := host{netns: fmt.Sprintf("sn%d-%d", id, i), veth: fmt.Sprintf("snv%d-%d", id, i), ip: fmt.Sprintf("%s.%d", subnet, 10+i)}
		peer := fmt.Sprintf("snp%d-%d", id, i)
		hosts = append(hosts, h)
		ip(tb, "netns", "add", h.netns)
		ip(tb, "link", "add", h.veth, "type", "veth", "peer", "name", peer)
		ip(tb, "link", "set", peer, "netns", h.netns)
		ip(tb, "link", "set", h.veth, "master", bridge)
		ip(tb, "link", "set", h.veth, "up")
		ip(tb, "netns", "exec", h.netns, "ip", "addr", "add", h.ip+"/24", "dev", peer)
		ip(tb, "netns", "exec", h.netns, "ip", "link", "set", peer, "up")
		ip(tb, "netns", "exec", h.netns, "ip", "link", "set", "lo", "up")
	}
	return hosts, subnet + ".1"
}

func ip(tb testing.TB, args ...string) {
	tb.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		tb.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Partition cuts the coordinator's link: nothing reaches it and it reaches
// nothing, but it keeps running. It needs Options.Namespaces.
func (f *Farm) Partition(c *Coordinator) { ip(f.tb, "link", "set", c.host.veth, "down") }

// Heal restores a partitioned coordinator's link.
func (f *Farm) Heal(c *Coordinator) { ip(f.tb, "link", "set", c.host.veth, "up") }

// Inside runs the sunomi CLI inside the coordinator's own namespace, which
// still reaches it while it is cut off, and returns what it printed.
func (f *Farm) Inside(c *Coordinator, args ...string) (string, error) {
	argv := append([]string{"netns", "exec", c.host.netns, f.bin + "/sunomi"}, args...)
	argv = append(argv, "--coordinator", c.URL())
	if f.CA != nil {
		argv = append(argv, "--tls-ca", f.clientFiles.CA, "--tls-cert", f.clientFiles.Cert, "--tls-key", f.clientFiles.Key)
	}
	out, err := exec.Command("ip", argv...).CombinedOutput()
	return string(out), err
}
