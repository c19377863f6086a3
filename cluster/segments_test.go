package cluster

import (
	"strings"
	"testing"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
)

// TestJobOptionsSegments: a job's segment container reaches the split
// task's options, the default is CMAF (fMP4), and an unknown one is refused.
func TestJobOptionsSegments(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want media.SegmentFormat
	}{
		{"", media.SegmentsFMP4},
		{"ts", media.SegmentsTS},
		{"fmp4", media.SegmentsFMP4},
	} {
		opts, err := pipelineOptions(wire.JobOptions{Segments: tt.in})
		if err != nil {
			t.Fatalf("segments %q: %v", tt.in, err)
		}
		if got := opts.WithDefaults().Segments; got != tt.want {
			t.Errorf("segments %q gave %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := pipelineOptions(wire.JobOptions{Segments: "mkv"}); err == nil || !strings.Contains(err.Error(), "options.segments") {
		t.Errorf("segments mkv: error %v, want one naming options.segments", err)
	}
}
