package scheduler

import (
	"encoding/json"
	"slices"

	"github.com/sunomi/sunomi/media"
)

// A spread chunk is encoded by several encode tasks of the same index, each
// encoding a part of the job's rungs (NewTask.Rungs, see media.SpreadRungs):
// the first chunk's parts run on several agents at once, so that the job is
// playable when its slowest rung's first segment is, not when the whole
// ladder's is. Each part is an ordinary task — leased, stolen, backed up and
// retried on its own — and the chunk is done when every part is. The first
// part in the job's task order is the lead: it alone reports thumbnails and
// poster. Results merges the parts' winners into the
// chunk's result, after Complete checked each part against its rungs and
// its siblings, so that an agent cannot report rungs another part encodes.

// spread reports whether the task encodes a part of its chunk's rungs.
func (t *task) spread() bool { return t.Kind == KindEncode && len(t.Rungs) > 0 }

// checkEncodeTasks validates the encode tasks a split plans against its
// rungs: chunk indexes 0..n-1, each chunk either one task of every rung or
// parts whose rungs, each a rung of the job, cover the job's exactly once.
// It returns the number of chunks.
func checkEncodeTasks(jobID string, encodes []NewTask, rungs []string) (int, error) {
	byIndex := map[int][]NewTask{}
	for _, nt := range encodes {
		byIndex[nt.Index] = append(byIndex[nt.Index], nt)
	}
	for i := range len(byIndex) {
		tasks := byIndex[i]
		if len(tasks) == 0 {
			return 0, invalid("split of job %q: encode indexes are not 0..%d", jobID, len(byIndex)-1)
		}
		if len(tasks) == 1 && len(tasks[0].Rungs) == 0 {
			continue
		}
		var covered []string
		for _, nt := range tasks {
			if len(nt.Rungs) == 0 {
				return 0, invalid("split of job %q: chunk %d has a task of every rung beside other tasks", jobID, i)
			}
			for _, r := range nt.Rungs {
				if !slices.Contains(rungs, r) || slices.Contains(covered, r) {
					return 0, invalid("split of job %q: rung %q of chunk %d is not one of %v or is encoded twice", jobID, r, i, rungs)
				}
				covered = append(covered, r)
			}
		}
		if len(covered) != len(rungs) {
			return 0, invalid("split of job %q: the tasks of chunk %d encode %v, not every rung of %v", jobID, i, covered, rungs)
		}
	}
	return len(byIndex), nil
}

// partsOf lists the tasks of a spread chunk in the job's task order, the
// lead first.
func (s *state) partsOf(j *job, index int) []*task {
	var parts []*task
	for _, id := range j.Tasks {
		if t := s.Tasks[id]; t.spread() && t.Index == index {
			parts = append(parts, t)
		}
	}
	return parts
}

// lead reports whether a spread task is its chunk's lead.
func (s *state) lead(t *task) bool {
	return s.partsOf(s.Jobs[t.Job], t.Index)[0] == t
}

// checkPart refuses the completion of a spread task whose result is not
// exactly its part of the chunk (see media.CheckPart).
func (s *state) checkPart(j *job, t *task, c *Complete) error {
	var res media.ChunkResult
	if err := json.Unmarshal(c.Result, &res); err != nil {
		return invalid("result of task %q is not a chunk result: %v", t.ID, err)
	}
	var done []*media.ChunkResult
	for _, p := range s.partsOf(j, t.Index) {
		if p != t && p.State == StateDone {
			var r media.ChunkResult
			if err := json.Unmarshal(p.Result, &r); err != nil {
				return invalid("recorded result of task %q is not a chunk result: %v", p.ID, err)
			}
			done = append(done, &r)
		}
	}
	if err := media.CheckPart(&res, t.Index, t.Rungs, s.lead(t), done); err != nil {
		return invalid("task %q: %v", t.ID, err)
	}
	return nil
}

// mergedResult is a spread chunk's result: its parts' winning results
// merged once every part is done, else nil.
func (s *state) mergedResult(j *job, index int) json.RawMessage {
	var results []*media.ChunkResult
	for _, p := range s.partsOf(j, index) {
		if p.State != StateDone {
			return nil
		}
		var r media.ChunkResult
		if json.Unmarshal(p.Result, &r) != nil {
			return nil // checkPart decoded it when it was recorded
		}
		results = append(results, &r)
	}
	b, err := json.Marshal(media.MergeParts(results, j.Rungs))
	if err != nil {
		return nil
	}
	return b
}

// chunkProgress is a chunk's share of the job's progress for the job view:
// counted on the lead of a spread chunk (counted false on its other parts),
// done when every part is, its frames the least advanced part's.
func (s *state) chunkProgress(j *job, t *task) (counted, done bool, frames, total int64) {
	if !t.spread() {
		frames, total = t.frames()
		return true, t.State == StateDone, frames, total
	}
	parts := s.partsOf(j, t.Index)
	if parts[0] != t {
		return false, false, 0, 0
	}
	done = true
	for i, p := range parts {
		d, tot := p.frames()
		if i == 0 || d < frames {
			frames = d
		}
		total = max(total, tot)
		done = done && p.State == StateDone
	}
	return true, done, frames, total
}

// spreadElsewhere returns the filter nextTasks applies to a job's pending
// tasks for the asking agent: each task of a spread chunk goes to the agent,
// among this one and the other alive agents with a free slot (spare), that
// holds the fewest of the chunk's tasks (this one on a tie), so that the
// parts run on as many agents as have room. A task left to another agent
// takes one of its free slots, as reserved does.
func (s *state) spreadElsewhere(agentID string, others []string, spare map[string]int) func(*task) bool {
	type chunk struct {
		job   string
		index int
	}
	held := map[chunk]map[string]int{} // per chunk, its tasks per agent: active or dealt
	return func(t *task) bool {
		if !t.spread() {
			return false
		}
		key := chunk{t.Job, t.Index}
		count, ok := held[key]
		if !ok {
			count = map[string]int{}
			for _, p := range s.partsOf(s.Jobs[t.Job], t.Index) {
				for _, at := range p.Attempts {
					if at.active() {
						count[at.Agent]++
					}
				}
			}
			held[key] = count
		}
		to := agentID
		for _, o := range others {
			if spare[o] > 0 && !t.failedBy(o) && s.canRun(t, s.Agents[o]) && count[o] < count[to] {
				to = o
			}
		}
		count[to]++
		if to == agentID {
			return false
		}
		spare[to]--
		return true
	}
}
