package cluster

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// TestDrainedAgentRestartsAlive: an agent that drained (its last heartbeat said so) and comes
// back under the same id, as `sunomi dev` restarted on its data directory or an agent process
// restarted by its supervisor does, is alive again at its first lease request and gets work.
// Before, it stayed draining in the state machine and new jobs waited forever.
func TestDrainedAgentRestartsAlive(t *testing.T) {
	f := newAuthorityFixture(t)
	a1 := certOf(t, f.ca, pki.RoleAgent, "a1")
	info := wire.AgentInfo{ID: "a1", Slots: 1}
	if status, msg := f.call(a1, "/v1/agent/lease?wait=0s", wire.LeaseRequest{Agent: info}, nil); status != http.StatusOK {
		t.Fatalf("first lease: %d %s", status, msg)
	}
	if status, msg := f.call(a1, "/v1/agent/heartbeat", wire.Heartbeat{Agent: "a1", Draining: true, Attempts: []wire.AttemptRef{}}, nil); status != http.StatusOK {
		t.Fatalf("draining heartbeat: %d %s", status, msg)
	}
	if a, _ := f.n.fsm.Agent("a1"); a.State != scheduler.AgentDraining {
		t.Fatalf("agent state %s after its draining heartbeat, want draining", a.State)
	}

	// The agent restarts and asks for work; a job is waiting.
	if err := f.store.Put(context.Background(), "uploads/src", strings.NewReader("src"), 3); err != nil {
		t.Fatal(err)
	}
	if status, msg := f.call(certOf(t, f.ca, pki.RoleClient, "api"), "/v1/jobs", wire.SubmitJob{Source: "uploads/src"}, nil); status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, msg)
	}
	var lease wire.LeaseResponse
	if status, msg := f.call(a1, "/v1/agent/lease?wait=0s", wire.LeaseRequest{Agent: info, Free: 1}, &lease); status != http.StatusOK {
		t.Fatalf("lease after the restart: %d %s", status, msg)
	}
	if a, _ := f.n.fsm.Agent("a1"); a.State != scheduler.AgentAlive || len(lease.Assignments) != 1 {
		t.Errorf("restarted agent: state %s, leased %v; want alive with the job's split", a.State, lease.Assignments)
	}
}
