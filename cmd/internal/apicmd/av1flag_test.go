package apicmd

import (
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api"
	"github.com/sunomi/sunomi/media"
)

func TestAV1Flags(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		policy   media.AV1Policy
		minViews int64
		err      string // what the error names; "" for none
	}{
		{name: "default", policy: media.AV1Off, minViews: api.DefaultAV1MinViews},
		{name: "all", args: []string{"--av1", "all"}, policy: media.AV1All, minViews: api.DefaultAV1MinViews},
		{name: "popular", args: []string{"--av1", "popular", "--av1-min-views", "50"}, policy: api.AV1Popular, minViews: 50},
		{name: "from the environment", env: map[string]string{"SUNOMI_AV1": "popular", "SUNOMI_AV1_MIN_VIEWS": "7"},
			policy: api.AV1Popular, minViews: 7},
		{name: "unknown policy", args: []string{"--av1", "some"}, err: `--av1: unknown AV1 policy "some" (choose off, all or popular)`},
		{name: "zero views", args: []string{"--av1", "popular", "--av1-min-views", "0"}, err: "--av1-min-views must be at least 1"},
		{name: "negative views", args: []string{"--av1-min-views", "-5"}, err: "--av1-min-views must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s, err := parse(t, false, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Config.AV1; got.Policy != tc.policy || got.MinViews != tc.minViews {
				t.Errorf("AV1 config %+v, want policy %q and %d minimum views", got, tc.policy, tc.minViews)
			}
		})
	}
}
