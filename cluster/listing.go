package cluster

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// listJobs serves GET /v1/jobs one page at a time (see wire.JobList).
func (n *Node) listJobs(w http.ResponseWriter, r *http.Request) {
	q, err := jobQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page := n.fsm.ListJobs(q)
	list := wire.JobList{Jobs: bodies(page.Jobs, jobBody)}
	if page.Next != 0 {
		list.Next = strconv.FormatUint(page.Next, 10)
	}
	writeJSON(w, http.StatusOK, list)
}

// runningStates are what the state filter's "running" stands for.
var runningStates = []scheduler.JobState{scheduler.JobSplitting, scheduler.JobEncoding, scheduler.JobStitching}

// jobQuery reads the listing's query parameters.
func jobQuery(r *http.Request) (scheduler.JobQuery, error) {
	params := r.URL.Query()
	q := scheduler.JobQuery{Limit: wire.DefaultJobsLimit}
	if v := params.Get(wire.JobsLimitParam); v != "" {
		limit, err := strconv.Atoi(v)
		if err != nil || limit < 1 || limit > wire.MaxJobsLimit {
			return q, fmt.Errorf("limit must be a number from 1 to %d", wire.MaxJobsLimit)
		}
		q.Limit = limit
	}
	if v := params.Get(wire.JobsAfterParam); v != "" {
		after, err := strconv.ParseUint(v, 10, 64)
		if err != nil || after == 0 {
			return q, fmt.Errorf("after must be the next cursor of a previous page")
		}
		q.Before = after
	}
	for _, v := range strings.Split(params.Get(wire.JobsStateParam), ",") {
		switch s := scheduler.JobState(strings.TrimSpace(v)); {
		case s == "":
		case s == "running":
			q.States = append(q.States, runningStates...)
		case slices.Contains(jobStates, string(s)): // the metrics' labels: every state
			q.States = append(q.States, s)
		default:
			return q, fmt.Errorf("unknown job state %q: want running or one of %s", s, strings.Join(jobStates, ", "))
		}
	}
	return q, nil
}
