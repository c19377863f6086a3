package apicmd

import (
	"strings"
	"testing"

	"github.com/sunomi/sunomi/media"
)

func TestSegmentsFlag(t *testing.T) {
	s, err := parse(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Config.Segments, media.DefaultSegments; got != want {
		t.Errorf("default segments %q, want %q", got, want)
	}
	if s, err = parse(t, false, "--segments", "fmp4"); err != nil {
		t.Fatal(err)
	}
	if got := s.Config.Segments; got != media.SegmentsFMP4 {
		t.Errorf("--segments fmp4 gave %q", got)
	}
	t.Setenv("SUNOMI_SEGMENTS", "ts")
	if s, err = parse(t, false); err != nil {
		t.Fatal(err)
	}
	if got := s.Config.Segments; got != media.SegmentsTS {
		t.Errorf("SUNOMI_SEGMENTS=ts gave %q", got)
	}
	if _, err := parse(t, false, "--segments", "webm"); err == nil || !strings.Contains(err.Error(), "--segments") {
		t.Errorf("--segments webm: error %v, want one naming --segments", err)
	}
}
