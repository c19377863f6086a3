package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/miniotest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
)

// secretMarkers are the parts of a presigned URL that give access to an
// object: what no error message or log line may hold (issue 12, attack 7).
var secretMarkers = []string{"x-amz-signature", "x-amz-credential", "x-amz-security-token", "sig=", "token="}

// TestFarmKeepsSignedURLsOutOfErrorsAndLogs fails a job the way a storage
// outage does: MinIO stops right after the submission, so the agent's
// transfers through presigned URLs fail at the network level, where net/http
// quotes the whole URL in its error. Neither the job's error, nor an
// attempt's, nor any line a coordinator or agent logged may then hold a
// signature, credential or token.
func TestFarmKeepsSignedURLsOutOfErrorsAndLogs(t *testing.T) {
	skipShort(t)
	srv := miniotest.Start(t)
	srv.Setenv(t) // the coordinators inherit the credentials
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 1, Storage: srv.URL("sunomi"),
		AgentArgs: []string{"--log-level", "debug"}, CoordinatorArgs: []string{"--log-level", "debug"}})
	src := testmedia.Generate(t, testmedia.CFR(2, 160, 120, 25, false))
	j := f.Submit(src, smallJob)
	srv.Stop()
	j = f.WaitJob(j.ID, 4*time.Minute)
	if j.State != scheduler.JobFailed {
		t.Fatalf("job %s ended %s with storage down, want failed", j.ID, j.State)
	}
	t.Logf("job error: %s", j.Error)
	texts := map[string]string{"job error": j.Error}
	viaStorage := false
	for _, task := range j.Tasks {
		for _, a := range task.Attempts {
			texts[fmt.Sprintf("error of attempt %d of task %s", a.N, task.ID)] = a.Error
			viaStorage = viaStorage || strings.Contains(a.Error, srv.Endpoint)
		}
	}
	if !viaStorage {
		t.Fatalf("no attempt failed on a request to the storage at %s; the test proves nothing (job error %q)", srv.Endpoint, j.Error)
	}
	for _, c := range f.Coordinators {
		texts[c.Name+" log"] = c.Log()
	}
	for _, a := range f.Agents {
		texts[a.Name+" log"] = a.Log()
	}
	for what, text := range texts {
		for i, line := range strings.Split(text, "\n") {
			for _, m := range secretMarkers {
				if strings.Contains(strings.ToLower(line), m) {
					t.Errorf("%s, line %d, holds %q: %s", what, i+1, m, line)
				}
			}
		}
	}
}
