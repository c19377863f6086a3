package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
)

// publisher is the leader's progressive publishing: while a job encodes, the
// rung playlists grow as EVENT playlists over the chunks finished in
// timeline order, and the master playlist appears as soon as every rendition
// has a first segment — viewers start long before the job ends. The stitch
// task replaces them with VOD playlists at the end.
type publisher struct {
	// mu serialises publishing with building stitch assignments, so that a
	// growing playlist is never uploaded over the final one.
	mu sync.Mutex
	// done counts the chunks (plus one for the audio) published per job.
	done map[string]int
}

func newPublisher() *publisher { return &publisher{done: map[string]int{}} }

// publishProgress publishes every encoding job whose finished prefix grew.
func (n *Node) publishProgress(ctx context.Context) {
	n.pub.mu.Lock()
	defer n.pub.mu.Unlock()
	for _, j := range n.fsm.Jobs() {
		if j.State != scheduler.JobEncoding {
			delete(n.pub.done, j.ID)
			continue
		}
		if err := n.publishJobLocked(ctx, j); err != nil {
			n.log.Warn("progressive publish failed", "job_id", j.ID, "error", err)
		}
	}
}

func (n *Node) publishJobLocked(ctx context.Context, j scheduler.Job) error {
	split, encodes, audio, ok := n.fsm.Results(j.ID)
	if !ok || len(split) == 0 {
		return nil
	}
	// Count the finished prefix on the raw results: most ticks find it
	// unchanged, and decoding every chunk's result is the expensive part.
	ready := 0
	for _, raw := range encodes {
		if len(raw) == 0 {
			break
		}
		ready++
	}
	if len(audio) > 0 {
		ready++
	}
	if ready == 0 || ready <= n.pub.done[j.ID] {
		return nil
	}
	spec, err := decodeResults(split, encodes, audio)
	if err != nil {
		return err
	}
	if spec.Job.Video == nil {
		n.pub.done[j.ID] = ready // audio-only jobs are one task: nothing to publish early
		return nil
	}
	dir, err := os.MkdirTemp("", "sunomi-publish-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out, err := pipeline.Stitch(dir, spec.Job, spec.Chunks, spec.Audio, false)
	if err != nil {
		return err
	}
	if err := n.uploadDir(ctx, dir, j.Output); err != nil {
		return err
	}
	n.pub.done[j.ID] = ready
	if out != nil && j.PlayableAt == nil {
		if _, err := n.apply(ctx, scheduler.CmdPlayable, scheduler.Playable{Job: j.ID, Now: time.Now()}); err != nil {
			return err
		}
		n.metrics.observePlayable(time.Since(j.Created))
	}
	return nil
}

// resultsSpec is the stitch spec of a job's results so far, with nil
// entries for chunks not done yet; nil while the split has not finished.
func (n *Node) resultsSpec(jobID string) (*pipeline.StitchSpec, error) {
	split, encodes, audio, ok := n.fsm.Results(jobID)
	if !ok || len(split) == 0 {
		return nil, nil
	}
	return decodeResults(split, encodes, audio)
}

// decodeResults decodes the raw results the state machine holds.
func decodeResults(split json.RawMessage, encodes []json.RawMessage, audio json.RawMessage) (*pipeline.StitchSpec, error) {
	spec := &pipeline.StitchSpec{}
	if err := json.Unmarshal(split, &spec.Job); err != nil {
		return nil, fmt.Errorf("split result: %w", err)
	}
	spec.Chunks = make([]*encoder.ChunkResult, len(encodes))
	for i, raw := range encodes {
		if len(raw) == 0 {
			continue
		}
		spec.Chunks[i] = &encoder.ChunkResult{}
		if err := json.Unmarshal(raw, spec.Chunks[i]); err != nil {
			return nil, fmt.Errorf("chunk %d result: %w", i, err)
		}
	}
	if len(audio) > 0 {
		spec.Audio = &encoder.AudioResult{}
		if err := json.Unmarshal(audio, spec.Audio); err != nil {
			return nil, fmt.Errorf("audio result: %w", err)
		}
	}
	return spec, nil
}

// uploadDir stores every file under dir at prefix/<relative path>.
func (n *Node) uploadDir(ctx context.Context, dir, prefix string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return n.cfg.Store.Put(ctx, prefix+"/"+filepath.ToSlash(rel), f, st.Size())
	})
}
