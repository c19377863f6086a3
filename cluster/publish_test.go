package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/phash"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// publishNode is a coordinator without Raft, HTTP or gossip whose state
// machine the test drives, publishing into a local store.
func publishNode(t *testing.T) *Node {
	t.Helper()
	n, _ := metricsNode(t)
	store, err := storage.NewLocal(t.TempDir(), storage.Options{Secret: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	n.cfg.Store, n.log, n.pub = store, slog.New(slog.NewTextHandler(io.Discard, nil)), newPublisher()
	return n
}

// splitTwoChunks submits job j1 and completes its split: one 240p rung,
// two chunks, no audio; the job is marked playable already, so that
// publishing needs no Raft.
func splitTwoChunks(t *testing.T, n *Node) {
	t.Helper()
	t0 := time.Unix(1_700_000_000, 0)
	applyMetricsCmd(t, n, scheduler.CmdRegisterAgent, scheduler.RegisterAgent{
		Info: scheduler.AgentInfo{ID: "a1", Slots: 4, Encoders: []string{media.EncoderX264}}, Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j1", Source: "uploads/a.mp4",
		Output: layout.HLS("v1"), Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: []string{"j1-split"}, Now: t0})
	split, err := json.Marshal(media.SplitResult{Probe: &media.Probe{Duration: 8},
		Video: &media.VideoSettings{Rungs: []media.Rung{{Name: "240p", Short: 240, Width: 426, Height: 240}}, PHashInterval: 2},
		Chunks: []media.ChunkSpec{{Chunk: media.Chunk{Index: 0, End: 4}, Source: "chunk_00000.nut"},
			{Chunk: media.Chunk{Index: 1, Start: 4, End: 8}, Source: "chunk_00001.nut"}}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := n.fsm.TaskInfo("j1-split")
	tasks, rungs, err := plannedTasks(info, 1, split, 1)
	if err != nil {
		t.Fatal(err)
	}
	applyMetricsCmd(t, n, scheduler.CmdComplete, scheduler.Complete{Task: "j1-split", Attempt: 1, Result: split,
		NewTasks: tasks, Rungs: rungs, Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdPlayable, scheduler.Playable{Job: "j1", Now: t0})
}

// encodeChunk leases and completes chunk i's encode task.
func encodeChunk(t *testing.T, n *Node, i int) {
	t.Helper()
	res, err := json.Marshal(media.ChunkResult{Index: i, Segments: []media.SegmentTiming{{Index: i, Start: float64(4 * i), Duration: 4}},
		Rungs: []media.RungOutput{{Name: "240p", Codec: "avc1.64000d",
			Files: []media.SegmentFile{{Index: i, File: fmt.Sprintf("240p/c%05d_a1_%05d.ts", i, i), Bytes: 10_000}}}},
		Thumbnails: []media.ImageFile{{Time: float64(4 * i), File: fmt.Sprintf("thumbs/c%05d_a1_t0.jpg", i)}},
		PHash:      &media.FrameHashes{Interval: 2, First: 2 * i, Hashes: []phash.Hash{phash.Hash(2*i + 1), phash.Hash(2*i + 2)}}})
	if err != nil {
		t.Fatal(err)
	}
	task, now := fmt.Sprintf("j1-e%05d", i), time.Unix(1_700_000_010+int64(i), 0)
	applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: []string{task}, Now: now})
	applyMetricsCmd(t, n, scheduler.CmdComplete, scheduler.Complete{Task: task, Attempt: 1, Result: res, Now: now})
}

// publishedSegments is how many segments the stored 240p playlist lists.
func publishedSegments(t *testing.T, n *Node) int {
	t.Helper()
	b, err := n.readObject(t.Context(), layout.Ladder("v1", layout.RungPlaylist("240p")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMediaPlaylist(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != hls.PlaylistEvent || p.Ended {
		t.Errorf("published playlist type %q ended %v, want a growing EVENT playlist", p.Type, p.Ended)
	}
	return len(p.Segments)
}

func TestPublishGrowsUntilTheStitchIsLeased(t *testing.T) {
	n := publishNode(t)
	splitTwoChunks(t, n)
	encodeChunk(t, n, 0)
	n.publishProgress(t.Context())
	if got, want := publishedSegments(t, n), 1; got != want {
		t.Fatalf("after chunk 0, the playlist lists %d segments, want %d", got, want)
	}
	if _, err := n.readObject(t.Context(), layout.Ladder("v1", layout.MasterPlaylist)); err != nil {
		t.Errorf("master playlist not published: %v", err)
	}

	// The loop lists the job while it encodes; before it publishes, the last
	// chunk completes and the stitch is leased. From now on the stitch alone
	// writes playlists, so this publish must not.
	j, _ := n.fsm.Job("j1")
	encodeChunk(t, n, 1)
	applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: []string{"j1-stitch"}, Now: time.Unix(1_700_000_020, 0)})
	if err := n.publishJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if got, want := publishedSegments(t, n), 1; got != want {
		t.Errorf("after the stitch was leased, the playlist lists %d segments, want still %d", got, want)
	}
}

// TestPublishScreeningPrefix: as chunks finish in timeline order, the
// leader publishes what the API screens (the chunks' frame hashes and
// thumbnails, and where they end), and the job's clean-up removes it.
func TestPublishScreeningPrefix(t *testing.T) {
	n := publishNode(t)
	splitTwoChunks(t, n)
	read := func() media.ScreeningPrefix {
		t.Helper()
		b, err := n.readObject(t.Context(), layout.Ladder("v1", layout.ScreeningFile))
		if err != nil {
			t.Fatal(err)
		}
		var p media.ScreeningPrefix
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	n.publishProgress(t.Context())
	if _, err := n.readObject(t.Context(), layout.Ladder("v1", layout.ScreeningFile)); err == nil {
		t.Errorf("a screening prefix was published before a chunk finished")
	}
	encodeChunk(t, n, 0)
	n.publishProgress(t.Context())
	p := read()
	if p.Chunks != 1 || p.Seconds != 4 || p.PHash == nil || len(p.PHash.Hashes) != 2 || p.PHash.Hashes[1] != 2 ||
		len(p.Frames) != 1 || p.Frames[0].File != "thumbs/c00000_a1_t0.jpg" {
		t.Errorf("screening prefix %+v, want chunk 0: 4 s, 2 hashes, 1 thumbnail", p)
	}
	j, _ := n.fsm.Job("j1")
	if keys := n.jobObjects(j); !slices.Contains(keys, layout.Ladder("v1", layout.ScreeningFile)) {
		t.Errorf("the job's clean-up would leave the screening prefix: %v", keys)
	}
}

func TestStitchSpecWaitsForAPublishUnderWay(t *testing.T) {
	n := publishNode(t)
	splitTwoChunks(t, n)
	encodeChunk(t, n, 0)
	encodeChunk(t, n, 1)
	end := n.pub.begin("j1")
	got := make(chan error, 1)
	go func() {
		_, _, err := n.stitchSpec(context.Background(), "j1")
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("stitchSpec returned (%v) while a publish of the job was under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	end()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("stitchSpec: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stitchSpec still waiting after the publish ended")
	}
}
