package scheduler

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureDependencies keeps the state machine free of the HTTP contract and
// of the network: its log and snapshots hold only its own types.
func TestPureDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, forbidden := range []string{"net/http", "github.com/sunomi/sunomi/cluster/wire", "github.com/sunomi/sunomi/cluster"} {
		for _, d := range deps {
			if d == forbidden {
				t.Errorf("scheduler depends on %s", forbidden)
			}
		}
	}
}
