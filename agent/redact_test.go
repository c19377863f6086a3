package agent

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/syncbuf"
)

// TestPresignedURLSecretsStayOutOfFailures downloads an input from a
// presigned URL nobody answers (a storage outage): net/http's error quotes
// the whole URL, but neither the Fail report (the job's error, the video's
// failure reason) nor the agent's log may hold its signature.
func TestPresignedURLSecretsStayOutOfFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	storage := "http://" + ln.Addr().String()
	ln.Close() // now nothing answers there
	f := newFakeCoordinator(t)
	var logs syncbuf.Buffer
	startAgent(t, f, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	asg := testTask(t, "t1", testSpec{})
	asg.Inputs = map[string]string{
		"local": storage + "/v1/blobs/jobs/j1/c0.mp4?expires=1765095300&sig=9f86d081884c7d65",
		"s3": storage + "/bucket/videos/v1/source/original?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKIAEXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=FQoG&X-Amz-Signature=0123abcd",
	}
	f.add(asg)
	rep := f.next(t, time.Minute)
	if rep.fail == nil {
		t.Fatalf("got %s, want fail", rep)
	}
	if !strings.Contains(rep.fail.Error, storage+"/") {
		t.Errorf("Fail error %q does not say which storage failed", rep.fail.Error)
	}
	for what, text := range map[string]string{"Fail error": rep.fail.Error, "agent log": logs.String()} {
		for _, m := range []string{"sig=", "expires=", "x-amz-signature", "x-amz-credential", "x-amz-security-token"} {
			if strings.Contains(strings.ToLower(text), m) {
				t.Errorf("%s holds %q: %s", what, m, text)
			}
		}
	}
}
