package codecs_test

import (
	"math"
	"testing"
)

func TestBDRate(t *testing.T) {
	ref := []benchPoint{{kbps: 1000, psnr: 34}, {kbps: 1800, psnr: 37}, {kbps: 3000, psnr: 39.5}, {kbps: 5200, psnr: 41}}
	psnr := func(p benchPoint) float64 { return p.psnr }
	scaled := func(f, shift float64) []benchPoint {
		var out []benchPoint
		for _, p := range ref {
			out = append(out, benchPoint{kbps: p.kbps * f, psnr: p.psnr + shift})
		}
		return out
	}
	tests := []struct {
		name   string
		test   []benchPoint
		want   float64
		wantOK bool
	}{
		{"same curve", scaled(1, 0), 0, true},
		{"30% fewer bits everywhere", scaled(0.7, 0), -30, true},
		{"twice the bits", scaled(2, 0), 100, true},
		{"no overlap", scaled(1, 20), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := bdRate(ref, tt.test, psnr)
			if ok != tt.wantOK || ok && math.Abs(got-tt.want) > 0.01 {
				t.Errorf("bdRate = %.3f%%, %v; want %.3f%%, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
