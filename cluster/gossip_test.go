package cluster

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testkit"
)

// gossipTimeout bounds how long the tests wait for gossip to spread news, at the
// Fast timings.
const gossipTimeout = 10 * time.Second

func TestGossipFindsCoordinatorsAndAgentLoad(t *testing.T) {
	key := []byte("0123456789abcdef")
	coord, err := JoinGossip(GossipConfig{Name: "c1", Bind: testkit.FreeAddr(t, "127.0.0.1"), Key: key, Fast: true,
		Meta: Meta{Role: RoleCoordinator, HTTP: "http://127.0.0.1:7000", Raft: "127.0.0.1:7001"}})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	agent, err := JoinGossip(GossipConfig{Name: "a1", Bind: testkit.FreeAddr(t, "127.0.0.1"), Key: key, Fast: true,
		Join: []string{coord.ml.LocalNode().Address()}, Meta: Meta{Role: RoleAgent, Slots: 2}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, gossipTimeout, "the agent to see the coordinator", func() bool { return len(agent.Coordinators()) == 1 })
	if got, want := agent.Coordinators()[0], "http://127.0.0.1:7000"; got != want {
		t.Errorf("coordinator URL = %q, want %q", got, want)
	}
	agent.UpdateMeta(func(m *Meta) { m.Busy = 2 })
	testkit.WaitFor(t, gossipTimeout, "the coordinator to see the agent's load", func() bool {
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
	testkit.WaitFor(t, gossipTimeout, "a leave event", func() bool {
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
	coord, err := JoinGossip(GossipConfig{Name: "c1", Bind: testkit.FreeAddr(t, "127.0.0.1"), Key: []byte("0123456789abcdef"), Fast: true,
		Meta: Meta{Role: RoleCoordinator, HTTP: "http://127.0.0.1:7000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	intruder, err := JoinGossip(GossipConfig{Name: "x", Bind: testkit.FreeAddr(t, "127.0.0.1"), Key: []byte("fedcba9876543210"), Fast: true,
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
	coord, err := JoinGossip(GossipConfig{Name: "c1", Bind: testkit.FreeAddr(t, "127.0.0.1"), Fast: true, Meta: Meta{Role: RoleCoordinator}})
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	join := []string{coord.ml.LocalNode().Address()}
	quitter, err := JoinGossip(GossipConfig{Name: "quitter", Bind: testkit.FreeAddr(t, "127.0.0.1"), Fast: true, Join: join, Meta: Meta{Role: RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	crasher, err := JoinGossip(GossipConfig{Name: "crasher", Bind: testkit.FreeAddr(t, "127.0.0.1"), Fast: true, Join: join, Meta: Meta{Role: RoleAgent}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, gossipTimeout, "three members", func() bool { return len(coord.Members()) == 3 })
	if err := quitter.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	_ = crasher.Shutdown() // no goodbye: the pool must find out by probing
	got := map[string]MemberEventKind{}
	testkit.WaitFor(t, gossipTimeout, "both departures", func() bool {
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

// TestGossipDetectsDeathWithinFiveSecondsOnLAN runs a pool of five members
// (three coordinators and two agents, as in the farm) with the production
// timings, not Fast, while every CPU of the process is kept busy: no member
// may be declared dead while all are alive, and the one that stops without a
// goodbye must be declared dead within 5 s (issue 12).
func TestGossipDetectsDeathWithinFiveSecondsOnLAN(t *testing.T) {
	const budget = 5 * time.Second
	var members []*Gossip
	for i := range 5 {
		cfg := GossipConfig{Name: fmt.Sprintf("m%d", i), Bind: testkit.FreeAddr(t, "127.0.0.1"), Meta: Meta{Role: RoleAgent}}
		if i > 0 {
			cfg.Join = []string{members[0].ml.LocalNode().Address()}
		}
		g, err := JoinGossip(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Shutdown() })
		members = append(members, g)
	}
	// Production timings spread the news of a join by gossip rounds, slower than Fast on a
	// machine busy with other tests; how long the pool takes to form is not what is measured.
	for _, g := range members {
		testkit.WaitFor(t, 3*gossipTimeout, "every member to see five", func() bool { return len(g.Members()) == 5 })
	}
	observer, victim := members[0], members[4]
	// Keep every CPU busy, as encodes do on an agent.
	var stop atomic.Bool
	defer stop.Store(true)
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for n := 0; !stop.Load(); n++ {
			}
		}()
	}
	deaths := func(wait time.Duration) map[string]time.Time {
		got := map[string]time.Time{}
		deadline := time.After(wait)
		for {
			select {
			case ev := <-observer.Events():
				if ev.Kind == MemberDead {
					got[ev.Member.Name] = time.Now()
				}
				if ev.Member.Name == victim.ml.LocalNode().Name && ev.Kind == MemberDead {
					return got
				}
			case <-deadline:
				return got
			}
		}
	}
	if got := deaths(3 * lanSuspicionMult * lanProbeInterval); len(got) > 0 {
		t.Fatalf("members declared dead while all were alive and busy: %v", got)
	}
	killed := time.Now()
	_ = victim.Shutdown() // no goodbye, as a SIGKILL
	got := deaths(3 * budget)
	at, ok := got["m4"]
	if !ok {
		t.Fatalf("m4 not declared dead within %s of its shutdown", 3*budget)
	}
	if len(got) > 1 {
		t.Errorf("members declared dead besides m4: %v", got)
	}
	if d := at.Sub(killed); d > budget {
		t.Errorf("m4 declared dead %s after it stopped, want at most %s", d.Round(time.Millisecond), budget)
	} else {
		t.Logf("m4 declared dead %s after it stopped", d.Round(time.Millisecond))
	}
}
