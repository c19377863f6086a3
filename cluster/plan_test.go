package cluster

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

func TestPlannedTasksPreferHardwareForHighRungs(t *testing.T) {
	tests := []struct {
		name string
		top  int
		want []string
	}{
		{"1080p ladder", 1080, []string{media.EncoderNVENC, media.EncoderQSV}},
		{"720p ladder", 720, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := media.SplitResult{
				Probe: &media.Probe{Duration: 8},
				Video: &media.VideoSettings{Rungs: []media.Rung{{Name: "top", Short: tt.top}, {Name: "240p", Short: 240}}},
				Chunks: []media.ChunkSpec{
					{Chunk: media.Chunk{Index: 0, Start: 0, End: 4}, Source: "chunk_00000.nut"},
					{Chunk: media.Chunk{Index: 1, Start: 4, End: 8}, Source: "chunk_00001.nut"},
				},
				Audio: &media.AudioSpec{Source: "audio.nut"},
			}
			result, err := json.Marshal(job)
			if err != nil {
				t.Fatal(err)
			}
			tasks, rungs, err := plannedTasks(scheduler.TaskInfo{Job: "j1"}, 1, result, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rungs, []string{"top", "240p"}; !slices.Equal(got, want) {
				t.Errorf("rungs = %v, want %v", got, want)
			}
			if len(tasks) != 3 {
				t.Fatalf("got %d tasks, want 2 encodes and the audio", len(tasks))
			}
			for _, task := range tasks {
				want := tt.want
				if task.Kind != scheduler.KindEncode {
					want = nil
				}
				if !slices.Equal(task.Prefer, want) {
					t.Errorf("%s prefers %v, want %v", task.ID, task.Prefer, want)
				}
				if task.Kind == scheduler.KindEncode && task.MediaSeconds != 4 {
					t.Errorf("%s covers %v s, want 4", task.ID, task.MediaSeconds)
				}
			}
		})
	}
}
