package cluster

import (
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// The edge between the domain and the HTTP contract: the scheduler's views
// become the JSON bodies clients see, and agents' bodies become domain
// values, here and nowhere else.

// jobBody is a job as clients see it. Every rung advances together (one
// decode feeds all rungs), so each rung shows the job's frame counts.
func jobBody(j scheduler.Job) wire.Job {
	w := wire.Job{
		ID: j.ID, State: j.State, Source: j.Source, Output: j.Output, Priority: j.Priority,
		Error: j.Error, Created: j.Created, Updated: j.Updated,
		ChunksTotal: j.ChunksTotal, ChunksDone: j.ChunksDone, PlayableAt: j.PlayableAt,
		Warnings: j.Warnings, AV1Job: j.AV1Job, Parent: j.Parent,
	}
	if !j.CollectedAt.IsZero() {
		at := j.CollectedAt
		w.CollectedAt = &at
	}
	for _, r := range j.Rungs {
		w.Rungs = append(w.Rungs, wire.RungProgress{Name: r, FramesDone: j.FramesDone, FramesTotal: j.FramesTotal})
	}
	for _, t := range j.Tasks {
		wt := wire.Task{ID: t.ID, Kind: t.Kind, Index: t.Index, Rungs: t.Rungs, State: t.State, Winner: t.Winner}
		for _, a := range t.Attempts {
			wt.Attempts = append(wt.Attempts, wire.Attempt{
				N: a.N, Agent: a.Agent, State: a.State, Error: a.Error,
				FramesDone: a.FramesDone, FramesTotal: a.FramesTotal, Started: a.Started, Running: a.Running, Finished: a.Finished,
			})
		}
		w.Tasks = append(w.Tasks, wt)
	}
	return w
}

// agentBody is an agent as clients see it.
func agentBody(a scheduler.Agent) wire.Agent {
	return wire.Agent{
		ID: a.ID, State: a.State, Addr: a.Addr, Slots: a.Slots, Busy: a.Busy, Cores: a.Cores,
		Encoders: a.Encoders, Version: a.Version, LastSeen: a.LastSeen,
	}
}

// bodies maps a list of views to their bodies.
func bodies[V, B any](views []V, body func(V) B) []B {
	out := make([]B, len(views))
	for i, v := range views {
		out[i] = body(v)
	}
	return out
}

// objects is what a Complete records of an attempt's outputs: none is nil,
// as a replayed snapshot holds it.
func objects(os []wire.Object) []scheduler.Object {
	if len(os) == 0 {
		return nil
	}
	return os
}
