package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// listingNode holds jobs j1..j5, j2 encoding and j4 canceled.
func listingNode(t *testing.T) *Node {
	t.Helper()
	n, _ := metricsNode(t)
	now := time.Unix(1_700_000_000, 0)
	applyMetricsCmd(t, n, scheduler.CmdRegisterAgent, scheduler.RegisterAgent{Info: scheduler.AgentInfo{ID: "a1", Slots: 4}, Now: now})
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("j%d", i)
		applyMetricsCmd(t, n, scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: id, Source: "uploads/" + id, Now: now})
	}
	applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: []string{"j2-split"}, Now: now})
	applyMetricsCmd(t, n, scheduler.CmdComplete, scheduler.Complete{Task: "j2-split", Attempt: 1, Now: now,
		NewTasks: []scheduler.NewTask{{ID: "j2-e0", Kind: scheduler.KindEncode}}})
	applyMetricsCmd(t, n, scheduler.CmdCancelJob, scheduler.CancelJob{Job: "j4", Now: now})
	return n
}

func getJobs(t *testing.T, n *Node, query string) (int, wire.JobList, string) {
	t.Helper()
	w := httptest.NewRecorder()
	n.listJobs(w, httptest.NewRequest(http.MethodGet, "/v1/jobs?"+query, nil))
	var list wire.JobList
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
			t.Fatalf("GET /v1/jobs?%s: %v", query, err)
		}
	}
	return w.Code, list, w.Body.String()
}

func TestListJobsPages(t *testing.T) {
	n := listingNode(t)
	tests := []struct {
		name, query string
		want        [][]string // the IDs of every page
	}{
		{"default", "", [][]string{{"j5", "j4", "j3", "j2", "j1"}}},
		{"pages", "limit=2", [][]string{{"j5", "j4"}, {"j3", "j2"}, {"j1"}}},
		{"states", "state=queued,canceled&limit=3", [][]string{{"j5", "j4", "j3"}, {"j1"}}},
		{"running means the stages between queued and finished", "state=running", [][]string{{"j2"}}},
		{"finished", "state=done,failed", [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			query := tt.query
			for range 10 {
				status, list, body := getJobs(t, n, query)
				if status != http.StatusOK {
					t.Fatalf("GET /v1/jobs?%s: %d %s", query, status, body)
				}
				var ids []string
				for _, j := range list.Jobs {
					ids = append(ids, j.ID)
				}
				got = append(got, ids)
				if list.Next == "" {
					break
				}
				query = tt.query + "&" + wire.JobsAfterParam + "=" + list.Next
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("pages: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListJobsRefusesBadQueries(t *testing.T) {
	n := listingNode(t)
	for _, tt := range []struct{ query, want string }{
		{"limit=0", "limit must be a number from 1 to 1000"},
		{"limit=1001", "limit must be a number from 1 to 1000"},
		{"limit=ten", "limit must be a number"},
		{"after=j3", "after must be the next cursor"},
		{"state=queued,sleeping", `unknown job state \"sleeping\"`}, // JSON-escaped
	} {
		t.Run(tt.query, func(t *testing.T) {
			status, _, body := getJobs(t, n, tt.query)
			if status != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("GET /v1/jobs?%s: %d %s, want 400 with %q", tt.query, status, body, tt.want)
			}
		})
	}
}
