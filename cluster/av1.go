package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// addAV1 serves POST /v1/jobs/{id}/av1: AV1 rungs for a done job that was
// submitted without them (the API's AV1-by-popularity policy asks once a
// video is watched enough). It answers 201 with the new AV1 job, whose own
// split re-extracts the chunks the job's clean-up deleted; 400 when the job
// is not done, already has an AV1 job, or wrote MPEG-TS segments.
func (n *Node) addAV1(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	split, ok := n.fsm.TaskInfo(id + "-split")
	if !ok || split.Job != id {
		writeError(w, http.StatusNotFound, fmt.Sprintf("job %q not found", id))
		return
	}
	var spec media.SplitSpec
	if err := json.Unmarshal(split.Spec, &spec); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("job %q has no split options to repeat: %v", id, err))
		return
	}
	spec.Options.AV1 = media.AV1All
	if err := spec.Options.CheckAV1(); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("job %q: %v", id, err))
		return
	}
	b, err := json.Marshal(spec)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	cmd := scheduler.AddAV1Job{Job: id, SplitSpec: b, SourceInput: split.Inputs[media.SplitInput], Now: time.Now()}
	if _, err := n.apply(r.Context(), scheduler.CmdAddAV1Job, cmd); err != nil {
		writeApplyError(w, err)
		return
	}
	j, _ := n.fsm.Job(scheduler.AV1JobID(id))
	writeJSON(w, http.StatusCreated, jobBody(j))
}

// DefaultAV1AgentWait is Config.AV1AgentWait's default: long enough for an
// AV1 agent to restart, short enough that nobody waits a day for rungs no
// agent can encode.
const DefaultAV1AgentWait = 10 * time.Minute

// publishAV1 is the publishing loop's work for an AV1 job (see the
// scheduler's av1.go): once its job is done (the stitch wrote the final
// H.264 ladder), it adds every complete AV1 rung — all its chunks done — to
// the published master playlist and DASH manifest, and ends the AV1 job
// once all of them are there. The playlists come from media.BuildPlaylists
// over the job's recorded results joined with the AV1 tasks' (the function
// the stitch used for the H.264 ladder, so the H.264 variants stay as they
// were); the rung playlists go first and the master last, so that a player
// that finds a variant finds its segments. It also ends the AV1 job failed
// when no agent can run its tasks (checkAV1Agents).
func (n *Node) publishAV1(ctx context.Context, j scheduler.Job) error {
	parent, ok := n.fsm.Job(j.Parent)
	if !ok || parent.State != scheduler.JobDone {
		return n.checkAV1Agents(ctx, j, ok && parent.PlayableAt != nil)
	}
	results, _ := n.fsm.AV1Results(j.ID)
	var complete []scheduler.AV1RungResults
	for _, r := range results {
		if !slices.ContainsFunc(r.Chunks, func(c json.RawMessage) bool { return len(c) == 0 }) {
			complete = append(complete, r)
		}
	}
	if len(complete) < len(results) {
		if err := n.checkAV1Agents(ctx, j, true); err != nil {
			return err
		}
	}
	if len(complete) == 0 || len(complete) <= n.pub.av1[j.ID] {
		return nil
	}
	switch err := n.writeAV1Ladder(ctx, parent, complete); {
	case errors.Is(err, storage.ErrNotFound):
		// The video was deleted: no ladder to add rungs to.
		return n.endAV1Job(ctx, j.ID, "the published ladder is gone: its video was deleted")
	case err != nil:
		return err
	}
	n.pub.av1[j.ID] = len(complete)
	if len(complete) == len(results) {
		return n.endAV1Job(ctx, j.ID, "")
	}
	return nil
}

// writeAV1Ladder writes the playlists of job's H.264 ladder joined with the
// complete AV1 rungs: the AV1 rung playlists, the DASH manifest, and the
// master playlist last. It returns storage.ErrNotFound when the job's
// master playlist is gone.
func (n *Node) writeAV1Ladder(ctx context.Context, job scheduler.Job, av1 []scheduler.AV1RungResults) error {
	if _, err := n.cfg.Store.Stat(ctx, job.Output+"/"+layout.MasterPlaylist); err != nil {
		return err
	}
	spec := n.recordedResults(job.ID)
	if spec == nil {
		return fmt.Errorf("job %s has no recorded results", job.ID)
	}
	res, err := spec.Decode()
	if err != nil {
		return err
	}
	// A job submitted without AV1 (its AV1 job added afterwards) planned
	// none: its ladder's AV1 rungs are what its split would have planned.
	planned := res.Split.AV1Rungs
	if len(planned) == 0 && res.Split.Video != nil {
		planned = media.WithAV1(res.Split.Video.Rungs, media.AV1All)[len(res.Split.Video.Rungs):]
	}
	var rungs []media.AV1RungResults
	for _, r := range av1 {
		i := slices.IndexFunc(planned, func(x media.Rung) bool { return x.Name == r.Rung })
		if i < 0 {
			return fmt.Errorf("job %s: its ladder has no AV1 rung %s", job.ID, r.Rung)
		}
		rr := media.AV1RungResults{Rung: planned[i], Chunks: make([]*media.ChunkResult, len(r.Chunks))}
		for k, raw := range r.Chunks {
			if err := json.Unmarshal(raw, &rr.Chunks[k]); err != nil {
				return fmt.Errorf("AV1 rung %s chunk %d result: %w", r.Rung, k, err)
			}
		}
		rungs = append(rungs, rr)
	}
	split, chunks, err := media.LadderWithAV1(res.Split, res.Chunks, rungs)
	if err != nil {
		return err
	}
	pls := media.BuildPlaylists(split, chunks, res.Audio, hls.PlaylistVOD)
	if pls.Master == nil {
		return fmt.Errorf("job %s: the ladder with its AV1 rungs has no master playlist", job.ID)
	}
	var files []media.PlaylistFile
	for _, f := range pls.Media {
		if f.Name == layout.DASHManifest || slices.ContainsFunc(rungs, func(r media.AV1RungResults) bool { return f.Name == layout.RungPlaylist(r.Rung.Name) }) {
			files = append(files, f)
		}
	}
	for _, f := range append(files, *pls.Master) {
		if err := n.cfg.Store.Put(ctx, job.Output+"/"+f.Name, bytes.NewReader(f.Text), int64(len(f.Text))); err != nil {
			return fmt.Errorf("store %s: %w", f.Name, err)
		}
	}
	n.log.Info("AV1 rungs published", "job_id", job.ID, "rungs", len(rungs))
	return nil
}

// checkAV1Agents ends an AV1 job failed once its tasks have been ready
// (ready: its job's H.264 ladder is published) for Config.AV1AgentWait
// with no alive agent advertising the AV1 encoder, so that it says why its
// rungs never came instead of waiting for ever.
func (n *Node) checkAV1Agents(ctx context.Context, j scheduler.Job, ready bool) error {
	if !ready || n.fsm.AV1AgentAlive() {
		delete(n.pub.noAV1Since, j.ID)
		return nil
	}
	now := time.Now()
	since, ok := n.pub.noAV1Since[j.ID]
	if !ok {
		n.pub.noAV1Since[j.ID] = now
		return nil
	}
	if now.Sub(since) < n.cfg.AV1AgentWait {
		return nil
	}
	return n.endAV1Job(ctx, j.ID, fmt.Sprintf("no alive agent advertised the AV1 encoder (%s) for %s: the AV1 rungs were not encoded; the H.264 ladder is published",
		media.EncoderSVTAV1, n.cfg.AV1AgentWait))
}

// endAV1Job proposes the end of an AV1 job: done, or failed with reason.
func (n *Node) endAV1Job(ctx context.Context, id, reason string) error {
	delete(n.pub.noAV1Since, id)
	_, err := n.apply(ctx, scheduler.CmdEndAV1Job, scheduler.EndAV1Job{Job: id, Error: reason, Now: time.Now()})
	return err
}
