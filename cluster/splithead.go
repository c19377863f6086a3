package cluster

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// splitHead takes a running split attempt's head (POST /v1/agent/head): the
// first chunk's encode tasks join the job at once, reading the chunk the
// attempt already uploaded, so the first segment is encoded and published
// while the split reads the rest of the source. Only the attempt's own agent
// may report it, once per job (scheduler.SplitHead), with outputs it was
// granted and uploaded as reported.
func (n *Node) splitHead(w http.ResponseWriter, r *http.Request) {
	var h wire.SplitHead
	if !decode(w, r, &h) {
		return
	}
	if err := n.attemptAuthority(r.Context(), h.Agent, h.AttemptRef); err != nil {
		writeAgentError(w, err)
		return
	}
	// The scheduler refuses a head of any task but a split.
	info, _ := n.fsm.TaskInfo(h.Task)
	if err := n.verifyHeadOutputs(r.Context(), n.fsm.Granted(h.Task, h.Attempt), h.Outputs); err != nil {
		writeAgentError(w, err)
		return
	}
	// The split still holds its slot: the first chunk's parts go to the
	// slots free now.
	tasks, rungs, err := headTasks(info, h.Attempt, h.Result, h.Outputs, max(1, firstChunkParts(n.fsm.Agents())-1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "split head: "+err.Error())
		return
	}
	cmd := scheduler.SplitHead{Task: h.Task, Attempt: h.Attempt, Agent: h.Agent, Result: h.Result,
		NewTasks: tasks, Rungs: rungs, Now: time.Now()}
	if _, err := n.apply(r.Context(), scheduler.CmdSplitHead, cmd); err != nil {
		writeAgentError(w, err)
		return
	}
	n.log.Info("split head", "job_id", info.Job, "task", h.Task, "attempt", h.Attempt, "tasks", len(tasks))
	w.WriteHeader(http.StatusNoContent)
}

// verifyHeadOutputs accepts a head's outputs when each was granted to the
// attempt and is stored as reported; the attempt's Complete checks them
// again with the rest.
func (n *Node) verifyHeadOutputs(ctx context.Context, granted []scheduler.Grant, reported []wire.Object) error {
	var mine []scheduler.Grant
	for _, o := range reported {
		i := slices.IndexFunc(granted, func(g scheduler.Grant) bool { return g.Name == o.Name })
		if i < 0 {
			return fmt.Errorf("head output %q was not granted to the attempt: %w", o.Name, scheduler.ErrInvalidInput)
		}
		mine = append(mine, granted[i])
	}
	// In the order of the grants, which verifyOutputs compares with the
	// reported names sorted: a head uploads a chunk and the audio's start.
	slices.SortFunc(mine, func(a, b scheduler.Grant) int { return strings.Compare(a.Name, b.Name) })
	return n.verifyOutputs(ctx, mine, reported)
}

// headTasks plans a head's tasks from its split result: the first chunks'
// encode tasks (the first spread over up to parts tasks) and the audio up to
// the first chunk's end when the head extracted it, each reading a file the
// head reported as uploaded. The AV1 tasks, and the rest of the audio, come
// with the split's completion, which plans them over the whole source.
func headTasks(split scheduler.TaskInfo, n int, result []byte, outputs []wire.Object, parts int) ([]scheduler.NewTask, []string, error) {
	planned, rungs, err := plannedTasks(split, n, result, parts)
	if err != nil {
		return nil, nil, err
	}
	prefix := splitPrefix(split.Job, n)
	var tasks []scheduler.NewTask
	for _, nt := range planned {
		// A head without its audio file (Source "") only says the source
		// has audio.
		if _, placeholder := nt.Inputs[""]; nt.Kind == scheduler.KindEncodeAV1 || (nt.Kind == scheduler.KindAudio && placeholder) {
			continue
		}
		for _, key := range nt.Inputs {
			name := strings.TrimPrefix(key, prefix)
			if !slices.ContainsFunc(outputs, func(o wire.Object) bool { return o.Name == name }) {
				return nil, nil, fmt.Errorf("%s task %q reads %q, which the head did not upload", nt.Kind, nt.ID, name)
			}
		}
		tasks = append(tasks, nt)
	}
	if len(tasks) == 0 {
		return nil, nil, fmt.Errorf("the head plans no chunk")
	}
	return tasks, rungs, nil
}

// withoutHead leaves out of a split's planned tasks the encodes of the
// chunks its job's head added already: the split's Complete adds only the
// rest. By chunk, not by id: the head may have spread its first chunk over
// other parts than the completion would.
func (n *Node) withoutHead(jobID string, tasks []scheduler.NewTask) []scheduler.NewTask {
	j, ok := n.fsm.Job(jobID)
	if !ok {
		return tasks
	}
	headed := map[int]bool{}
	for _, t := range j.Tasks {
		if t.Kind == scheduler.KindEncode {
			headed[t.Index] = true
		}
	}
	return slices.DeleteFunc(tasks, func(nt scheduler.NewTask) bool { return nt.Kind == scheduler.KindEncode && headed[nt.Index] })
}
