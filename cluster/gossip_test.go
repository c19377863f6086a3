package cluster

import (
	"net"
	"testing"
	"time"
)

func freeGossipAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGossipFindsCoordinatorsAndAgentLoad(t *testing.T) {
	key := []byte("0123456789abcdef")
	coord, err := JoinGossip(GossipConfig{Name: "c1", Bind: freeGossipAddr(t), Key: key, Fast: true,
		Meta: Meta{Role: RoleCoordinator, HTTP: "http://127.0.0.1:7000", Raft: "127.0.0.1:7001"}})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	agent, err := JoinGossip(GossipConfig{Name: "a1", Bind: freeGossipAddr(t), Key: key, Fast: true,
		Join: []string{coord.ml.LocalNode().Address()}, Meta: Meta{Role: RoleAgent, Slots: 2}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent to see the coordinator", func() bool { return len(agent.Coordinators()) == 1 })
	if got, want := agent.Coordinators()[0], "http://127.0.0.1:7000"; got != want {
		t.Errorf("coordinator URL = %q, want %q", got, want)
	}
	agent.UpdateMeta(func(m *Meta) { m.Busy = 2 })
	waitFor(t, "the coordinator to see the agent's load", func() bool {
		for _, m := range coord.Members() {
			if m.Name == "a1" && m.Meta.Busy == 2 && m.Meta.Slots == 2 {
				return true
			}
		}
		return false
	})
	if err := agent.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a leave event", func() bool {
		for {
			select {
			case ev := <-coord.Events():
				if ev.Member.Name == "a1" && ev.Kind == MemberLeave {
					return true
				}
			default:
				return false
			}
		}
	})
}

func TestGossipRejectsAnotherKey(t *testing.T) {
	coord, err := JoinGossip(GossipConfig{Name: "c1", Bind: freeGossipAddr(t), Key: []byte("0123456789abcdef"), Fast: true,
		Meta: Meta{Role: RoleCoordinator, HTTP: "http://127.0.0.1:7000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	intruder, err := JoinGossip(GossipConfig{Name: "x", Bind: freeGossipAddr(t), Key: []byte("fedcba9876543210"), Fast: true,
		Join: []string{coord.ml.LocalNode().Address()}, Meta: Meta{Role: RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Shutdown()
	time.Sleep(time.Second) // give a wrong join time to (not) happen
	if n := len(coord.Members()); n != 1 {
		t.Errorf("the pool has %d members after a join with the wrong key, want 1", n)
	}
}

func TestGossipTellsDeathFromLeave(t *testing.T) {
	coord, err := JoinGossip(GossipConfig{Name: "c1", Bind: freeGossipAddr(t), Fast: true, Meta: Meta{Role: RoleCoordinator}})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	join := []string{coord.ml.LocalNode().Address()}
	quitter, err := JoinGossip(GossipConfig{Name: "quitter", Bind: freeGossipAddr(t), Fast: true, Join: join, Meta: Meta{Role: RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	crasher, err := JoinGossip(GossipConfig{Name: "crasher", Bind: freeGossipAddr(t), Fast: true, Join: join, Meta: Meta{Role: RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three members", func() bool { return len(coord.Members()) == 3 })
	if err := quitter.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	_ = crasher.Shutdown() // no goodbye: the pool must find out by probing
	got := map[string]MemberEventKind{}
	waitFor(t, "both departures", func() bool {
		for {
			select {
			case ev := <-coord.Events():
				if ev.Kind == MemberLeave || ev.Kind == MemberDead {
					got[ev.Member.Name] = ev.Kind
				}
			default:
				return len(got) == 2
			}
		}
	})
	if got["quitter"] != MemberLeave || got["crasher"] != MemberDead {
		t.Errorf("departures = %v, want quitter: leave, crasher: dead", got)
	}
}
