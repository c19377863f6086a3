package cluster_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestFarmSpreadsFirstChunk: with two idle agents, the first chunk's rungs
// are encoded by a task per part of the ladder, on both agents, and the
// ladder they make is whole: every rung has every frame, the rungs switch
// at the same instants, and the master playlist lists each rung with its
// measured bandwidth and codec.
func TestFarmSpreadsFirstChunk(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2, Slots: 2})
	src := testmedia.Generate(t, testmedia.CFR(8, 640, 360, 25, true))
	j := f.Submit(src, wire.JobOptions{Segment: "1s", Chunk: "2s", Rungs: []int{360, 240}})
	j = f.WaitJob(j.ID, 3*time.Minute)
	wantPublished(t, f, j, 200)

	agents := map[string]bool{}
	var parts [][]string
	for _, task := range j.Tasks {
		if task.Kind != scheduler.KindEncode || task.Index != 0 {
			continue
		}
		if len(task.Rungs) == 0 {
			t.Fatalf("chunk 0 is one task %s of every rung, want a task per part", task.ID)
		}
		parts = append(parts, task.Rungs)
		agents[task.Attempts[task.Winner-1].Agent] = true
	}
	if !slices.EqualFunc(parts, [][]string{{"360p"}, {"240p"}}, slices.Equal) {
		t.Errorf("chunk 0's parts encode %v, want [[360p] [240p]]", parts)
	}
	if len(agents) != 2 {
		t.Errorf("chunk 0's parts ran on %v, want both agents", agents)
	}
	if j.ChunksTotal != 5 || j.ChunksDone != 5 {
		t.Errorf("chunks %d of %d done, want 5 of 5 (a one-second first chunk, then 2 s chunks)", j.ChunksDone, j.ChunksTotal)
	}

	dir := fetchOutput(t, openStorage(t, f), j.Output)
	master, err := hls.ParseMasterPlaylist(mustReadFile(t, filepath.Join(dir, layout.MasterPlaylist)))
	if err != nil {
		t.Fatal(err)
	}
	if len(master.Variants) != 2 {
		t.Fatalf("master playlist has %d variants, want 2", len(master.Variants))
	}
	for _, v := range master.Variants {
		if v.Bandwidth <= 0 || len(v.Codecs) == 0 {
			t.Errorf("variant %s: bandwidth %d, codecs %v; want both measured", v.URI, v.Bandwidth, v.Codecs)
		}
	}
	var durations [][]float64
	for _, rung := range []string{"360p", "240p"} {
		path := filepath.Join(dir, rung, layout.MediaPlaylist)
		if got := countFrames(t, path); got != 200 {
			t.Errorf("%s has %d frames, want the source's 200", rung, got)
		}
		p, err := hls.ParseMediaPlaylist(mustReadFile(t, path))
		if err != nil {
			t.Fatal(err)
		}
		var d []float64
		for _, s := range p.Segments {
			d = append(d, s.Duration)
		}
		durations = append(durations, d)
	}
	if !slices.Equal(durations[0], durations[1]) {
		t.Errorf("segment durations differ between rungs: 360p %v, 240p %v", durations[0], durations[1])
	}
}
