package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/redact"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// The agent protocol runs on the leader (followers forward it): leasing by
// long-poll, heartbeats that keep leases alive, progress, presigned upload
// URLs, and completion or failure of attempts.

func (n *Node) lease(w http.ResponseWriter, r *http.Request) {
	var req wire.LeaseRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Agent.ID == "" || req.Free < 0 {
		writeError(w, http.StatusBadRequest, "agent id and a non-negative free slot count are required")
		return
	}
	if err := actingAgent(r.Context(), req.Agent.ID); err != nil {
		writeAgentError(w, err)
		return
	}
	wait := 20 * time.Second
	if q := r.URL.Query().Get("wait"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait %q is not a duration", q))
			return
		}
		wait = min(d, maxLeaseWait)
	}
	if err := n.ensureAgent(r.Context(), req.Agent); err != nil {
		writeApplyError(w, err)
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed := n.changes()
		n.leases.seen(req.Agent.ID, time.Now())
		if req.Free > 0 {
			as, err := n.findWork(r.Context(), req.Agent.ID, req.Free)
			if err != nil {
				writeApplyError(w, err)
				return
			}
			if len(as) > 0 {
				writeJSON(w, http.StatusOK, wire.LeaseResponse{Assignments: as})
				return
			}
		}
		select {
		case <-changed:
		case <-timer.C:
			writeJSON(w, http.StatusOK, wire.LeaseResponse{Assignments: []wire.Assignment{}})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// staleRetries bounds how often findWork asks again after a decision that
// the state had overtaken by the time it was committed.
const staleRetries = 3

// findWork asks the scheduler's policy what the agent gets (pending tasks,
// else a steal, else a backup of a straggler; see scheduler.FindWork),
// commits it through Raft and builds the assignments. A steal whose victim
// started the attempt meanwhile is refused as stale: the policy is asked
// again on the newer state.
func (n *Node) findWork(ctx context.Context, agent string, free int) ([]wire.Assignment, error) {
	for range staleRetries {
		t, cmd, ok := n.fsm.FindWork(agent, free, time.Now())
		if !ok {
			return nil, nil
		}
		as, err := n.grant(ctx, t, cmd)
		if !errors.Is(err, scheduler.ErrStaleAttempt) {
			return as, err
		}
	}
	return nil, nil
}

// ensureAgent registers the agent asking for work as alive unless the state machine already
// has it so. An agent stops leasing before it drains, so one recorded as draining that asks
// again has restarted under the same id and must get work again.
func (n *Node) ensureAgent(ctx context.Context, info wire.AgentInfo) error {
	if a, ok := n.fsm.Agent(info.ID); ok && a.State == scheduler.AgentAlive {
		return nil
	}
	_, err := n.apply(ctx, scheduler.CmdRegisterAgent, scheduler.RegisterAgent{Info: info, Now: time.Now()})
	return err
}

// grant applies a lease or steal command and builds the assignments of the
// attempts it granted.
func (n *Node) grant(ctx context.Context, t scheduler.CommandType, cmd any) ([]wire.Assignment, error) {
	res, err := n.apply(ctx, t, cmd)
	if err != nil {
		return nil, err
	}
	lr, _ := res.(scheduler.LeaseResult)
	var as []wire.Assignment
	for _, ref := range lr.Granted {
		n.leases.extend(ref, time.Now().Add(n.cfg.LeaseTTL))
		a, err := n.assignment(ctx, ref)
		if err != nil {
			// The attempt expires and the task is retried elsewhere.
			n.log.Error("build assignment failed", "task_id", ref.Task, "error", err)
			continue
		}
		as = append(as, a)
	}
	return as, nil
}

// assignment gives an agent everything it needs to run an attempt, inputs
// as presigned GET URLs.
func (n *Node) assignment(ctx context.Context, ref scheduler.AttemptRef) (wire.Assignment, error) {
	info, ok := n.fsm.TaskInfo(ref.Task)
	if !ok {
		return wire.Assignment{}, fmt.Errorf("task %s vanished", ref.Task)
	}
	a := wire.Assignment{Task: ref.Task, Attempt: ref.Attempt, Job: info.Job, Kind: info.Kind, Spec: info.Spec,
		Inputs: map[string]string{}, MediaSeconds: info.MediaSeconds}
	if at, ok := n.fsm.Attempt(ref.Task, ref.Attempt); ok {
		a.Encoder = at.Encoder
	}
	inputs := info.Inputs
	if info.Kind == scheduler.KindStitch {
		spec, res, err := n.stitchSpec(ctx, info.Job)
		if err != nil {
			return wire.Assignment{}, err
		}
		if a.Spec, err = json.Marshal(spec); err != nil {
			return wire.Assignment{}, err
		}
		a.MediaSeconds = res.Split.Probe.Duration
		inputs = map[string]string{}
		for _, name := range res.Inputs() {
			inputs[name] = info.Output + "/" + name
		}
	}
	for name, key := range inputs {
		u, err := n.cfg.Store.PresignGet(ctx, key, presignTTL)
		if err != nil {
			return wire.Assignment{}, fmt.Errorf("presign %s: %w", key, err)
		}
		a.Inputs[name] = u
	}
	return a, nil
}

// stitchSpec gathers the winning results of a job's split, encode and
// audio tasks, once all are done: the spec forwards them as recorded, the
// decoded results name the stitch's inputs. The stitch task has been
// leased, so no growing publish of the job starts any more; one already
// under way ends first, so that its playlists never land after the final
// ones.
func (n *Node) stitchSpec(ctx context.Context, jobID string) (*media.StitchSpec, *media.Results, error) {
	if err := n.pub.waitIdle(ctx, jobID); err != nil {
		return nil, nil, err
	}
	spec := n.recordedResults(jobID)
	if spec == nil {
		return nil, nil, fmt.Errorf("job %s: results are incomplete", jobID)
	}
	res, err := spec.Decode()
	if err != nil {
		return nil, nil, err
	}
	if slices.Contains(res.Chunks, nil) {
		return nil, nil, fmt.Errorf("job %s: results are incomplete", jobID)
	}
	return spec, res, nil
}

func (n *Node) heartbeat(w http.ResponseWriter, r *http.Request) {
	var hb wire.Heartbeat
	if !decode(w, r, &hb) {
		return
	}
	if err := n.heartbeatAuthority(r.Context(), hb); err != nil {
		writeAgentError(w, err)
		return
	}
	now := time.Now()
	n.leases.seen(hb.Agent, now)
	resp := wire.HeartbeatResponse{Abandon: []wire.AttemptRef{}}
	for _, ref := range hb.Attempts {
		if n.fsm.AttemptActive(ref.Task, ref.Attempt) {
			n.leases.extend(ref, now.Add(n.cfg.LeaseTTL))
		} else {
			resp.Abandon = append(resp.Abandon, ref)
		}
	}
	if a, ok := n.fsm.Agent(hb.Agent); hb.Draining && ok && a.State == scheduler.AgentAlive {
		if _, err := n.apply(r.Context(), scheduler.CmdAgentDown, scheduler.AgentDown{ID: hb.Agent, State: scheduler.AgentDraining, Now: now}); err != nil {
			writeApplyError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (n *Node) progress(w http.ResponseWriter, r *http.Request) {
	var p wire.Progress
	if !decode(w, r, &p) {
		return
	}
	if err := n.attemptAuthority(r.Context(), p.Agent, p.AttemptRef); err != nil {
		writeAgentError(w, err)
		return
	}
	n.leases.extend(p.AttemptRef, time.Now().Add(n.cfg.LeaseTTL))
	cmd := scheduler.Progress{Task: p.Task, Attempt: p.Attempt, Agent: p.Agent, FramesDone: p.FramesDone, FramesTotal: p.FramesTotal, Now: time.Now()}
	if _, err := n.apply(r.Context(), scheduler.CmdProgress, cmd); err != nil {
		writeAgentError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// uploadURLs presigns PUTs for the outputs of the calling agent's active
// attempt, after recording them in the replicated state as the attempt's
// grants: split outputs go under the attempt's own temporary prefix,
// everything else under the job's output prefix with attempt-specific names,
// so attempts never overwrite each other.
func (n *Node) uploadURLs(w http.ResponseWriter, r *http.Request) {
	var req wire.UploadRequest
	if !decode(w, r, &req) {
		return
	}
	if err := n.attemptAuthority(r.Context(), req.Agent, req.AttemptRef); err != nil {
		writeAgentError(w, err)
		return
	}
	if !n.fsm.AttemptActive(req.Task, req.Attempt) {
		writeError(w, http.StatusConflict, fmt.Sprintf("attempt %d of task %s is not active", req.Attempt, req.Task))
		return
	}
	info, _ := n.fsm.TaskInfo(req.Task)
	grant := scheduler.GrantOutputs{Task: req.Task, Attempt: req.Attempt, Agent: req.Agent, Now: time.Now()}
	for _, name := range req.Names {
		if !validName(name) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("output name %q is not a clean relative path", name))
			return
		}
		if err := checkOutputName(info, req.Attempt, name); err != nil {
			writeAgentError(w, err)
			return
		}
		grant.Outputs = append(grant.Outputs, scheduler.Grant{Name: name, Key: outputKey(info, req.Attempt, name)})
	}
	if _, err := n.apply(r.Context(), scheduler.CmdGrantOutputs, grant); err != nil {
		writeAgentError(w, err)
		return
	}
	resp := wire.UploadResponse{URLs: map[string]string{}}
	for _, g := range grant.Outputs {
		u, err := n.cfg.Store.PresignPut(r.Context(), g.Key, presignPutTTL)
		if err != nil {
			writeError(w, http.StatusBadGateway, "presign: "+err.Error())
			return
		}
		resp.URLs[g.Name] = u
	}
	writeJSON(w, http.StatusOK, resp)
}

// outputKey is where an output of attempt n of a task is stored: a split's
// under the attempt's own prefix of the job's temporary files (a late
// attempt never overwrites the chunks the winner's tasks read), the others
// under the job's output prefix.
func outputKey(info scheduler.TaskInfo, n int, name string) string {
	if info.Kind == scheduler.KindSplit {
		return splitPrefix(info.Job, n) + name
	}
	return info.Output + "/" + name
}

// splitPrefix is where attempt n of a job's split stores the chunk sources.
func splitPrefix(jobID string, n int) string {
	return fmt.Sprintf("%sa%d/", layout.Chunks(jobID), n)
}

func validName(name string) bool {
	return name != "" && !strings.HasPrefix(name, "/") && path.Clean(name) == name && !strings.HasPrefix(name, "..")
}

func (n *Node) complete(w http.ResponseWriter, r *http.Request) {
	var c wire.Complete
	if !decode(w, r, &c) {
		return
	}
	if err := n.attemptAuthority(r.Context(), c.Agent, c.AttemptRef); err != nil {
		writeAgentError(w, err)
		return
	}
	info, _ := n.fsm.TaskInfo(c.Task)
	if err := n.verifyOutputs(r.Context(), n.fsm.Granted(c.Task, c.Attempt), c.Outputs); err != nil {
		writeAgentError(w, err)
		return
	}
	cmd := scheduler.Complete{Task: c.Task, Attempt: c.Attempt, Agent: c.Agent, Result: c.Result, Outputs: objects(c.Outputs), Now: time.Now()}
	if info.Kind == scheduler.KindSplit {
		var err error
		if cmd.NewTasks, cmd.Rungs, err = plannedTasks(info, c.Attempt, c.Result, firstChunkParts(n.fsm.Agents())); err != nil {
			writeError(w, http.StatusBadRequest, "split result: "+err.Error())
			return
		}
		cmd.NewTasks = n.withoutHead(info.Job, cmd.NewTasks)
	}
	if _, err := n.apply(r.Context(), scheduler.CmdComplete, cmd); err != nil {
		writeAgentError(w, err)
		return
	}
	n.observeComplete(info, cmd, cmd.Now)
	n.pub.completed()
	w.WriteHeader(http.StatusNoContent)
}

// plannedTasks turns the result of attempt n of a split into the job's
// encode and audio tasks, which read the chunks that attempt stored; the
// first chunk is spread over up to parts tasks (see encodeTasks).
func plannedTasks(split scheduler.TaskInfo, n int, result json.RawMessage, parts int) ([]scheduler.NewTask, []string, error) {
	var job media.SplitResult
	if err := json.Unmarshal(result, &job); err != nil {
		return nil, nil, err
	}
	chunks := splitPrefix(split.Job, n)
	var tasks []scheduler.NewTask
	var rungs []string
	if job.Video != nil {
		for _, r := range job.Video.Rungs {
			rungs = append(rungs, r.Name)
		}
		// The scheduler still gives preferring tasks to other agents when
		// no preferred one has a free slot.
		for i, c := range job.Chunks {
			encodes, err := encodeTasks(split.Job, chunks, i, c, *job.Video, parts)
			if err != nil {
				return nil, nil, err
			}
			tasks = append(tasks, encodes...)
		}
		av1, err := av1Tasks(split.Job, chunks, &job)
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, av1...)
	}
	if job.Audio != nil {
		audio, err := audioTasks(split.Job, chunks, &job)
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, audio...)
	}
	return tasks, rungs, nil
}

// audioTasks plans the audio tasks of a split's result: the whole track, or
// the head's part of it (index 0), or the rest cut on chunk ends into parts
// 1..N (media.AudioParts), which the scheduler checks against each other.
// The parts read the one audio file the split extracted: an audio track is
// small beside the video (128 kb/s is a megabyte a minute), and a part must
// decode it from its start anyway to resample it exactly as one task would.
func audioTasks(jobID, chunks string, job *media.SplitResult) ([]scheduler.NewTask, error) {
	specs := []media.AudioSpec{*job.Audio}
	if job.Audio.Part == media.AudioPartRest {
		var ends []float64
		for _, c := range job.Chunks {
			ends = append(ends, c.Chunk.End)
		}
		specs = media.AudioParts(*job.Audio, ends, media.AudioPartSeconds)
	}
	var tasks []scheduler.NewTask
	for _, a := range specs {
		spec, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		nt := scheduler.NewTask{ID: scheduler.AudioTaskID(jobID, a.Part), Kind: scheduler.KindAudio, Index: a.Part, Spec: spec,
			Inputs: map[string]string{a.Source: chunks + a.Source}}
		end := a.Duration
		if end <= 0 || end > job.Probe.Duration {
			end = job.Probe.Duration
		}
		nt.MediaSeconds = max(0, end-a.From) // the head's part, a part of the rest, or the whole track
		tasks = append(tasks, nt)
	}
	return tasks, nil
}

// av1Tasks plans the AV1 tasks of a split's result: one per AV1 rung and
// chunk, reading the chunk its H.264 task reads, in the job's AV1 job.
func av1Tasks(jobID, chunks string, job *media.SplitResult) ([]scheduler.NewTask, error) {
	var tasks []scheduler.NewTask
	for _, r := range job.AV1Rungs {
		if r.Codec != media.CodecAV1 || !validName(r.Name) || strings.Contains(r.Name, "/") {
			return nil, fmt.Errorf("AV1 rung %q is not an AV1 rung with a plain name", r.Name)
		}
		for i, c := range job.Chunks {
			spec, err := json.Marshal(media.AV1EncodeSpec(c, *job.Video, r))
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, scheduler.NewTask{ID: fmt.Sprintf("%s-%s-e%05d", jobID, r.Name, i), Kind: scheduler.KindEncodeAV1,
				Index: i, Rung: r.Name, Spec: spec, Inputs: map[string]string{c.Source: chunks + c.Source},
				MediaSeconds: c.Chunk.End - c.Chunk.Start})
		}
	}
	return tasks, nil
}

func (n *Node) fail(w http.ResponseWriter, r *http.Request) {
	var f wire.Fail
	if !decode(w, r, &f) {
		return
	}
	if err := n.attemptAuthority(r.Context(), f.Agent, f.AttemptRef); err != nil {
		writeAgentError(w, err)
		return
	}
	// Agents redact their own errors; an older or hostile one may not, and
	// this text reaches the job's error and the owner's failure reason.
	cmd := scheduler.Fail{Task: f.Task, Attempt: f.Attempt, Agent: f.Agent, Error: redact.Text(f.Error), Permanent: f.Permanent, Now: time.Now()}
	if _, err := n.apply(r.Context(), scheduler.CmdFail, cmd); err != nil {
		writeAgentError(w, err)
		return
	}
	n.observeFail(cmd, cmd.Now)
	w.WriteHeader(http.StatusNoContent)
}

// pipelineOptions validates a job's options into the split task's.
func pipelineOptions(o wire.JobOptions) (media.Options, error) {
	var opts media.Options
	var err error
	if o.Segment != "" {
		if opts.Segment, err = time.ParseDuration(o.Segment); err != nil || opts.Segment < 500*time.Millisecond {
			return opts, fmt.Errorf("options.segment %q must be a duration of at least 500ms", o.Segment)
		}
	}
	if o.Chunk != "" {
		if opts.Chunk, err = time.ParseDuration(o.Chunk); err != nil || opts.Chunk <= 0 {
			return opts, fmt.Errorf("options.chunk %q must be a positive duration", o.Chunk)
		}
	}
	if o.CRF < 0 || o.CRF > 51 {
		return opts, fmt.Errorf("options.crf %d must be between 0 and 51", o.CRF)
	}
	// The split no longer opens the encoder (each encode task resolves it
	// where it runs), so a name no agent can know is refused here.
	switch o.Encoder {
	case "", media.EncoderAuto, media.EncoderX264, media.EncoderNVENC, media.EncoderQSV:
	default:
		return opts, fmt.Errorf("options.encoder %q must be auto, %s, %s or %s", o.Encoder, media.EncoderX264, media.EncoderNVENC, media.EncoderQSV)
	}
	if opts.Segments, err = media.ParseSegmentFormat(o.Segments); err != nil {
		return opts, fmt.Errorf("options.segments: %w", err)
	}
	if opts.AV1, err = media.ParseAV1Policy(o.AV1); err != nil {
		return opts, fmt.Errorf("options.av1: %w", err)
	}
	if err := opts.CheckAV1(); err != nil {
		return opts, fmt.Errorf("options.av1: %w", err)
	}
	opts.Preset, opts.CRF, opts.Encoder = o.Preset, o.CRF, o.Encoder
	// A one-segment first chunk: the job becomes playable (progressive
	// publishing) once a few seconds are encoded, not a whole chunk.
	opts.FirstChunk = opts.Segment
	if opts.FirstChunk == 0 {
		opts.FirstChunk = media.DefaultSegment
	}
	// And that segment short (at most the job's segment, which FirstChunk
	// is here): half the encoding again before it plays. The later
	// segments keep their length, on a grid from its end.
	opts.FirstSegment = min(media.FarmFirstSegment, opts.FirstChunk)
	if len(o.Rungs) > 0 {
		var names []string
		for _, r := range o.Rungs {
			names = append(names, fmt.Sprint(r))
		}
		if opts.Rungs, err = media.ParseRungs(strings.Join(names, ",")); err != nil {
			return opts, fmt.Errorf("options.rungs: %w", err)
		}
	}
	return opts, nil
}
