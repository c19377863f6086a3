package cluster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// A job owns its output prefix while it runs: its agents write under it and
// its clean-up deletes what they wrote there. Two live jobs never share
// one, nor nest one inside the other, so that no job's agents overwrite, and
// no job's clean-up deletes, what another job publishes.

// minOutputDepth is the fewest segments an output prefix has: "videos" alone
// would name every video of the platform.
const minOutputDepth = 2

// errOutputTaken refuses a prefix that overlaps a live job's.
var errOutputTaken = errors.New("output prefix taken")

// outputPrefix is the prefix a new job publishes under: the one the
// submitter named, or else "videos/{jobID}/hls".
func outputPrefix(requested, jobID string) (string, error) {
	if requested == "" {
		return "videos/" + jobID + "/hls", nil
	}
	prefix := strings.TrimSuffix(requested, "/")
	if err := storage.ValidateKey(prefix); err != nil {
		return "", fmt.Errorf("output %q must be a clean relative storage prefix such as videos/42/hls", requested)
	}
	if strings.Count(prefix, "/")+1 < minOutputDepth {
		return "", fmt.Errorf("output %q must have at least %d path segments, such as videos/42/hls", requested, minOutputDepth)
	}
	if root, _, _ := strings.Cut(layout.Job("_"), "/"); strings.HasPrefix(prefix, root+"/") {
		return "", fmt.Errorf("output %q lies under %s/, where the farm keeps its jobs' temporary files", requested, root)
	}
	return prefix, nil
}

// checkOutputFreeLocked refuses a prefix equal to, inside, or containing the
// output of a job that has not finished. The caller holds n.outputs, so
// that no other submission claims an overlapping prefix meanwhile.
func (n *Node) checkOutputFreeLocked(prefix string) error {
	for _, j := range n.fsm.Jobs() {
		if j.State.Finished() {
			continue
		}
		var how string
		switch {
		case j.Output == prefix:
			how = "is the output of"
		case strings.HasPrefix(prefix, j.Output+"/"):
			how = "lies inside the output " + j.Output + " of"
		case strings.HasPrefix(j.Output, prefix+"/"):
			how = "contains the output " + j.Output + " of"
		default:
			continue
		}
		return fmt.Errorf("output %q %s job %s, which has not finished: %w", prefix, how, j.ID, errOutputTaken)
	}
	return nil
}
