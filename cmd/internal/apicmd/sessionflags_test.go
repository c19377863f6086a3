package apicmd

import (
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api"
)

func TestSessionFlags(t *testing.T) {
	s, err := parse(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config.Auth.TokenTTL; got != 15*time.Minute {
		t.Errorf("default access token lifetime %s, want 15m", got)
	}
	t.Setenv("SUNOMI_SESSION_TTL", "48h")
	if s, err = parse(t, false, "--access-token-ttl", "20s"); err != nil {
		t.Fatal(err)
	}
	if a := s.Config.Auth; a.TokenTTL != 20*time.Second || a.SessionTTL != 48*time.Hour {
		t.Errorf("lifetimes %s and %s, want 20s from the flag and 48h from $SUNOMI_SESSION_TTL", a.TokenTTL, a.SessionTTL)
	}
	for _, args := range [][]string{{"--access-token-ttl", "0s"}, {"--access-token-ttl", "72h"}} {
		if _, err := parse(t, false, args...); err == nil || !strings.Contains(err.Error(), "--access-token-ttl") {
			t.Errorf("%q: error %v, want one naming --access-token-ttl", args, err)
		}
	}
}

func TestTimeoutFlags(t *testing.T) {
	s, err := parse(t, false)
	if err != nil {
		t.Fatal(err)
	}
	want := api.TimeoutsConfig{ReadHeader: 10 * time.Second, Idle: 2 * time.Minute, BodyRead: 30 * time.Second,
		UploadMinRate: 64 << 10, Write: 2 * time.Minute, WebSocketPing: 30 * time.Second}
	if got := s.Config.Timeouts; got != want {
		t.Errorf("default timeouts %+v, want %+v", got, want)
	}
	t.Setenv("SUNOMI_WEBSOCKET_PING", "5s")
	if s, err = parse(t, false, "--body-read-timeout", "2s", "--upload-min-rate", "1MiB"); err != nil {
		t.Fatal(err)
	}
	if got := s.Config.Timeouts; got.BodyRead != 2*time.Second || got.UploadMinRate != 1<<20 || got.WebSocketPing != 5*time.Second {
		t.Errorf("timeouts %+v, want a 2s body read and 1 MiB/s from the flags, a 5s ping from $SUNOMI_WEBSOCKET_PING", got)
	}
	for _, args := range [][]string{{"--write-timeout", "0s"}, {"--idle-timeout", "-1s"}, {"--upload-min-rate", "0"}} {
		if _, err := parse(t, false, args...); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%q: error %v, want one naming %s", args, err, args[0])
		}
	}
}
