package scheduler

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sunomi/sunomi/media"
)

// The placement policy: plain functions over the state, read under the read
// lock. FindWork gives an agent asking for work, in this order: pending tasks
// (nextTasks → Lease), else a task stolen from a busier agent's queue
// (stealFor → Steal), else a backup of a straggler (speculateFor → Lease
// with Speculative), each encode attempt with the encoder resolved for the
// agent (encoderFor). The leader proposes the command FindWork returns; the
// commands re-check what they depend on, so a decision made on a state that
// moved on is refused, never applied wrongly.

// SpeculationFactor is how many times its job's median time per media second
// a running encode task may take before an idle agent starts a backup.
const SpeculationFactor = 1.5

// policy switches the optional parts of FindWork; the simulation compares
// them, the leader uses defaultPolicy.
type policy struct {
	steal, speculate bool
	k                float64 // speculation threshold, see speculateFor
}

var defaultPolicy = policy{steal: true, speculate: true, k: SpeculationFactor}

// AV1 tasks come last of all (nextAV1Tasks): an agent gets one only when
// none of the above is left for it, so AV1 fills idle capacity and never
// takes a slot H.264 work of any job is waiting for.
//
// FindWork decides what an agent with free slots should get at now (the
// leader's clock, stamped into the command): the command to propose, a Lease
// or a Steal, with its type; ok is false when there is nothing for it.
func (f *FSM) FindWork(agent string, free int, now time.Time) (t CommandType, cmd any, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return findWork(f.s, agent, free, now, defaultPolicy)
}

func findWork(s *state, agentID string, free int, now time.Time, p policy) (CommandType, any, bool) {
	a := s.Agents[agentID]
	if a == nil || free <= 0 {
		return 0, nil, false
	}
	if ids := nextTasks(s, agentID, free); len(ids) > 0 {
		return CmdLease, Lease{Agent: agentID, Tasks: ids, Encoders: s.encoders(a, ids), Now: now}, true
	}
	if p.steal {
		if ref, victim, ok := stealFor(s, agentID); ok {
			t := s.Tasks[ref.Task]
			enc, _ := s.encoderFor(s.Jobs[t.Job], t, a)
			return CmdSteal, Steal{Thief: agentID, Task: ref.Task, Victim: victim, Attempt: ref.Attempt, Encoder: enc, Now: now}, true
		}
	}
	if p.speculate {
		if id, ok := speculateFor(s, agentID, now, p.k); ok {
			ids := []string{id}
			return CmdLease, Lease{Agent: agentID, Tasks: ids, Speculative: true, Encoders: s.encoders(a, ids), Now: now}, true
		}
	}
	if ids := nextAV1Tasks(s, agentID, free); len(ids) > 0 {
		return CmdLease, Lease{Agent: agentID, Tasks: ids, Now: now}, true
	}
	return 0, nil, false
}

// PreferredEncoders are the encoders a ladder whose top rung has the given
// short side would rather run on: hardware encoders from 1080p up, where
// they save the most time. nextTasks treats them as a preference, not a
// requirement.
func PreferredEncoders(topRungShort int) []string {
	if topRungShort >= 1080 {
		return media.HardwareEncoders()
	}
	return nil
}

// encoderFor resolves the H.264 encoder an encode task of job j runs with on
// agent a, and reports whether a may run it at all. Other kinds, and jobs
// that recorded no requested encoder (submitted before it was), get "": the
// spec's encoder stands. Otherwise the task runs the first encoder it wants
// (wantedEncoders) that the agent offers, else libx264, within the job's
// pinned family (pinnedFamily): a software pin runs libx264 even on a GPU
// agent, and a hardware pin keeps the task off agents without one.
//
// The first encode lease pins the job, so it decides the family of every
// chunk: while a job is unpinned, an agent that offers none of the encoders
// a task wants leaves it to the alive agents that do.
func (s *state) encoderFor(j *job, t *task, a *agent) (string, bool) {
	if t.Kind != KindEncode || j.Encoder == "" {
		return "", true
	}
	want := wantedEncoders(j, t)
	enc := media.EncoderX264
	if i := slices.IndexFunc(want, func(e string) bool { return slices.Contains(a.Info.Encoders, e) }); i >= 0 {
		enc = want[i]
	}
	switch fam := s.pinnedFamily(j); {
	case fam == "" && len(want) > 0 && FamilyOf(enc) == FamilySoftware && s.offeredByAlive(want):
		return "", false
	case fam == "" || FamilyOf(enc) == fam:
		return enc, true
	case fam == FamilySoftware:
		return media.EncoderX264, true
	default:
		return "", false
	}
}

// wantedEncoders are the hardware encoders an encode task would rather run
// on: the one its job asked for by name, or, for "auto", the task's
// preference (PreferredEncoders: hardware for high ladders only, so low
// ladders run libx264 on every agent and any agent can help with them).
// libx264, or a name the pipeline does not know, wants none.
func wantedEncoders(j *job, t *task) []string {
	switch {
	case media.Hardware(j.Encoder):
		return []string{j.Encoder}
	case j.Encoder == media.EncoderAuto:
		return t.Prefer
	}
	return nil
}

// encoders resolves the encoders of the encode tasks among ids for agent a,
// for a Lease; nil when none is resolved.
func (s *state) encoders(a *agent, ids []string) map[string]string {
	var out map[string]string
	for _, id := range ids {
		t := s.Tasks[id]
		if enc, _ := s.encoderFor(s.Jobs[t.Job], t, a); enc != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[id] = enc
		}
	}
	return out
}

// canRun reports whether the agent may run the task: false for an encode
// task of a job pinned to a family the agent lacks, and for an AV1 task on
// an agent without the AV1 encoder.
func (s *state) canRun(t *task, a *agent) bool {
	if t.Kind == KindEncodeAV1 {
		return a.offersAV1()
	}
	_, ok := s.encoderFor(s.Jobs[t.Job], t, a)
	return ok
}

// pinnedFamily is the family a job's next encode attempts must use, so that
// a rung's chunks come from one family (hardware and software encoders make
// streams of different profile and level). It is the job's pin, except that
// a hardware pin falls back to software once no alive agent offers a
// hardware encoder: the job must not stall waiting for GPUs that may never
// return. Such a rung mixes families; the stitch computes each rung's CODECS
// from all its chunks, so it still plays. The first software lease after the
// fallback moves the pin for good (see pinEncoder).
func (s *state) pinnedFamily(j *job) Family {
	if j.Family == FamilyHardware && !s.hardwareAlive() {
		return FamilySoftware
	}
	return j.Family
}

// offeredByAlive reports whether an alive agent offers one of the encoders.
func (s *state) offeredByAlive(encoders []string) bool {
	for _, a := range s.Agents {
		if a.State == AgentAlive && a.offers(encoders) {
			return true
		}
	}
	return false
}

// kindRank orders a job's pending tasks: the split unblocks everything, audio
// is one long task that should start early, encodes fill the timeline in
// order, and the stitch comes last.
var kindRank = map[TaskKind]int{KindSplit: 0, KindAudio: 1, KindEncode: 2, KindStitch: 3}

// nextTasks is the placement policy for pending work other than AV1 tasks
// (nextAV1Tasks). Only alive agents get work, and a slow one (see slow) at
// most one task per lease.
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
// attempts, but a job must not stall when every node failed it once. An
// encode task the agent may not run (canRun: its job is pinned to an encoder
// family the agent lacks) is not dealt to it at all.
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
			if t.State == StatePending && t.Kind != KindEncodeAV1 && !leftToOthers(t) && s.canRun(t, a) {
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
	elsewhere := s.spreadElsewhere(agentID, others, spare)
	for _, q := range queues {
		q.pending = slices.DeleteFunc(q.pending, reserved)
		q.pending = slices.DeleteFunc(q.pending, elsewhere)
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
// never one of a task the thief failed, already holds or may not run
// (canRun), nor one of a task that prefers an encoder (task.Prefer) the
// victim offers and the thief does not: it is where it should be.
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
		if at.State != StateLeased || at.Agent == thiefID || t.failedBy(thiefID) || t.activeOn(thiefID) || !s.canRun(t, thief) {
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
// not the agent's, not failed by it and one it may run (canRun), whose
// elapsed time since its attempt
// started running, per media second, exceeds k × the median time per media
// second of its job's finished encode tasks (at least
// minFinishedForMedian of them). The candidate furthest behind its job's
// median wins; ties go to the job first in priority and age order, then to
// the earlier task. k ≤ 1 would back up tasks that are merely average;
// FindWork uses SpeculationFactor.
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
				t.activeAttempts() != 1 || t.activeOn(agentID) || t.failedBy(agentID) || !s.canRun(t, a) {
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
		if t.Kind != KindEncode || t.spread() || t.State != StateDone || t.MediaSeconds <= 0 {
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
