package cluster

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// The first chunk of a job is what makes it playable: the master playlist
// waits for every rendition's first segment. One task encoding its whole
// ladder takes as long as all its rungs on one agent; spread over the idle
// slots (scheduler/spread.go), the first chunk takes about as long as its
// largest rung. Later chunks stay one task each: one decode feeding every
// rung is the cheaper way once playback has started.

// encodeTasks turns planned chunk i of a job into its encode tasks, which
// read the chunk file stored under chunks: a task of every rung, or, for the
// first chunk (i 0) when parts > 1, one task per part of the ladder
// (media.SpreadRungs), the lead part first. Each task prefers the encoders
// its largest rung would rather run on.
func encodeTasks(jobID, chunks string, i int, c media.ChunkSpec, video media.VideoSettings, parts int) ([]scheduler.NewTask, error) {
	task := func(id string, v media.VideoSettings, rungs []string) (scheduler.NewTask, error) {
		spec, err := json.Marshal(media.EncodeSpec{Chunk: c, Video: v})
		if err != nil {
			return scheduler.NewTask{}, err
		}
		var prefer []string
		if len(v.Rungs) > 0 {
			prefer = scheduler.PreferredEncoders(v.Rungs[0].Short) // largest first
		}
		return scheduler.NewTask{ID: id, Kind: scheduler.KindEncode, Index: i, Spec: spec, Rungs: rungs,
			Inputs: map[string]string{c.Source: chunks + c.Source}, MediaSeconds: c.Chunk.End - c.Chunk.Start, Prefer: prefer}, nil
	}
	id := fmt.Sprintf("%s-e%05d", jobID, i)
	var spread [][]string
	if i == 0 {
		spread = media.SpreadRungs(video.Rungs, parts)
	}
	if len(spread) <= 1 {
		t, err := task(id, video, nil)
		return []scheduler.NewTask{t}, err
	}
	var tasks []scheduler.NewTask
	for p, part := range spread {
		t, err := task(fmt.Sprintf("%s-p%d", id, p), media.PartSettings(video, part, p == 0), part)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// firstChunkParts is how many parts a new job's first chunk is spread over:
// the free slots of the alive agents, plus the one the completing split
// gives back. One part (no spread) when that is a single slot.
func firstChunkParts(agents []scheduler.Agent) int {
	free := 1
	for _, a := range agents {
		if a.State == scheduler.AgentAlive {
			free += max(0, max(a.Slots, 1)-a.Busy)
		}
	}
	return free
}

// partMayWrite reports whether an encode task may write into the directory
// dir of its outputs: a task of every rung anywhere (checkOutputName checks
// the names), a part of a spread chunk only into its own rungs' and, for the
// lead, the thumbnails' — the parts of a chunk share its attempt numbers,
// so that is what keeps one part from overwriting another's files.
func partMayWrite(info scheduler.TaskInfo, dir string) bool {
	return len(info.Rungs) == 0 || slices.Contains(info.Rungs, dir) || info.Lead && dir == media.ThumbnailDir
}
