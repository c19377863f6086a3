package cluster

import (
	"context"
	"time"

	"github.com/sunomi/sunomi/scheduler"
)

// Retention is a leader duty beside leaderDuties: it cleans up after
// finished jobs and records each clean-up through Raft (JobCollected), so no
// leader redoes it after a restart or a change of leader; a retention later
// it compacts the jobs out of the replicated state, and it forgets agents
// gone for longer than theirs. Everything it reads comes from the state
// machine's retention indexes, so a tick costs what there is to do, not what
// the farm ever ran. It runs apart from the lease timers: slow storage must
// not delay a lease's expiry.

const (
	// retentionTick is how often the leader looks for retention work.
	retentionTick = 500 * time.Millisecond
	// compactBatch bounds the jobs one CompactJobs command removes.
	compactBatch = 256
	// A failed clean-up is retried after collectRetryMin, doubling up to
	// collectRetryMax: a job whose storage keeps failing costs a try every
	// few minutes, not two a second.
	collectRetryMin = time.Second
	collectRetryMax = 5 * time.Minute
)

// retention runs the leader's retention work until ctx ends or leadership
// is lost.
func (n *Node) retention(ctx context.Context) {
	retries := newCollectRetries(collectRetryMin, collectRetryMax)
	for range n.leaderTicks(ctx, retentionTick) {
		n.collectFinished(ctx, retries)
		n.compactJobs(ctx)
		n.forgetAgents(ctx)
	}
}

// collectFinished cleans up after the finished jobs whose clean-up is not
// recorded yet and records each one that succeeded.
func (n *Node) collectFinished(ctx context.Context, retries *collectRetries) {
	for _, id := range n.fsm.Uncollected() {
		if ctx.Err() != nil {
			return
		}
		if !retries.due(id, time.Now()) {
			continue
		}
		j, ok := n.fsm.Job(id)
		if !ok {
			continue
		}
		if err := n.collect(ctx, j); err != nil {
			n.log.Warn("collect job failed", "job_id", id, "retry_in", retries.failed(id, time.Now()), "error", err)
			continue
		}
		// Should this fail, the next tick collects again: deleting is
		// idempotent, and only the record makes the clean-up final.
		if _, err := n.apply(ctx, scheduler.CmdJobCollected, scheduler.JobCollected{Job: id, Now: time.Now()}); err != nil {
			n.log.Warn("record job collected failed", "job_id", id, "error", err)
			return
		}
		retries.succeeded(id)
	}
}

// compactJobs forgets a batch of jobs collected a retention ago.
func (n *Node) compactJobs(ctx context.Context) {
	now := time.Now()
	ids := n.fsm.Compactable(now.Add(-n.cfg.JobRetention), compactBatch)
	if len(ids) == 0 {
		return
	}
	if _, err := n.apply(ctx, scheduler.CmdCompactJobs, scheduler.CompactJobs{Jobs: ids, Now: now}); err != nil {
		n.log.Warn("compact jobs failed", "jobs", len(ids), "error", err)
	}
}

// forgetAgents forgets the agents dead or gone for longer than a retention.
func (n *Node) forgetAgents(ctx context.Context) {
	now := time.Now()
	ids := n.fsm.GoneAgents(now.Add(-n.cfg.AgentRetention))
	if len(ids) == 0 {
		return
	}
	if _, err := n.apply(ctx, scheduler.CmdForgetAgents, scheduler.ForgetAgents{Agents: ids, Now: now}); err != nil {
		n.log.Warn("forget agents failed", "agents", len(ids), "error", err)
	}
}

// collectRetries spaces out the clean-ups that keep failing, per job, with
// exponential backoff. It lives as long as one leadership: a new leader
// tries every pending clean-up once at once.
type collectRetries struct {
	min, max time.Duration
	jobs     map[string]collectRetry
}

type collectRetry struct {
	at   time.Time     // not before
	wait time.Duration // the last wait
}

func newCollectRetries(min, max time.Duration) *collectRetries {
	return &collectRetries{min: min, max: max, jobs: map[string]collectRetry{}}
}

// due reports whether the job's clean-up may be tried now.
func (r *collectRetries) due(id string, now time.Time) bool {
	return !now.Before(r.jobs[id].at)
}

// failed records a failed try and returns how long the next one waits.
func (r *collectRetries) failed(id string, now time.Time) time.Duration {
	wait := r.min
	if prev, ok := r.jobs[id]; ok {
		wait = min(2*prev.wait, r.max)
	}
	r.jobs[id] = collectRetry{at: now.Add(wait), wait: wait}
	return wait
}

// succeeded forgets the job's failures.
func (r *collectRetries) succeeded(id string) { delete(r.jobs, id) }
