//go:build race

package agent

// raceEnabled: the race detector's shadow memory needs far more address
// space than any sensible memory limit.
const raceEnabled = true
