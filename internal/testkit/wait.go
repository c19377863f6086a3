package testkit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// PollInterval is how often Poll and WaitFor try their condition: often enough that a test
// hardly waits longer than it must, seldom enough that a condition which asks a server or a
// database does not keep the machine busy.
const PollInterval = 50 * time.Millisecond

// Poll tries cond every PollInterval until it holds, and gives up when timeout has passed: the
// error then says how long it waited and what cond last returned, so a harness can tell why
// the condition never held. cond's error says why it does not hold yet, and is ignored once it
// holds; an error made by Stop ends the wait at once.
func Poll(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := cond()
		if done {
			return nil
		}
		var stop stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("timed out after %s (last error: %w)", timeout, err)
			}
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(PollInterval)
	}
}

// Stop marks the error of a condition that can no longer hold (the process to wait for has
// exited): Poll returns err at once instead of trying until its timeout.
func Stop(err error) error { return stopError{err} }

type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }

// WaitFor waits until cond holds, failing tb when timeout passes first; what names the
// condition in the failure ("the agent to register").
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if err := Poll(timeout, func() (bool, error) { return cond(), nil }); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}
