package scheduler

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrOutputTaken refuses a submission whose output prefix is another live
// job's, lies inside one, or contains one: two live jobs sharing a prefix
// would overwrite each other's ladders, and one's clean-up would delete the
// other's files.
var ErrOutputTaken = errors.New("output prefix taken by a live job")

// liveOutputs indexes the output prefixes of unfinished jobs, so that the
// check at submission costs the prefix's depth, not the number of jobs.
// Derived from Jobs (rebuilt on restore), never replicated.
type liveOutputs struct {
	exact map[string]int // live jobs publishing under exactly this prefix
	under map[string]int // live jobs publishing strictly under this prefix
}

// ancestors lists the proper parent prefixes of p: a/b/c → a/b, a.
func ancestors(p string) []string {
	var out []string
	for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
		out = append(out, dir)
	}
	return out
}

func (o *liveOutputs) add(p string, delta int) {
	if o.exact == nil {
		o.exact, o.under = map[string]int{}, map[string]int{}
	}
	bump := func(m map[string]int, k string) {
		if m[k] += delta; m[k] <= 0 {
			delete(m, k)
		}
	}
	bump(o.exact, p)
	for _, a := range ancestors(p) {
		bump(o.under, a)
	}
}

// taken reports whether p overlaps a live job's prefix.
func (o *liveOutputs) taken(p string) bool {
	if o.exact[p] > 0 || o.under[p] > 0 {
		return true
	}
	for _, a := range ancestors(p) {
		if o.exact[a] > 0 {
			return true
		}
	}
	return false
}

// checkOutputFree refuses p when it overlaps a live job's prefix, naming
// that job (found by a walk of the live jobs, on this refusal path only).
func (s *state) checkOutputFree(p string) error {
	if !s.outputs.taken(p) {
		return nil
	}
	for _, id := range s.Active {
		o := s.Jobs[id].Output
		var how string
		switch {
		case o == p:
			how = "is the output of"
		case strings.HasPrefix(p, o+"/"):
			how = "lies inside the output " + o + " of"
		case strings.HasPrefix(o, p+"/"):
			how = "contains the output " + o + " of"
		default:
			continue
		}
		return fmt.Errorf("output %q %s job %s, which has not finished: %w", p, how, id, ErrOutputTaken)
	}
	return fmt.Errorf("output %q: %w", p, ErrOutputTaken)
}

// indexOutputs rebuilds the live outputs from the unfinished jobs.
func (s *state) indexOutputs() {
	s.outputs = liveOutputs{}
	for _, j := range s.Jobs {
		if j != nil && !j.finished() {
			s.outputs.add(j.Output, 1)
		}
	}
}
