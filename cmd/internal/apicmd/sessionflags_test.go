package apicmd

import (
	"strings"
	"testing"
	"time"
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
