package hls

import (
	"math"
	"testing"
)

func TestMeasureBandwidth(t *testing.T) {
	tests := []struct {
		name              string
		segs              []Segment
		wantPeak, wantAvg int64
	}{
		{"no segments", nil, 0, 0},
		{"one segment", []Segment{{Bytes: 500_000, Duration: 4}}, 1_000_000, 1_000_000},
		{"peak and average differ", []Segment{
			{Bytes: 500_000, Duration: 4},
			{Bytes: 1_000_000, Duration: 4},
			{Bytes: 250_000, Duration: 2},
		}, 2_000_000, 1_400_000},
		{"short last segment can be the peak", []Segment{
			{Bytes: 400_000, Duration: 4},
			{Bytes: 200_000, Duration: 1},
		}, 1_600_000, 960_000},
		{"rounded up", []Segment{{Bytes: 1, Duration: 3}}, 3, 3},
		{"NTSC duration", []Segment{{Bytes: 1_000_000, Duration: 4.004}}, 1_998_002, 1_998_002},
		// 168000/0.7 is 240000.00000000003 in float64, which a float ceil
		// turns into 240001; measuring in microseconds keeps exact rates exact.
		{"no float error", []Segment{{Bytes: 21_000, Duration: 0.7}}, 240_000, 240_000},
		{"zero duration ignored for peak", []Segment{
			{Bytes: 1000, Duration: 0},
			{Bytes: 500_000, Duration: 4},
		}, 1_000_000, 1_002_000},
		{"negative duration ignored", []Segment{
			{Bytes: 1_000_000, Duration: -1},
			{Bytes: 500_000, Duration: 4},
		}, 1_000_000, 3_000_000},
		{"NaN duration ignored", []Segment{{Bytes: 10, Duration: math.NaN()}, {Bytes: 500_000, Duration: 4}}, 1_000_000, 1_000_020},
		{"only zero durations", []Segment{{Bytes: 1000}}, 0, 0},
		{"negative size counts as zero", []Segment{{Bytes: -5, Duration: 4}}, 0, 0},
		{"saturates instead of overflowing", []Segment{{Bytes: math.MaxInt64, Duration: 0.000001}}, math.MaxInt64, math.MaxInt64},
		{"large totals", []Segment{
			{Bytes: 8_000_000_000, Duration: 4000},
			{Bytes: 8_000_000_000, Duration: 4000},
		}, 16_000_000, 16_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peak, avg := MeasureBandwidth(tt.segs)
			if peak != tt.wantPeak || avg != tt.wantAvg {
				t.Errorf("MeasureBandwidth got (%d, %d), want (%d, %d)", peak, avg, tt.wantPeak, tt.wantAvg)
			}
		})
	}
}
