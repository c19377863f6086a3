package hls

import (
	"math"
	"math/bits"
)

// MeasureBandwidth returns the peak and average bit rate, in bits per second
// rounded up, of a rung's segments: peak is the largest Bytes*8/Duration of
// any one segment (what BANDWIDTH must announce, RFC 8216 section 4.3.4.2),
// average is all bytes over the total duration (AVERAGE-BANDWIDTH).
//
// We measure rather than trust encoder settings because a CRF ladder's real
// rate is only known afterwards (ffmpeg's own muxer gets it wrong).
// Durations are taken to the microsecond, the precision EXTINF is written
// with, so the result matches what a validator computes from the playlist
// and is free of float rounding. Segments with Duration <= 0 are ignored
// for the peak and add no time to the average; their bytes still count.
// Negative sizes count as 0.
func MeasureBandwidth(segs []Segment) (peak, average int64) {
	var totalBytes, totalMicros uint64
	for _, s := range segs {
		n := uint64(max(s.Bytes, 0))
		totalBytes += n
		us := micros(s.Duration)
		if us == 0 {
			continue
		}
		totalMicros += us
		peak = max(peak, bitsPerSecond(n, us))
	}
	if totalMicros == 0 {
		return peak, 0
	}
	return peak, bitsPerSecond(totalBytes, totalMicros)
}

// micros converts seconds to whole microseconds; non-positive and
// non-finite durations give 0.
func micros(seconds float64) uint64 {
	if !(seconds > 0) || math.IsInf(seconds, 0) {
		return 0
	}
	us := math.Round(seconds * 1e6)
	if us >= math.MaxInt64 {
		return math.MaxInt64
	}
	return uint64(us)
}

// bitsPerSecond returns ceil(n*8 / (us/1e6)) without overflow, saturating at
// math.MaxInt64. us must be positive.
func bitsPerSecond(n, us uint64) int64 {
	hi, lo := bits.Mul64(n, 8_000_000)
	lo, carry := bits.Add64(lo, us-1, 0)
	hi += carry
	if hi >= us {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, us)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}
