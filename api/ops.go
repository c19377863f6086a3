package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// opsRecentJobs is how many of the most recently updated jobs GET /ops/farm lists.
const opsRecentJobs = 20

// opsFarmTimeout bounds the coordinator calls of one GET /ops/farm: the operations page polls
// every few seconds, so a slow farm should show as unavailable rather than pile up requests.
const opsFarmTimeout = 5 * time.Second

// OpsFarm reports the transcoding farm — its coordinators, agents, jobs and throughput — to
// admins and moderators. Everything is read from the coordinators at the time of the call.
func (s *Server) OpsFarm(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		if _, err := requireModerator(r); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), opsFarmTimeout)
		defer cancel()

		var (
			wg                             sync.WaitGroup
			cluster                        wire.Cluster
			agents                         []wire.Agent
			jobs                           []wire.Job
			clusterErr, agentsErr, jobsErr error
		)
		wg.Go(func() { cluster, clusterErr = s.farm.Cluster(ctx) })
		wg.Go(func() { agents, agentsErr = s.farm.Agents(ctx) })
		wg.Go(func() { jobs, jobsErr = s.farm.Jobs(ctx) })
		wg.Wait()
		if err := errors.Join(clusterErr, agentsErr, jobsErr); err != nil {
			s.log.Warn("read farm status", "error", err)
			msg := "the transcoding farm's coordinators are unreachable; try again in a moment"
			var apiErr *client.APIError
			if !errors.Is(err, client.ErrNoCoordinator) && errors.As(err, &apiErr) {
				msg = "the transcoding farm's coordinators could not report its status; try again in a moment"
			}
			return errUnavailable(msg)
		}
		st := farmStatus(cluster, agents, jobs, s.now())
		if err := s.withPublicClocks(ctx, st.Jobs.Recent); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, st)
		return nil
	})
}

// farmStatus builds the operations view from what the coordinators answered; now dates the
// throughput window.
func farmStatus(cluster wire.Cluster, agents []wire.Agent, jobs []wire.Job, now time.Time) oapi.FarmStatus {
	st := oapi.FarmStatus{
		Cluster: oapi.FarmCluster{
			Leader:      cluster.Leader,
			Term:        int64(cluster.Term),
			CommitIndex: int64(cluster.CommitIndex),
			Nodes:       make([]oapi.FarmNode, 0, len(cluster.Peers)),
		},
		Agents: make([]oapi.FarmAgent, 0, len(agents)),
		Jobs:   oapi.FarmJobs{Recent: []oapi.FarmJob{}},
	}
	for _, p := range cluster.Peers {
		st.Cluster.Nodes = append(st.Cluster.Nodes, oapi.FarmNode{Id: p.ID, Address: p.Address, Leader: p.Leader})
	}

	agents = slices.Clone(agents)
	slices.SortFunc(agents, func(a, b wire.Agent) int { return cmp.Compare(a.ID, b.ID) })
	for _, a := range agents {
		encoders := a.Encoders
		if encoders == nil {
			encoders = []string{}
		}
		st.Agents = append(st.Agents, oapi.FarmAgent{
			Id: a.ID, State: string(a.State), Slots: a.Slots, Busy: a.Busy, Cores: a.Cores,
			Encoders: encoders, Version: a.Version, LastSeen: a.LastSeen,
		})
		// Dead agents' slots are not capacity, and those that left keep none.
		if a.State == scheduler.AgentAlive || a.State == scheduler.AgentDraining {
			st.Throughput.SlotsTotal += a.Slots
			st.Throughput.SlotsBusy += a.Busy
		}
	}

	hourAgo := now.Add(-time.Hour)
	for _, j := range jobs {
		switch j.State {
		case scheduler.JobQueued:
			st.Jobs.Queued++
		case scheduler.JobSplitting, scheduler.JobEncoding, scheduler.JobStitching:
			st.Jobs.Running++
		case scheduler.JobDone:
			st.Jobs.Done++
			if j.Updated.After(hourAgo) {
				st.Throughput.JobsDoneLastHour++
			}
		case scheduler.JobFailed:
			st.Jobs.Failed++
		case scheduler.JobCanceled:
			st.Jobs.Canceled++
		}
	}

	recent := slices.Clone(jobs)
	slices.SortFunc(recent, func(a, b wire.Job) int {
		return cmp.Or(b.Updated.Compare(a.Updated), cmp.Compare(a.ID, b.ID))
	})
	for _, j := range recent[:min(len(recent), opsRecentJobs)] {
		st.Jobs.Recent = append(st.Jobs.Recent, farmJob(j))
	}
	return st
}

func farmJob(j wire.Job) oapi.FarmJob {
	fj := oapi.FarmJob{
		Id: j.ID, State: oapi.FarmJobState(j.State), ChunksDone: j.ChunksDone, ChunksTotal: j.ChunksTotal,
		Progress: jobProgress(j), Created: j.Created, Updated: j.Updated,
	}
	if id, ok := layout.VideoOfHLS(j.Output); ok {
		fj.VideoId = &id
	}
	if j.Error != "" {
		fj.Error = &j.Error
	}
	fj.PlayableAt = j.PlayableAt
	return fj
}

// withPublicClocks gives the jobs of videos the moment others could first watch them, from
// the videos' rows (the farm knows only the owner's moment).
func (s *Server) withPublicClocks(ctx context.Context, jobs []oapi.FarmJob) error {
	var ids []string
	for _, j := range jobs {
		if j.VideoId != nil {
			ids = append(ids, *j.VideoId)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	videos, err := s.db.VideosByID(ctx, ids)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		if j.VideoId != nil {
			if v, ok := videos[*j.VideoId]; ok {
				jobs[i].PublicPlayableAt = v.PublicPlayableAt()
			}
		}
	}
	return nil
}

// jobProgress is the fraction of a job done: its encoded frames over all rungs when the
// coordinator counts them (chunks finish in bursts), else its chunks.
func jobProgress(j wire.Job) float64 {
	if j.State == scheduler.JobDone {
		return 1
	}
	var done, total int64
	for _, r := range j.Rungs {
		done += r.FramesDone
		total += r.FramesTotal
	}
	if total <= 0 {
		done, total = int64(j.ChunksDone), int64(j.ChunksTotal)
	}
	if total <= 0 {
		return 0
	}
	return min(1, max(0, float64(done)/float64(total)))
}
