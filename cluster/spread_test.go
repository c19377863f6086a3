package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// spreadLadder is a 1080p source's ladder.
var spreadLadder = []media.Rung{
	{Name: "1080p", Short: 1080, Width: 1920, Height: 1080}, {Name: "720p", Short: 720, Width: 1280, Height: 720},
	{Name: "480p", Short: 480, Width: 854, Height: 480}, {Name: "360p", Short: 360, Width: 640, Height: 360},
	{Name: "240p", Short: 240, Width: 426, Height: 240},
}

func spreadSplit(t *testing.T, rungs []media.Rung) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(media.SplitResult{Probe: &media.Probe{Duration: 8},
		Video: &media.VideoSettings{Rungs: rungs, ThumbnailInterval: 2, PHashInterval: 2},
		Chunks: []media.ChunkSpec{{Chunk: media.Chunk{Index: 0, End: 4}, Source: "chunk_00000.nut"},
			{Chunk: media.Chunk{Index: 1, Start: 4, End: 8}, Source: "chunk_00001.nut"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFirstChunkSpread: only the first chunk is spread, over as many parts
// as there are free slots, each part's spec encoding exactly its rungs;
// thumbnails come from the lead, the fingerprint from the part with the
// smallest rung, and no slot to spare means no spread.
func TestFirstChunkSpread(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts int
		want  []string // task IDs of the encodes
	}{
		{"one free slot", 1, []string{"j1-e00000", "j1-e00001"}},
		{"two free slots", 2, []string{"j1-e00000-p0", "j1-e00000-p1", "j1-e00001"}},
		{"more free slots than rungs", 9, []string{"j1-e00000-p0", "j1-e00000-p1", "j1-e00000-p2", "j1-e00000-p3", "j1-e00000-p4", "j1-e00001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks, rungs, err := plannedTasks(scheduler.TaskInfo{Job: "j1"}, 1, spreadSplit(t, spreadLadder), tc.parts)
			if err != nil {
				t.Fatal(err)
			}
			var ids, covered []string
			thumbs, hashes := 0, 0
			for _, nt := range tasks {
				ids = append(ids, nt.ID)
				var spec media.EncodeSpec
				if err := json.Unmarshal(nt.Spec, &spec); err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, r := range spec.Video.Rungs {
					names = append(names, r.Name)
				}
				if nt.Index == 1 || len(nt.Rungs) == 0 {
					if len(nt.Rungs) != 0 || !slices.Equal(names, rungs) {
						t.Errorf("%s encodes %v (task rungs %v), want the whole ladder", nt.ID, names, nt.Rungs)
					}
					continue
				}
				if !slices.Equal(names, nt.Rungs) {
					t.Errorf("%s's spec encodes %v, its task %v", nt.ID, names, nt.Rungs)
				}
				covered = append(covered, names...)
				if spec.Video.ThumbnailInterval > 0 {
					thumbs++
					if !slices.Contains(names, "720p") {
						t.Errorf("%s takes thumbnails without the 720p rung", nt.ID)
					}
				}
				if spec.Video.PHashInterval > 0 {
					hashes++
					if !slices.Contains(names, "240p") {
						t.Errorf("%s takes the fingerprint without the 240p rung", nt.ID)
					}
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("encode tasks %v, want %v", ids, tc.want)
			}
			if slices.Sort(covered); tc.parts > 1 && (len(covered) != len(spreadLadder) || thumbs != 1 || hashes != 1) {
				t.Errorf("parts cover %v with %d thumbnail and %d fingerprint parts, want every rung once, 1 and 1", covered, thumbs, hashes)
			}
		})
	}
}

// TestSpreadPartOutputs: a part of a spread chunk writes into its own rungs'
// directories only (the parts share the chunk's attempt numbers), and only
// the lead writes thumbnails.
func TestSpreadPartOutputs(t *testing.T) {
	lead := scheduler.TaskInfo{ID: "j1-e00000-p0", Kind: scheduler.KindEncode, Rungs: []string{"720p", "240p"}, Lead: true}
	other := scheduler.TaskInfo{ID: "j1-e00000-p1", Kind: scheduler.KindEncode, Rungs: []string{"1080p"}}
	whole := scheduler.TaskInfo{ID: "j1-e00001", Kind: scheduler.KindEncode, Index: 1}
	for _, tc := range []struct {
		info scheduler.TaskInfo
		name string
		ok   bool
	}{
		{lead, "720p/c00000_a1_00000.ts", true},
		{lead, "thumbs/c00000_a1_t00000.jpg", true},
		{lead, "1080p/c00000_a1_00000.ts", false},
		{other, "1080p/c00000_a1_00000.ts", true},
		{other, "1080p/c00000_a1_init.mp4", true},
		{other, "720p/c00000_a1_00000.ts", false},
		{other, "thumbs/c00000_a1_t00000.jpg", false},
		{whole, "1080p/c00001_a1_00001.ts", true},
		{whole, "thumbs/c00001_a1_t00001.jpg", true},
	} {
		t.Run(tc.info.ID+"/"+tc.name, func(t *testing.T) {
			err := checkOutputName(tc.info, 1, tc.name)
			if got := err == nil; got != tc.ok {
				t.Errorf("checkOutputName = %v, want allowed %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, errForeignOutput) {
				t.Errorf("error %v is not errForeignOutput", err)
			}
		})
	}
}

// TestPublishWaitsForEveryPart: the master playlist of a job whose first
// chunk is spread appears once every part is done, and lists every rung.
func TestPublishWaitsForEveryPart(t *testing.T) {
	n := publishNode(t)
	t0 := time.Unix(1_700_000_000, 0)
	applyMetricsCmd(t, n, scheduler.CmdRegisterAgent, scheduler.RegisterAgent{
		Info: scheduler.AgentInfo{ID: "a1", Slots: 4, Encoders: []string{media.EncoderX264}}, Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j1", Source: "uploads/a.mp4", Output: layout.HLS("v1"), Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: []string{"j1-split"}, Now: t0})
	ladder := spreadLadder[3:] // 360p, 240p
	split := spreadSplit(t, ladder)
	tasks, rungs, err := plannedTasks(scheduler.TaskInfo{Job: "j1"}, 1, split, 2)
	if err != nil {
		t.Fatal(err)
	}
	applyMetricsCmd(t, n, scheduler.CmdComplete, scheduler.Complete{Task: "j1-split", Attempt: 1, Result: split, NewTasks: tasks, Rungs: rungs, Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdPlayable, scheduler.Playable{Job: "j1", Now: t0})
	encodePart := func(task string, rung string, thumbs bool) {
		res := media.ChunkResult{Index: 0, Frames: 100, Segments: []media.SegmentTiming{{Index: 0, Duration: 4}},
			Rungs: []media.RungOutput{{Name: rung, Codec: "avc1.64000d", Files: []media.SegmentFile{{Index: 0, File: fmt.Sprintf("%s/c00000_a1_00000.ts", rung), Bytes: 10_000}}}}}
		if thumbs {
			res.Thumbnails = []media.ImageFile{{File: "thumbs/c00000_a1_t0.jpg"}}
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: []string{task}, Now: t0})
		before, _ := n.fsm.TaskInfo(task)
		cmd := scheduler.Complete{Task: task, Attempt: 1, Result: b, Now: t0.Add(time.Second)}
		applyMetricsCmd(t, n, scheduler.CmdComplete, cmd)
		n.observeComplete(before, cmd, cmd.Now)
	}
	encodePart("j1-e00000-p1", "240p", false)
	n.publishProgress(t.Context())
	if _, err := n.readObject(t.Context(), layout.Ladder("v1", layout.MasterPlaylist)); err == nil {
		t.Fatal("the master playlist was published with one part of the first chunk left")
	}
	encodePart("j1-e00000-p0", "360p", true)
	n.publishProgress(t.Context())
	master, err := n.readObject(t.Context(), layout.Ladder("v1", layout.MasterPlaylist))
	if err != nil {
		t.Fatalf("master playlist not published after every part: %v", err)
	}
	for _, r := range rungs {
		if !slices.Contains(strings.Split(string(master), "\n"), layout.RungPlaylist(r)) {
			t.Errorf("master playlist lacks rung %s:\n%s", r, master)
		}
	}
	if got, want := publishedSegments(t, n), 1; got != want {
		t.Errorf("240p playlist lists %d segments, want %d", got, want)
	}
	if got := testutil.ToFloat64(n.metrics.mediaSeconds.WithLabelValues("encode", "h264")); got != 4 {
		t.Errorf("the parts of a 4 s chunk add %g media seconds to the throughput, want 4", got)
	}
}
