package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/storage/layout"
)

// Report is everything `sunomi transcode` learned and did, written as report.json.
type Report struct {
	Source   string               `json:"source"`
	Probe    *media.Probe         `json:"probe"`
	Encoder  string               `json:"encoder,omitempty"`
	Ladder   []media.Rung         `json:"ladder,omitempty"`
	Plan     *media.Plan          `json:"plan,omitempty"`
	Workers  int                  `json:"workers"`
	Tasks    []TaskTiming         `json:"tasks"`
	Output   *Output              `json:"output"`
	Warnings []string             `json:"warnings,omitempty"`
	Started  time.Time            `json:"started"`
	Seconds  float64              `json:"wallSeconds"`
	Settings *media.VideoSettings `json:"settings,omitempty"`

	mu sync.Mutex // guards Tasks while workers run
}

// TaskTiming records when and where a task ran.
type TaskTiming struct {
	Kind    string  `json:"kind"` // split, encode, audio, stitch
	Chunk   int     `json:"chunk,omitempty"`
	Worker  int     `json:"worker"`
	Start   float64 `json:"startSeconds"` // since the transcode started
	Seconds float64 `json:"seconds"`
	Frames  int     `json:"frames,omitempty"`
}

// Transcode runs the farm's pipeline on one machine: split, then the encode
// tasks and the audio task on Options.Workers in-process workers, publishing
// EVENT playlists as chunks finish in timeline order, then the final stitch.
// reportPath "" writes report.json into outDir.
func Transcode(ctx context.Context, log *slog.Logger, src, outDir, reportPath string, opts media.Options) (*Report, error) {
	opts = opts.WithDefaults()
	// Every task runs here, so the encoder is resolved once, up front: a
	// requested one that does not open on this host is an error.
	enc, err := encoder.ResolveEncoder(opts.Encoder)
	if err != nil {
		return nil, err
	}
	r := &Report{Source: src, Workers: opts.Workers, Started: time.Now()}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}
	workDir, err := os.MkdirTemp(outDir, ".work-")
	if err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	defer os.RemoveAll(workDir)

	t := r.begin("split", 0, 0)
	job, err := Split(ctx, src, workDir, outDir, opts)
	if err != nil {
		return nil, err
	}
	r.end(t, 0)
	if job.Video != nil {
		job.Video.H264.Encoder = enc
	}
	r.Probe, r.Plan, r.Settings = job.Probe, job.Plan, job.Video
	if job.Video != nil {
		r.Encoder, r.Ladder = job.Video.H264.Encoder, job.Video.Rungs
	}
	log.Info("split", "chunks", len(job.Chunks), "audio", job.Audio != nil, "seconds", r.Tasks[0].Seconds)

	pub := &publisher{outDir: outDir, job: job, chunks: make([]*media.ChunkResult, len(job.Chunks)), log: log}
	if err := r.runTasks(ctx, job, pub, opts.Workers); err != nil {
		return nil, err
	}

	t = r.begin("stitch", 0, 0)
	if r.Output, err = Stitch(outDir, job, pub.chunks, pub.audio, true); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(filepath.Join(outDir, "thumbs"))
	r.end(t, 0)
	r.Warnings = r.Output.Warnings
	r.Seconds = time.Since(r.Started).Seconds()
	if reportPath == "" {
		reportPath = filepath.Join(outDir, "report.json")
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	if err := writeFileAtomic(reportPath, b); err != nil {
		return nil, err
	}
	return r, nil
}

// runTasks runs the audio task and every encode task on a pool of workers.
// Audio goes first: it is the longest single task of most jobs.
func (r *Report) runTasks(ctx context.Context, job *media.SplitResult, pub *publisher, workers int) error {
	type task struct {
		kind  string
		chunk int
	}
	queue := make(chan task, len(job.Chunks)+1)
	if job.Audio != nil {
		queue <- task{kind: "audio"}
	}
	for i := range job.Chunks {
		queue <- task{kind: "encode", chunk: i}
	}
	close(queue)

	g, ctx := errgroup.WithContext(ctx)
	for w := 1; w <= workers; w++ {
		g.Go(func() error {
			for tk := range queue {
				if err := ctx.Err(); err != nil {
					return err
				}
				t := r.begin(tk.kind, tk.chunk, w)
				if tk.kind == "audio" {
					res, err := encoder.EncodeAudio(ctx, *job.Audio)
					if err != nil {
						return fmt.Errorf("audio: %w", err)
					}
					r.end(t, 0)
					if err := pub.audioDone(res); err != nil {
						return err
					}
					continue
				}
				res, err := encoder.EncodeChunk(ctx, job.Chunks[tk.chunk], *job.Video)
				if err != nil {
					return err
				}
				r.end(t, res.Frames)
				if err := pub.chunkDone(tk.chunk, res); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (r *Report) begin(kind string, chunk, worker int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Tasks = append(r.Tasks, TaskTiming{Kind: kind, Chunk: chunk, Worker: worker, Start: time.Since(r.Started).Seconds()})
	return len(r.Tasks) - 1
}

func (r *Report) end(i, frames int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := &r.Tasks[i]
	t.Seconds = time.Since(r.Started).Seconds() - t.Start
	t.Frames = frames
}

// publisher collects task results and republishes the growing playlists.
type publisher struct {
	mu       sync.Mutex
	outDir   string
	job      *media.SplitResult
	chunks   []*media.ChunkResult
	audio    *media.AudioResult
	playable bool
	log      *slog.Logger
}

func (p *publisher) chunkDone(i int, res *media.ChunkResult) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.chunks[i] = res
	p.log.Info("chunk encoded", "chunk", i, "frames", res.Frames)
	return p.publishLocked()
}

func (p *publisher) audioDone(res *media.AudioResult) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.audio = res
	p.log.Info("audio encoded", "segments", len(res.Segments))
	return p.publishLocked()
}

func (p *publisher) publishLocked() error {
	out, err := Stitch(p.outDir, p.job, p.chunks, p.audio, false)
	if err != nil {
		return err
	}
	if out != nil && !p.playable {
		p.playable = true
		p.log.Info("playable", "master", filepath.Join(p.outDir, layout.MasterPlaylist))
	}
	return nil
}
