package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// publisher is the leader's progressive publishing: while a job encodes, the
// rung playlists grow as EVENT playlists over the chunks finished in
// timeline order, and the master playlist appears as soon as every rendition
// has a first segment — viewers start long before the job ends. The text
// comes from media.BuildPlaylists over the recorded results, the same
// function the stitch task uses for the final VOD playlists, and is stored
// directly: the coordinator links no libav and writes no temporary files.
//
// A growing playlist must never land after the final one. The stitch task
// alone writes the final ones, so a job is published only until its stitch
// task has been leased (the state says so), and the stitch's assignment is
// built only once a publish of its job that was already under way has
// ended (waitIdle). A publish marks its job busy before it reads the state,
// so it either sees the lease or is waited for.
type publisher struct {
	// wake asks the publishing loop to look for jobs whose results grew:
	// a completion was committed.
	wake chan struct{}

	mu sync.Mutex
	// busy holds, per job being published right now, a channel closed when
	// that publish ends. Only the publishing loop publishes, so there is at
	// most one publish per job in flight.
	busy map[string]chan struct{}
	// done counts the results (chunks plus the audio's parts) published per
	// job; only the publishing loop touches it.
	done map[string]int
	// av1 counts the AV1 rungs published per AV1 job, and noAV1Since is
	// when each AV1 job with work ready found no agent to run it; only the
	// publishing loop touches them (see publishAV1).
	av1        map[string]int
	noAV1Since map[string]time.Time
}

func newPublisher() *publisher {
	return &publisher{wake: make(chan struct{}, 1), busy: map[string]chan struct{}{}, done: map[string]int{},
		av1: map[string]int{}, noAV1Since: map[string]time.Time{}}
}

// publishBackstop is how often the loop looks at every job without being
// woken: a new leader catches up, and a failed store write is retried.
const publishBackstop = 2 * time.Second

// completed wakes the publishing loop after a task's completion was
// committed; it never blocks.
func (p *publisher) completed() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// waitIdle returns once no publish of the job is under way (or ctx ends).
func (p *publisher) waitIdle(ctx context.Context, jobID string) error {
	p.mu.Lock()
	ch := p.busy[jobID]
	p.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *publisher) begin(jobID string) func() {
	ch := make(chan struct{})
	p.mu.Lock()
	p.busy[jobID] = ch
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.busy, jobID)
		p.mu.Unlock()
		close(ch)
	}
}

// publishLoop is a leader duty: it publishes jobs as their completions are
// committed, and every publishBackstop regardless.
func (n *Node) publishLoop(ctx context.Context) {
	tick := time.NewTicker(publishBackstop)
	defer tick.Stop()
	for {
		n.publishProgress(ctx)
		select {
		case <-ctx.Done():
			return
		case <-n.pub.wake:
		case <-tick.C:
		}
	}
}

// publishProgress publishes every encoding job whose finished prefix grew.
// It reads only the encoding jobs, not every job the state retains.
func (n *Node) publishProgress(ctx context.Context) {
	encoding := n.fsm.ListJobs(scheduler.JobQuery{States: []scheduler.JobState{scheduler.JobEncoding}, Limit: math.MaxInt}).Jobs
	forgetEnded(n.pub.done, encoding)
	forgetEnded(n.pub.av1, encoding)
	forgetEnded(n.pub.noAV1Since, encoding)
	for _, j := range encoding {
		if j.Parent != "" {
			if err := n.publishAV1(ctx, j); err != nil {
				n.log.Warn("AV1 publish failed", "job_id", j.ID, "error", err)
			}
			continue
		}
		if err := n.publishJob(ctx, j); err != nil {
			n.log.Warn("progressive publish failed", "job_id", j.ID, "error", err)
		}
	}
}

// forgetEnded drops from a publishing loop's record the jobs no longer
// encoding.
func forgetEnded[V any](m map[string]V, encoding []scheduler.Job) {
	for id := range m {
		if !slices.ContainsFunc(encoding, func(j scheduler.Job) bool { return j.ID == id }) {
			delete(m, id)
		}
	}
}

func (n *Node) publishJob(ctx context.Context, j scheduler.Job) error {
	defer n.pub.begin(j.ID)()
	if n.stitchLeased(j.ID) {
		return nil
	}
	audioParts := n.audioPartsReady(j.ID) // before the results: see audioPartsReady
	spec := n.recordedResults(j.ID)
	if spec == nil {
		return nil
	}
	// Count the finished prefix on the raw results: most looks find it
	// unchanged, and decoding every chunk's result is the expensive part.
	ready := 0
	for _, raw := range spec.Chunks {
		if len(raw) == 0 {
			break
		}
		ready++
	}
	if len(spec.Audio) > 0 {
		// Each part of the audio done in order publishes more of the audio
		// playlist on its own completion, not with the next chunk's.
		ready += audioParts
	}
	if ready == 0 || ready <= n.pub.done[j.ID] {
		return nil
	}
	res, err := spec.Decode()
	if err != nil {
		return err
	}
	if res.Split.Video == nil {
		n.pub.done[j.ID] = ready // audio-only jobs are one task: nothing to publish early
		return nil
	}
	screening, err := json.Marshal(media.BuildScreeningPrefix(res.Split, res.Chunks))
	if err != nil {
		return err
	}
	pls := media.BuildPlaylists(res.Split, res.Chunks, res.Audio, hls.PlaylistEvent)
	// The screening prefix first: the API lets others watch only what it
	// screened, and a playlist may already list the chunks it describes.
	files := append([]media.PlaylistFile{{Name: layout.ScreeningFile, Text: screening}}, pls.Media...)
	if pls.Master != nil {
		// Last: a player that finds the master finds every rendition.
		files = append(files, *pls.Master)
	}
	for _, f := range files {
		if err := n.cfg.Store.Put(ctx, j.Output+"/"+f.Name, bytes.NewReader(f.Text), int64(len(f.Text))); err != nil {
			return fmt.Errorf("store %s: %w", f.Name, err)
		}
	}
	n.pub.done[j.ID] = ready
	if pls.Master != nil && j.PlayableAt == nil {
		if _, err := n.apply(ctx, scheduler.CmdPlayable, scheduler.Playable{Job: j.ID, Now: time.Now()}); err != nil {
			return err
		}
		n.metrics.observePlayable(time.Since(j.Created))
	}
	return nil
}

// audioPartsReady counts the job's audio tasks done in part order, the
// prefix the state's audio result merges (at least one once there is an
// audio result). The caller reads the job before its results, which are
// then at least as new: a count behind them is caught up by the publish
// after the next completion.
func (n *Node) audioPartsReady(jobID string) int {
	j, ok := n.fsm.Job(jobID)
	if !ok {
		return 1
	}
	var parts []scheduler.Task
	for _, t := range j.Tasks {
		if t.Kind == scheduler.KindAudio {
			parts = append(parts, t)
		}
	}
	slices.SortStableFunc(parts, func(a, b scheduler.Task) int { return a.Index - b.Index })
	done := 0
	for _, t := range parts {
		if t.State != scheduler.StateDone {
			break
		}
		done++
	}
	return max(1, done)
}

// stitchLeased reports whether the job's stitch task has ever been leased:
// from then on the final playlists may be written at any moment.
func (n *Node) stitchLeased(jobID string) bool {
	j, ok := n.fsm.Job(jobID)
	if !ok {
		return true
	}
	return slices.ContainsFunc(j.Tasks, func(t scheduler.Task) bool {
		return t.Kind == scheduler.KindStitch && (t.State != scheduler.StatePending || len(t.Attempts) > 0)
	})
}

// recordedResults is what the state machine holds of a job's results, as
// the stitch spec forwards it; nil while the split has not finished.
func (n *Node) recordedResults(jobID string) *media.StitchSpec {
	split, encodes, audio, ok := n.fsm.Results(jobID)
	if !ok || len(split) == 0 {
		return nil
	}
	return &media.StitchSpec{Split: split, Chunks: encodes, Audio: audio}
}
