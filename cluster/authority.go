package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// An agent answers only for itself and its own attempts: the agent a request
// names must be the one its certificate names (actingAgent), and the
// attempt it reports on must be leased to that agent. The state machine
// decides the second again when it applies the command (see
// scheduler.ErrNotYourAttempt), so a check made here on a state that a
// newer entry overtook lets nothing through.

// errNoAgent refuses an agent request that does not say which agent sends it.
var errNoAgent = errors.New("the request names no agent: agents report as themselves (field \"agent\")")

// attemptAuthority checks that the caller may report on the attempt as agent.
func (n *Node) attemptAuthority(ctx context.Context, agent string, ref wire.AttemptRef) error {
	if err := actingAs(ctx, agent); err != nil {
		return err
	}
	at, ok := n.fsm.Attempt(ref.Task, ref.Attempt)
	if !ok {
		return fmt.Errorf("attempt %d of task %q: %w", ref.Attempt, ref.Task, scheduler.ErrNotFound)
	}
	return leasedTo(at, ref, agent)
}

// heartbeatAuthority checks that a heartbeat comes from the agent it names
// and keeps only that agent's attempts alive. Attempts the state machine
// does not know are left to the handler, which tells the agent to abandon
// them.
func (n *Node) heartbeatAuthority(ctx context.Context, hb wire.Heartbeat) error {
	if err := actingAs(ctx, hb.Agent); err != nil {
		return err
	}
	for _, ref := range hb.Attempts {
		if at, ok := n.fsm.Attempt(ref.Task, ref.Attempt); ok {
			if err := leasedTo(at, ref, hb.Agent); err != nil {
				return err
			}
		}
	}
	return nil
}

// actingAs checks that a request names its agent and that the caller may
// act as it.
func actingAs(ctx context.Context, agent string) error {
	if agent == "" {
		return errNoAgent
	}
	return actingAgent(ctx, agent)
}

// leasedTo refuses an attempt leased to another agent than agent.
func leasedTo(at scheduler.Attempt, ref wire.AttemptRef, agent string) error {
	if at.Agent != agent {
		return fmt.Errorf("attempt %d of task %q is leased to agent %q, not %q: %w", ref.Attempt, ref.Task, at.Agent, agent, scheduler.ErrNotYourAttempt)
	}
	return nil
}

// writeAgentError answers a refused agent request: 403 for an agent acting
// for another node, on another agent's attempt or on objects that are not
// its attempt's, 409 for outputs that do
// not match what storage holds, else as writeApplyError does.
func writeAgentError(w http.ResponseWriter, err error) {
	var other errNotThisAgent
	var mismatch *outputMismatchError
	switch {
	case errors.As(err, &other), errors.Is(err, scheduler.ErrNotYourAttempt), errors.Is(err, errForeignOutput):
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, errNoAgent):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &mismatch):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeApplyError(w, err)
	}
}

// outputMismatchError is an output whose stored object is missing or not
// what the agent reported.
type outputMismatchError struct{ msg string }

func (e *outputMismatchError) Error() string { return e.msg }

// verifyParallel bounds the outputs read back at once.
const verifyParallel = 8

// verifyOutputs accepts a completion only when the reported outputs are
// exactly the attempt's granted ones, and every object in storage has the
// size and SHA-256 the agent reported. The objects are read back: the
// storage backends keep no SHA-256 of their own.
func (n *Node) verifyOutputs(ctx context.Context, granted []scheduler.Grant, reported []wire.Object) error {
	names := make([]string, len(reported))
	for i, o := range reported {
		names[i] = o.Name
	}
	slices.Sort(names)
	want := make([]string, len(granted))
	for i, g := range granted {
		want[i] = g.Name
	}
	if !slices.Equal(names, want) {
		return fmt.Errorf("reported outputs [%s] are not the attempt's granted outputs [%s]: %w",
			strings.Join(names, " "), strings.Join(want, " "), scheduler.ErrInvalidInput)
	}
	keys := map[string]string{}
	for _, g := range granted {
		keys[g.Name] = g.Key
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(verifyParallel)
	for _, o := range reported {
		g.Go(func() error { return n.verifyObject(ctx, keys[o.Name], o) })
	}
	return g.Wait()
}

// verifyObject compares one stored object with its report.
func (n *Node) verifyObject(ctx context.Context, key string, o wire.Object) error {
	info, err := n.cfg.Store.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return &outputMismatchError{fmt.Sprintf("output %q was never uploaded", o.Name)}
	}
	if err != nil {
		return fmt.Errorf("check output %q: %w", o.Name, err)
	}
	if info.Size != o.Size {
		return &outputMismatchError{fmt.Sprintf("output %q is %d bytes in storage, but %d were reported", o.Name, info.Size, o.Size)}
	}
	rc, err := n.cfg.Store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read output %q back: %w", o.Name, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("read output %q back: %w", o.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, o.SHA256) {
		return &outputMismatchError{fmt.Sprintf("output %q in storage has SHA-256 %s, but %s was reported", o.Name, got, o.SHA256)}
	}
	return nil
}
