package scheduler

import (
	"fmt"
	"slices"
	"time"

	"github.com/sunomi/sunomi/media"
)

// apply runs one decoded command and returns its result and the jobs it
// changed. Every handler validates before it mutates, so a command that
// returns an error leaves the state as it was.
func (s *state) apply(cmd any) (any, []string) {
	s.changed = nil
	var res any
	var err error
	switch c := cmd.(type) {
	case *RegisterAgent:
		err = s.registerAgent(c)
	case *AgentDown:
		err = s.agentDown(c)
	case *SubmitJob:
		res, err = s.submitOnce(c)
	case *Lease:
		res, err = s.lease(c)
	case *Progress:
		err = s.progress(c)
	case *Complete:
		err = s.complete(c)
	case *Fail:
		err = s.fail(c)
	case *CancelJob:
		err = s.cancelJob(c)
	case *ExpireAttempt:
		err = s.expireAttempt(c)
	case *Steal:
		res, err = s.steal(c)
	case *Playable:
		err = s.playable(c)
	case *JobCollected:
		err = s.jobCollected(c)
	case *CompactJobs:
		s.compactJobs(c)
	case *ForgetAgents:
		s.forgetAgents(c)
	case *GrantOutputs:
		err = s.grantOutputs(c)
	case *EndAV1Job:
		err = s.endAV1Job(c)
	case *AddAV1Job:
		err = s.addAV1Job(c)
	case *SplitHead:
		err = s.splitHead(c)
	default:
		panic(fmt.Sprintf("scheduler: no handler for %T", cmd))
	}
	changed := s.changed
	s.changed = nil
	if err != nil {
		return err, changed
	}
	return res, changed
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidInput)
}

func (s *state) registerAgent(c *RegisterAgent) error {
	if c.Info.ID == "" {
		return invalid("agent id is empty")
	}
	a := s.Agents[c.Info.ID]
	if a == nil {
		a = &agent{}
		s.Agents[c.Info.ID] = a
	}
	a.Info = c.Info
	a.State = AgentAlive
	a.LastSeen = c.Now
	return nil
}

func (s *state) agentDown(c *AgentDown) error {
	var reason string
	switch c.State {
	case AgentDead:
		reason = fmt.Sprintf("agent %s died", c.ID)
	case AgentLeft:
		reason = fmt.Sprintf("agent %s left", c.ID)
	case AgentDraining:
	default:
		return invalid("agent state %q is not dead, left or draining", c.State)
	}
	a := s.Agents[c.ID]
	if a == nil {
		return fmt.Errorf("agent %q: %w", c.ID, ErrNotFound)
	}
	a.State = c.State
	if c.State == AgentDraining {
		return nil
	}
	// Failing an attempt may finish its job, which edits s.Active.
	for _, jobID := range slices.Clone(s.Active) {
		j := s.Jobs[jobID]
		for _, taskID := range j.Tasks {
			t := s.Tasks[taskID]
			for _, at := range t.Attempts {
				if at.active() && at.Agent == c.ID {
					s.failAttempt(j, t, at, reason, false, c.Now)
				}
			}
		}
	}
	return nil
}

func (s *state) submitJob(c *SubmitJob) error {
	if c.ID == "" {
		return invalid("job id is empty")
	}
	if s.Jobs[c.ID] != nil {
		return invalid("job %q already exists", c.ID)
	}
	src := c.SourceInput
	if src == "" {
		src = c.Source
	}
	if src == "" {
		return invalid("job %q has no source", c.ID)
	}
	splitID := c.ID + "-split"
	if s.Tasks[splitID] != nil {
		return invalid("task %q already exists", splitID)
	}
	source := c.Source
	if source == "" {
		source = src
	}
	if c.ExclusiveOutput {
		if err := s.checkOutputFree(c.Output); err != nil {
			return err
		}
	}
	s.Seq++
	j := &job{
		ID: c.ID, Seq: s.Seq, State: JobQueued,
		Source: source, Output: c.Output, Priority: c.Priority, Encoder: c.Encoder, Key: c.IdempotencyKey,
		Created: c.Now, Updated: c.Now,
		Tasks: []string{splitID},
	}
	s.Jobs[j.ID] = j
	s.Active = append(s.Active, j.ID)
	s.outputs.add(j.Output, 1)
	s.indexNew(j)
	s.Tasks[splitID] = &task{
		ID: splitID, Job: j.ID, Kind: KindSplit,
		Spec:   raw(c.SplitSpec),
		Inputs: map[string]string{"source": src},
		State:  StatePending,
	}
	s.touch(j, c.Now)
	return nil
}

func (s *state) lease(c *Lease) (LeaseResult, error) {
	a := s.Agents[c.Agent]
	if a == nil {
		return LeaseResult{}, fmt.Errorf("agent %q: %w", c.Agent, ErrNotFound)
	}
	a.LastSeen = c.Now
	var res LeaseResult
	if a.State != AgentAlive {
		return res, nil
	}
	for _, id := range c.Tasks {
		t := s.Tasks[id]
		if t == nil || !s.leasable(t, c) {
			continue
		}
		j := s.Jobs[t.Job]
		enc := c.Encoders[id]
		if !s.admitEncoder(j, t, a, enc) {
			continue
		}
		at := s.newAttempt(t, c.Agent, c.Now)
		s.pinEncoder(j, at, enc)
		if c.Speculative {
			at.Speculative = true
			s.Counters.SpeculativeAttempts++
		}
		if t.Kind == KindSplit && j.State == JobQueued {
			j.State = JobSplitting
		}
		s.touch(j, c.Now)
		res.Granted = append(res.Granted, AttemptRef{Task: id, Attempt: at.N})
	}
	return res, nil
}

// MaxActiveAttempts bounds a task's leased and running attempts: the first
// one and at most one speculative backup.
const MaxActiveAttempts = 2

// leasable reports whether a Lease may give the task to its agent: an
// ordinary lease takes pending tasks, a speculative one takes a running task
// that has room for a backup and is not already the agent's.
func (s *state) leasable(t *task, c *Lease) bool {
	if s.Jobs[t.Job].finished() {
		return false
	}
	if t.Kind == KindEncodeAV1 && !s.h264Published(s.Jobs[t.Job]) {
		return false
	}
	if !c.Speculative {
		return t.State == StatePending
	}
	return t.State == StateRunning && t.activeAttempts() < MaxActiveAttempts && !t.activeOn(c.Agent)
}

// admitEncoder reports whether an attempt of the task may run with the
// encoder resolved for the agent: "" (no resolution) always; an encoder only
// for an encode task, a hardware one only on an agent that offers it, and
// only one of the job's pinned family, except that libx264 is admitted when
// no alive agent offers a hardware encoder any more (see pinnedFamily).
func (s *state) admitEncoder(j *job, t *task, a *agent, enc string) bool {
	if t.Kind == KindEncodeAV1 {
		return enc == "" && a.offersAV1()
	}
	if enc == "" {
		return true
	}
	if t.Kind != KindEncode {
		return false
	}
	fam := FamilyOf(enc)
	if fam == FamilyHardware && !slices.Contains(a.Info.Encoders, enc) {
		return false
	}
	return j.Family == "" || j.Family == fam || (fam == FamilySoftware && !s.hardwareAlive())
}

// pinEncoder records the encoder of a new attempt and pins the job to its
// family: the first resolved encode attempt sets the pin, and a software
// attempt admitted after the hardware agents went away moves it to
// software for good, so the job does not wait for them to return.
func (s *state) pinEncoder(j *job, at *attempt, enc string) {
	if enc == "" {
		return
	}
	at.Encoder = enc
	j.Family = FamilyOf(enc)
}

// hardwareAlive reports whether an alive agent offers a hardware encoder.
func (s *state) hardwareAlive() bool { return s.offeredByAlive(media.HardwareEncoders()) }

// newAttempt appends a leased attempt for the agent to the task.
func (s *state) newAttempt(t *task, agentID string, now time.Time) *attempt {
	s.LeaseSeq++
	at := &attempt{N: len(t.Attempts) + 1, Seq: s.LeaseSeq, Agent: agentID, State: StateLeased, Started: now}
	t.Attempts = append(t.Attempts, at)
	t.refresh()
	return at
}

// steal validates everything before it cancels the victim's attempt, so a
// refused steal changes nothing.
func (s *state) steal(c *Steal) (LeaseResult, error) {
	thief := s.Agents[c.Thief]
	if thief == nil {
		return LeaseResult{}, fmt.Errorf("agent %q: %w", c.Thief, ErrNotFound)
	}
	if thief.State != AgentAlive {
		return LeaseResult{}, invalid("agent %q is %s and cannot steal", c.Thief, thief.State)
	}
	if c.Thief == c.Victim {
		return LeaseResult{}, invalid("agent %q cannot steal from itself", c.Thief)
	}
	j, t, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return LeaseResult{}, err
	}
	if at.State != StateLeased || at.Agent != c.Victim || j.finished() {
		return LeaseResult{}, fmt.Errorf("attempt %d of task %q is %s on %s, not leased to %s: %w",
			c.Attempt, c.Task, at.State, at.Agent, c.Victim, ErrStaleAttempt)
	}
	if t.activeOn(c.Thief) {
		return LeaseResult{}, invalid("agent %q already holds task %q", c.Thief, c.Task)
	}
	if !s.admitEncoder(j, t, thief, c.Encoder) {
		return LeaseResult{}, invalid("encoder %q is not offered by agent %q or not of job %q's %s family", c.Encoder, c.Thief, j.ID, j.Family)
	}
	at.State, at.Error, at.Finished = StateCanceled, "stolen by "+c.Thief, c.Now
	mine := s.newAttempt(t, c.Thief, c.Now)
	s.pinEncoder(j, mine, c.Encoder)
	mine.Speculative = at.Speculative // a stolen backup is still a backup
	s.Counters.Steals++
	thief.LastSeen = c.Now
	s.touch(j, c.Now)
	return LeaseResult{Granted: []AttemptRef{{Task: t.ID, Attempt: mine.N}}}, nil
}

func (s *state) playable(c *Playable) error {
	j := s.Jobs[c.Job]
	if j == nil {
		return fmt.Errorf("job %q: %w", c.Job, ErrNotFound)
	}
	if j.PlayableAt != nil {
		return nil
	}
	now := c.Now
	j.PlayableAt = &now
	s.touch(j, c.Now)
	return nil
}

// attempt finds attempt n of a task.
func (s *state) attempt(taskID string, n int) (*job, *task, *attempt, error) {
	t := s.Tasks[taskID]
	if t == nil {
		return nil, nil, nil, fmt.Errorf("task %q: %w", taskID, ErrNotFound)
	}
	if n < 1 || n > len(t.Attempts) {
		return nil, nil, nil, fmt.Errorf("attempt %d of task %q: %w", n, taskID, ErrNotFound)
	}
	return s.Jobs[t.Job], t, t.Attempts[n-1], nil
}

func (s *state) progress(c *Progress) error {
	j, t, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return err
	}
	if err := at.owns(c.Agent, c.Task); err != nil {
		return err
	}
	if c.FramesDone < 0 || c.FramesTotal < 0 {
		return invalid("negative frame count for attempt %d of task %q", c.Attempt, c.Task)
	}
	if !at.active() {
		return fmt.Errorf("attempt %d of task %q is %s: %w", c.Attempt, c.Task, at.State, ErrStaleAttempt)
	}
	if at.State == StateLeased {
		at.Running = c.Now
	}
	at.State = StateRunning
	at.FramesDone, at.FramesTotal = c.FramesDone, c.FramesTotal
	t.refresh()
	s.seen(at.Agent, c.Now)
	s.touch(j, c.Now)
	return nil
}

func (s *state) complete(c *Complete) error {
	j, t, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return err
	}
	if err := at.owns(c.Agent, c.Task); err != nil {
		return err
	}
	if t.State == StateDone {
		if t.Winner == at.N {
			return nil // the winner retrying its report: already recorded
		}
		if at.active() {
			at.State, at.Finished = StateCanceled, c.Now
			s.touch(j, c.Now)
		}
		return fmt.Errorf("task %q won by attempt %d, not %d: %w", t.ID, t.Winner, at.N, ErrAlreadyCommitted)
	}
	if j.finished() {
		return fmt.Errorf("job %q is %s: %w", j.ID, j.State, ErrStaleAttempt)
	}
	if err := s.checkNewTasks(j, t, c); err != nil {
		return err
	}
	if err := at.checkReported(c); err != nil {
		return err
	}
	if t.spread() {
		if err := s.checkPart(j, t, c); err != nil {
			return err
		}
	}

	// The first attempt to complete wins, even one whose lease expired:
	// its outputs are under attempt-specific names and are as good.
	at.State, at.Finished = StateDone, c.Now
	if at.Speculative {
		s.Counters.SpeculativeWins++
	}
	// A part of a chunk's rungs is faster per media second than the whole
	// ladder the scores compare agents on.
	scored := t.Kind == KindEncode && !t.spread()
	if scored {
		s.score(at.Agent, c.Now.Sub(at.ranSince()), t.MediaSeconds, false)
	}
	for _, other := range t.Attempts {
		if other.active() {
			if scored && other.State == StateRunning {
				// The loser would have taken at least this long.
				s.score(other.Agent, c.Now.Sub(other.ranSince()), t.MediaSeconds, true)
			}
			other.State, other.Finished = StateCanceled, c.Now
		}
	}
	t.State, t.Winner = StateDone, at.N
	t.Result, t.Outputs = raw(c.Result), c.Outputs
	s.seen(at.Agent, c.Now)
	s.touch(j, c.Now)

	switch t.Kind {
	case KindSplit:
		if j.Parent != "" {
			s.planAV1Job(j, c)
			break
		}
		var av1 []NewTask
		for _, nt := range c.NewTasks {
			if nt.Kind == KindEncodeAV1 {
				av1 = append(av1, nt)
				continue
			}
			s.addPlannedTask(j, nt)
		}
		j.Rungs, j.Head = c.Rungs, nil
		j.State = JobEncoding
		if len(av1) > 0 {
			s.newAV1Job(j, av1, c.Now)
		}
		s.maybeStitch(j, c.Now)
	case KindStitch:
		s.finishJob(j, JobDone, "", nil, c.Now)
	default:
		s.maybeStitch(j, c.Now)
	}
	return nil
}

// checkNewTasks validates what a split reports: encode tasks indexed 0..n-1,
// the audio as one task or the rest of the head's (checkRestAudio), fresh
// unique IDs.
func (s *state) checkNewTasks(j *job, t *task, c *Complete) error {
	if t.Kind != KindSplit {
		if len(c.NewTasks) > 0 || len(c.Rungs) > 0 {
			return invalid("only a split task reports new tasks and rungs, not %s task %q", t.Kind, t.ID)
		}
		return nil
	}
	if err := checkRestOfHead(j, c); err != nil {
		return err
	}
	byKind, err := s.newTasksByKind(j, "split", c.NewTasks, KindEncode, KindAudio, KindEncodeAV1)
	if err != nil {
		return err
	}
	// The rest continues the head's encodes.
	encodes, audio, av1 := append(s.headEncodes(j), byKind[KindEncode]...), byKind[KindAudio], byKind[KindEncodeAV1]
	if err := s.checkRestAudio(j, audio, byKind[KindEncode]); err != nil {
		return err
	}
	chunks, err := checkEncodeTasks(j.ID, encodes, c.Rungs)
	if err != nil {
		return err
	}
	if j.Parent != "" {
		return s.checkAV1Tasks(nil, av1, chunks)
	}
	return s.checkAV1Tasks(j, av1, chunks)
}

// prefer normalises a task's preferred encoders: nil when there are none,
// so that a state and its snapshot's restoration hold the same values.
func prefer(encoders []string) []string {
	if len(encoders) == 0 {
		return nil
	}
	return slices.Clone(encoders)
}

func stitchID(jobID string) string { return jobID + "-stitch" }

// maybeStitch adds the stitch task once every encode and audio task is done.
// Its spec is empty: the leader builds it at lease time from the winners'
// results (see Results).
func (s *state) maybeStitch(j *job, now time.Time) {
	if j.State != JobEncoding || j.Parent != "" {
		return
	}
	var media, audio float64
	for _, id := range j.Tasks {
		t := s.Tasks[id]
		if t.State != StateDone {
			return
		}
		switch {
		case t.Kind == KindEncode && (!t.spread() || s.lead(t)):
			media += t.MediaSeconds
		case t.Kind == KindAudio:
			audio += t.MediaSeconds // its parts'

		}
	}
	if media == 0 {
		media = audio
	}
	id := stitchID(j.ID)
	s.Tasks[id] = &task{ID: id, Job: j.ID, Kind: KindStitch, MediaSeconds: media, State: StatePending}
	j.Tasks = append(j.Tasks, id)
	j.State = JobStitching
	s.touch(j, now)
}

// scoreWeight is the weight, in tenths, of a new sample in an agent's score:
// a few tasks move the average, one odd task does not.
const scoreWeight = 3

// maxScore caps a sample, so a near-zero media duration cannot overflow it.
const maxScore = 24 * time.Hour

// score folds one encode timing into the agent's moving average of encode
// time per media second. A lower bound (an attempt that lost the race) only
// counts when it says the agent is slower than its average already does:
// it cannot prove the agent fast. Integer arithmetic keeps replicas equal.
func (s *state) score(agentID string, took time.Duration, media float64, lowerBound bool) {
	a := s.Agents[agentID]
	if a == nil || took <= 0 || media <= 0 {
		return
	}
	x := maxScore
	if r := float64(took) / media; r < float64(maxScore) {
		x = time.Duration(r)
	}
	switch {
	case a.Samples == 0 && lowerBound:
		return
	case a.Samples == 0:
		a.Score = x
	case lowerBound && x <= a.Score:
		return
	default:
		a.Score += (x - a.Score) * scoreWeight / 10
	}
	a.Samples++
}

func (s *state) fail(c *Fail) error {
	j, t, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return err
	}
	if err := at.owns(c.Agent, c.Task); err != nil {
		return err
	}
	if !at.active() {
		return fmt.Errorf("attempt %d of task %q is %s: %w", c.Attempt, c.Task, at.State, ErrStaleAttempt)
	}
	msg := c.Error
	if msg == "" {
		msg = fmt.Sprintf("%s task failed", t.Kind)
	}
	s.seen(at.Agent, c.Now)
	s.failAttempt(j, t, at, msg, c.Permanent, c.Now)
	return nil
}

func (s *state) expireAttempt(c *ExpireAttempt) error {
	j, t, at, err := s.attempt(c.Task, c.Attempt)
	if err != nil {
		return err
	}
	if !at.active() {
		return nil
	}
	msg := c.Reason
	if msg == "" {
		msg = "lease expired"
	}
	s.failAttempt(j, t, at, msg, false, c.Now)
	return nil
}

// failAttempt fails an active attempt, then fails the job (permanent error or
// MaxAttempts reached) or lets the task be leased again.
func (s *state) failAttempt(j *job, t *task, at *attempt, msg string, permanent bool, now time.Time) {
	at.State, at.Error, at.Finished = StateFailed, msg, now
	s.touch(j, now)
	switch n := t.failures(); {
	case permanent:
		s.finishJob(j, JobFailed, msg, t, now)
	case n >= MaxAttempts:
		s.finishJob(j, JobFailed, fmt.Sprintf("%s task %s failed %d times: %s", t.Kind, t.ID, n, msg), t, now)
	default:
		t.refresh()
	}
}

func (s *state) cancelJob(c *CancelJob) error {
	j := s.Jobs[c.Job]
	if j == nil {
		return fmt.Errorf("job %q: %w", c.Job, ErrNotFound)
	}
	if j.finished() {
		return invalid("job %q already finished (%s)", j.ID, j.State)
	}
	s.finishJob(j, JobCanceled, "", nil, c.Now)
	return nil
}

// finishJob ends a job: unfinished tasks are canceled (failed, the one that
// failed the job) with their active attempts, so no attempt stays active on a
// finished job.
func (s *state) finishJob(j *job, state JobState, msg string, failed *task, now time.Time) {
	j.State, j.Error = state, msg
	for _, id := range j.Tasks {
		t := s.Tasks[id]
		if t.State == StateDone {
			continue
		}
		for _, at := range t.Attempts {
			if at.active() {
				at.State, at.Finished = StateCanceled, now
			}
		}
		if t == failed {
			t.State = StateFailed
		} else {
			t.State = StateCanceled
		}
	}
	s.Active = slices.DeleteFunc(s.Active, func(id string) bool { return id == j.ID })
	s.outputs.add(j.Output, -1)
	s.awaitCollection(j)
	s.touch(j, now)
	if state != JobDone {
		s.cancelAV1Job(j, now)
	}
}
