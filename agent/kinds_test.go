package agent

import (
	"testing"

	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
)

// The coordinator names a task's kind in the domain's vocabulary and the
// task process dispatches on the pipeline's names: they must be the same
// strings.
func TestTaskKindsMatchThePipeline(t *testing.T) {
	for kind, name := range map[scheduler.TaskKind]string{
		scheduler.KindSplit: pipeline.KindSplit, scheduler.KindEncode: pipeline.KindEncode,
		scheduler.KindAudio: pipeline.KindAudio, scheduler.KindStitch: pipeline.KindStitch,
	} {
		if string(kind) != name {
			t.Errorf("scheduler kind %q, pipeline kind %q", kind, name)
		}
	}
}
