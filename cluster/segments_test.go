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

// TestJobOptionsAV1: a job's AV1 policy reaches the split task's options;
// an unknown one, and AV1 in MPEG-TS segments, are refused.
func TestJobOptionsAV1(t *testing.T) {
	for _, tt := range []struct {
		in   wire.JobOptions
		want media.AV1Policy
	}{
		{wire.JobOptions{}, media.AV1Off},
		{wire.JobOptions{AV1: "off", Segments: "ts"}, media.AV1Off},
		{wire.JobOptions{AV1: "all"}, media.AV1All},
		{wire.JobOptions{AV1: "all", Segments: "fmp4"}, media.AV1All},
	} {
		opts, err := pipelineOptions(tt.in)
		if err != nil {
			t.Fatalf("options %+v: %v", tt.in, err)
		}
		if opts.AV1 != tt.want {
			t.Errorf("options %+v gave AV1 %q, want %q", tt.in, opts.AV1, tt.want)
		}
	}
	for _, in := range []wire.JobOptions{{AV1: "popular"}, {AV1: "all", Segments: "ts"}} {
		if _, err := pipelineOptions(in); err == nil || !strings.Contains(err.Error(), "options.av1") {
			t.Errorf("options %+v: error %v, want one naming options.av1", in, err)
		}
	}
}
