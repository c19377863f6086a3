package scheduler

import (
	"cmp"
	"slices"

	"github.com/sunomi/sunomi/cluster/wire"
)

// NextTasks returns up to n pending tasks the agent should lease next, in the
// order to lease them; the leader proposes them in a Lease command. See
// nextTasks for the policy.
func (f *FSM) NextTasks(agent string, n int) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return nextTasks(f.s, agent, n)
}

// kindRank orders a job's pending tasks: the split unblocks everything, audio
// is one long task that should start early, encodes fill the timeline in
// order, and the stitch comes last.
var kindRank = map[string]int{wire.TaskSplit: 0, wire.TaskAudio: 1, wire.TaskEncode: 2, wire.TaskStitch: 3}

// nextTasks is the placement policy. Only alive agents get work. Jobs go by
// priority (higher first), then age (older first); within a job, tasks go by
// kind rank, then index. A task the agent already failed is left to another
// alive agent that has not failed it, when there is one — a bad node should
// not burn a task's attempts, but a job must not stall when every node failed
// it once.
func nextTasks(s *state, agentID string, n int) []string {
	a := s.Agents[agentID]
	if n <= 0 || a == nil || a.State != AgentAlive {
		return nil
	}
	var others []string
	for id, o := range s.Agents {
		if id != agentID && o.State == AgentAlive {
			others = append(others, id)
		}
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

	jobs := make([]*job, 0, len(s.Active))
	for _, id := range s.Active {
		jobs = append(jobs, s.Jobs[id])
	}
	slices.SortStableFunc(jobs, func(x, y *job) int {
		return cmp.Or(cmp.Compare(y.Priority, x.Priority), cmp.Compare(x.Seq, y.Seq))
	})

	var out []string
	for _, j := range jobs {
		var pending []*task
		for _, id := range j.Tasks {
			if t := s.Tasks[id]; t.State == wire.TaskPending && !leftToOthers(t) {
				pending = append(pending, t)
			}
		}
		slices.SortStableFunc(pending, func(x, y *task) int {
			return cmp.Or(cmp.Compare(kindRank[x.Kind], kindRank[y.Kind]), cmp.Compare(x.Index, y.Index), cmp.Compare(x.ID, y.ID))
		})
		for _, t := range pending {
			out = append(out, t.ID)
			if len(out) == n {
				return out
			}
		}
	}
	return out
}
