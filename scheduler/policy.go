package scheduler

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
)

// The placement policy: plain functions over the state that the leader
// calls under the read lock and turns into commands. An agent asking for work
// gets, in this order: pending tasks (NextTasks → Lease), else a task stolen
// from a busier agent's queue (StealFor → Steal), else a backup of a
// straggler (SpeculateFor → Lease with Speculative). The commands re-check
// what they depend on, so a decision made on a state that moved on is
// refused, never applied wrongly.

// NextTasks returns up to n pending tasks the agent should lease next, in the
// order to lease them; the leader proposes them in a Lease command. See
// nextTasks for the policy.
func (f *FSM) NextTasks(agent string, n int) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return nextTasks(f.s, agent, n)
}

// StealFor picks a leased attempt the idle agent thief should steal, and the
// agent it belongs to; the leader proposes it in a Steal command. ok is false
// when there is nothing to steal. See stealFor for the policy.
func (f *FSM) StealFor(thief string) (ref AttemptRef, victim string, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return stealFor(f.s, thief)
}

// SpeculateFor picks a straggling encode task the idle agent should run a
// backup attempt of, judged at now with threshold k (see speculateFor); the
// leader proposes it in a Lease command with Speculative set.
func (f *FSM) SpeculateFor(agent string, now time.Time, k float64) (task string, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return speculateFor(f.s, agent, now, k)
}

// kindRank orders a job's pending tasks: the split unblocks everything, audio
// is one long task that should start early, encodes fill the timeline in
// order, and the stitch comes last.
var kindRank = map[TaskKind]int{KindSplit: 0, KindAudio: 1, KindEncode: 2, KindStitch: 3}

// nextTasks is the placement policy for pending work. Only alive agents get
// work, and a slow one (see slow) at most one task per lease.
//
// Jobs go by priority (higher first). Among jobs of equal priority the tasks
// are dealt round-robin: each next task comes from the job with the fewest
// active attempts (counting those dealt in this call), the older job on a
// tie — so a short upload submitted while a long job keeps every agent busy
// gets the next free slot instead of waiting for the long job to drain.
// Within a job, tasks go by kind rank, then index: the timeline in order, so
// progressive publishing has a growing prefix to play.
//
// A task the agent already failed is left to another alive agent that has
// not failed it, when there is one — a bad node should not burn a task's
// attempts, but a job must not stall when every node failed it once.
//
// Placement by preference (task.Prefer, matched against the encoders agents
// advertise): an agent that offers none of a task's preferred encoders
// leaves the task to another alive agent that offers one and has a free slot
// (active attempts below its slots) — one task per free slot, reserved in
// the order above (priority, then job age, then kind and index), so work
// never waits while a capable agent is idle. With no such slot free it takes
// the task itself. An agent that offers a preferred encoder takes the tasks
// preferring it first: within a priority, a job whose next task prefers it
// goes before round-robin, and within a job such tasks go before the others.
// It does so only while some other alive agent offers none of those encoders
// and can take the rest; where every agent offers one, preference changes
// nothing and the fair order stands.
func nextTasks(s *state, agentID string, n int) []string {
	a := s.Agents[agentID]
	if n <= 0 || a == nil || a.State != AgentAlive {
		return nil
	}
	if s.slow(agentID) {
		n = 1
	}
	var others []string
	for _, id := range slices.Sorted(maps.Keys(s.Agents)) {
		if id != agentID && s.Agents[id].State == AgentAlive {
			others = append(others, id)
		}
	}
	// pref caches, per set of preferred encoders, whether this agent offers
	// one and whether some other alive agent offers none.
	type prefInfo struct{ mine, fallback bool }
	prefs := map[string]prefInfo{}
	pref := func(t *task) prefInfo {
		if len(t.Prefer) == 0 {
			return prefInfo{}
		}
		key := strings.Join(t.Prefer, "\x00")
		p, ok := prefs[key]
		if !ok {
			p.mine = a.offers(t.Prefer)
			for _, o := range others {
				if !s.Agents[o].offers(t.Prefer) {
					p.fallback = true
					break
				}
			}
			prefs[key] = p
		}
		return p
	}
	// first reports whether this agent takes the task before the others.
	first := func(t *task) bool { p := pref(t); return p.mine && p.fallback }
	load := s.busy()
	spare := map[string]int{} // free slots of the other agents
	for _, o := range others {
		spare[o] = max(0, s.Agents[o].slots()-load[o])
	}
	// reserved reports whether a task this agent does not offer a preferred
	// encoder for goes to another agent with a free slot instead, and takes
	// that slot. Called in dealing order, so replicas reserve alike.
	reserved := func(t *task) bool {
		if len(t.Prefer) == 0 || pref(t).mine {
			return false
		}
		for _, o := range others {
			if spare[o] > 0 && s.Agents[o].offers(t.Prefer) && !t.failedBy(o) {
				spare[o]--
				return true
			}
		}
		return false
	}
	leftToOthers := func(t *task) bool {
		if !t.failedBy(agentID) {
			return false
		}
		for _, o := range others {
			if !t.failedBy(o) {
				return true
			}
		}
		return false
	}

	type queue struct {
		j       *job
		load    int // active attempts, plus tasks dealt in this call
		pending []*task
	}
	var queues []*queue
	for _, id := range s.Active {
		q := &queue{j: s.Jobs[id]}
		for _, tid := range q.j.Tasks {
			t := s.Tasks[tid]
			q.load += t.activeAttempts()
			if t.State == StatePending && !leftToOthers(t) {
				q.pending = append(q.pending, t)
			}
		}
		if len(q.pending) == 0 {
			continue
		}
		slices.SortStableFunc(q.pending, func(x, y *task) int {
			return cmp.Or(-cmp.Compare(b2i(first(x)), b2i(first(y))),
				cmp.Compare(kindRank[x.Kind], kindRank[y.Kind]), cmp.Compare(x.Index, y.Index), cmp.Compare(x.ID, y.ID))
		})
		queues = append(queues, q)
	}
	// s.Active is oldest first; the stable sort keeps that within a priority.
	slices.SortStableFunc(queues, func(x, y *queue) int { return cmp.Compare(y.j.Priority, x.j.Priority) })
	for _, q := range queues {
		q.pending = slices.DeleteFunc(q.pending, reserved)
	}
	queues = slices.DeleteFunc(queues, func(q *queue) bool { return len(q.pending) == 0 })

	var out []string
	for len(queues) > 0 {
		var best *queue
		for _, q := range queues {
			if q.j.Priority != queues[0].j.Priority {
				break
			}
			if best == nil || cmp.Or(-cmp.Compare(b2i(first(q.pending[0])), b2i(first(best.pending[0]))), cmp.Compare(q.load, best.load)) < 0 {
				best = q
			}
		}
		out = append(out, best.pending[0].ID)
		if len(out) == n {
			return out
		}
		best.pending = best.pending[1:]
		best.load++
		queues = slices.DeleteFunc(queues, func(q *queue) bool { return len(q.pending) == 0 })
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// slowFactor: an agent whose score exceeds slowFactor × the median score of
// the alive agents is slow. It gets one task per lease, steals nothing and
// runs no backups — it would only become the straggler.
const slowFactor = 2

// slow reports whether the agent is slow (see slowFactor). An agent without
// a score is not.
func (s *state) slow(agentID string) bool {
	a := s.Agents[agentID]
	if a == nil || a.Samples == 0 {
		return false
	}
	var scores []time.Duration
	for _, o := range s.Agents {
		if o.State == AgentAlive && o.Samples > 0 {
			scores = append(scores, o.Score)
		}
	}
	if len(scores) == 0 {
		return false
	}
	slices.Sort(scores)
	m := len(scores) / 2
	median := scores[m]
	if len(scores)%2 == 0 {
		median = (scores[m-1] + scores[m]) / 2
	}
	return a.Score > slowFactor*median
}

// stealFor is the work-stealing policy. A thief steals only when it is alive,
// not slow, has a free slot and nothing queued, and no pending task is left
// for it (nextTasks is empty). The victim is the alive agent with the most
// active attempts among those holding more attempts than they have slots —
// so the stolen attempt really waits behind another — ties by ID. It gives up
// the attempt it would start last (the last leased), never a running one, and
// never one of a task the thief failed or already holds, nor one of a task
// that prefers an encoder (task.Prefer) the victim offers and the thief does
// not: it is where it should be.
func stealFor(s *state, thiefID string) (AttemptRef, string, bool) {
	thief := s.Agents[thiefID]
	if thief == nil || thief.State != AgentAlive || s.slow(thiefID) {
		return AttemptRef{}, "", false
	}
	if !s.idle(thiefID) || len(nextTasks(s, thiefID, 1)) > 0 {
		return AttemptRef{}, "", false
	}
	load := s.busy()
	type queued struct {
		t  *task
		at *attempt
	}
	last := map[string]queued{} // per victim, its last-leased stealable attempt
	s.eachActive(func(_ *job, t *task, at *attempt) {
		if at.State != StateLeased || at.Agent == thiefID || t.failedBy(thiefID) || t.activeOn(thiefID) {
			return
		}
		if v := s.Agents[at.Agent]; len(t.Prefer) > 0 && v != nil && v.offers(t.Prefer) && !thief.offers(t.Prefer) {
			return
		}
		if q, ok := last[at.Agent]; !ok || leasedAfter(at, q.at, t, q.t) {
			last[at.Agent] = queued{t, at}
		}
	})
	victim := ""
	for _, id := range slices.Sorted(maps.Keys(last)) {
		v := s.Agents[id]
		if v == nil || v.State != AgentAlive || load[id] <= v.slots() {
			continue
		}
		if victim == "" || load[id] > load[victim] {
			victim = id
		}
	}
	if victim == "" {
		return AttemptRef{}, "", false
	}
	q := last[victim]
	return AttemptRef{Task: q.t.ID, Attempt: q.at.N}, victim, true
}

// idle reports whether the agent has a free slot and nothing queued: every
// attempt it holds is running, and fewer than its slots.
func (s *state) idle(agentID string) bool {
	held, running := 0, 0
	s.eachActive(func(_ *job, _ *task, at *attempt) {
		if at.Agent == agentID {
			held++
			if at.State == StateRunning {
				running++
			}
		}
	})
	return held == running && running < s.Agents[agentID].slots()
}

// leasedAfter orders attempts by lease: sequence number (zero in snapshots
// older than it), then lease time, then task ID.
func leasedAfter(a, b *attempt, ta, tb *task) bool {
	return cmp.Or(cmp.Compare(a.Seq, b.Seq), a.Started.Compare(b.Started), cmp.Compare(ta.ID, tb.ID)) > 0
}

// minFinishedForMedian is how many finished encode tasks a job needs before
// its median speed is trusted.
const minFinishedForMedian = 3

// speculateFor is the straggler policy, after MapReduce's backup tasks. An
// agent gets a backup only when it is alive, not slow and idle (a free slot,
// nothing queued), no pending task is left for it and there is nothing to
// steal. A candidate is a running encode task with a single active attempt,
// not the agent's and not failed by it, whose elapsed time since its attempt
// started running, per media second, exceeds k × the median time per media
// second of its job's finished encode tasks (at least
// minFinishedForMedian of them). The candidate furthest behind its job's
// median wins; ties go to the job first in priority and age order, then to
// the earlier task. k ≤ 1 would back up tasks that are merely average; the
// leader uses k around 1.5–2.
func speculateFor(s *state, agentID string, now time.Time, k float64) (string, bool) {
	a := s.Agents[agentID]
	if a == nil || a.State != AgentAlive || s.slow(agentID) {
		return "", false
	}
	if !s.idle(agentID) || len(nextTasks(s, agentID, 1)) > 0 {
		return "", false
	}
	if _, _, ok := stealFor(s, agentID); ok {
		return "", false
	}

	jobs := make([]*job, 0, len(s.Active))
	for _, id := range s.Active {
		jobs = append(jobs, s.Jobs[id])
	}
	slices.SortStableFunc(jobs, func(x, y *job) int { return cmp.Compare(y.Priority, x.Priority) })
	best, bestRatio := "", 0.0
	for _, j := range jobs {
		median, ok := s.medianPace(j)
		if !ok {
			continue
		}
		for _, id := range j.Tasks {
			t := s.Tasks[id]
			if t.Kind != KindEncode || t.State != StateRunning || t.MediaSeconds <= 0 ||
				t.activeAttempts() != 1 || t.activeOn(agentID) || t.failedBy(agentID) {
				continue
			}
			var run *attempt
			for _, at := range t.Attempts {
				if at.State == StateRunning {
					run = at
				}
			}
			pace := now.Sub(run.ranSince()).Seconds() / t.MediaSeconds
			if pace > k*median {
				if ratio := pace / median; best == "" || ratio > bestRatio {
					best, bestRatio = t.ID, ratio
				}
			}
		}
	}
	return best, best != ""
}

// medianPace is the median encode time per media second, in seconds, of the
// job's finished encode tasks (their winning attempts, from first progress to
// completion); ok is false with fewer than minFinishedForMedian of them.
func (s *state) medianPace(j *job) (float64, bool) {
	var paces []float64
	for _, id := range j.Tasks {
		t := s.Tasks[id]
		if t.Kind != KindEncode || t.State != StateDone || t.MediaSeconds <= 0 {
			continue
		}
		w := t.Attempts[t.Winner-1]
		paces = append(paces, w.Finished.Sub(w.ranSince()).Seconds()/t.MediaSeconds)
	}
	if len(paces) < minFinishedForMedian {
		return 0, false
	}
	slices.Sort(paces)
	m := len(paces) / 2
	if len(paces)%2 == 0 {
		return (paces[m-1] + paces[m]) / 2, paces[m-1]+paces[m] > 0
	}
	return paces[m], paces[m] > 0
}
