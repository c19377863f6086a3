package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// TestJobsListPages checks that `sunomi jobs list` asks for one filtered
// page and says how to get the next.
func TestJobsListPages(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		_ = json.NewEncoder(w).Encode(wire.JobList{Jobs: []wire.Job{
			{ID: "j9", State: scheduler.JobEncoding}, {ID: "j7", State: scheduler.JobQueued}}, Next: "7"})
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"jobs", "list", "--coordinator", srv.URL, "--state", "queued,running", "--limit", "2", "--after", "12"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := "after=12&limit=2&state=queued%2Crunning"; query != want {
		t.Errorf("query %q, want %q", query, want)
	}
	for _, want := range []string{"j9", "encoding", "j7", "queued"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if want := "more jobs: add --after 7"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}

// TestJobsListJSON checks that `sunomi jobs ls --output json` prints the page as the
// coordinator answered it, and that another output is a one-line error.
func TestJobsListJSON(t *testing.T) {
	want := wire.JobList{Jobs: []wire.Job{{ID: "j9", State: scheduler.JobEncoding, ChunksDone: 2, ChunksTotal: 5}}, Next: "9"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(want)
	}))
	defer srv.Close()
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"jobs", "ls", "--coordinator", srv.URL, "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var got wire.JobList
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if len(got.Jobs) != 1 || got.Jobs[0].ID != "j9" || got.Jobs[0].ChunksDone != 2 || got.Next != "9" {
		t.Errorf("printed %+v, want %+v", got, want)
	}

	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"jobs", "ls", "--coordinator", srv.URL, "--output", "yaml"})
	if err := cmd.Execute(); err == nil || err.Error() != `--output must be table or json, not "yaml"` {
		t.Errorf("--output yaml: %v", err)
	}
}
