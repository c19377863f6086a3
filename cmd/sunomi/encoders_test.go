package main

import (
	"strings"
	"testing"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/media"
)

// TestEncodersShowsAV1: `sunomi encoders` names the AV1 encoder an agent on
// this host would advertise, or says there is none.
func TestEncodersShowsAV1(t *testing.T) {
	r := runSunomi(t, "encoders")
	wantSuccess(t, r)
	want := "av1: " + media.EncoderSVTAV1
	if !encoder.AV1Available() {
		want = "av1: none"
	}
	var got string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if strings.HasPrefix(l, "av1: ") {
			got = l
		}
	}
	if !strings.HasPrefix(got, want) {
		t.Errorf("av1 line %q, want %q; output:\n%s", got, want, r.stdout)
	}
}
