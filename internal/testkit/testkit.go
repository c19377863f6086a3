// Package testkit holds the few helpers that the tests and test harnesses of every package
// reach for: waiting for a condition under a deadline, free loopback ports for the servers a
// test starts, the end of a long output to show when something failed, and the real commands,
// built once (Build) or run by their own test binary (Command). One of each, so that every test
// waits, picks ports, quotes output and starts commands the same way.
package testkit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sunomi/sunomi/internal/syncbuf"
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

// FreeAddrs returns n distinct HOST:PORTs on ip that nothing listens on right now. The ports
// are held open together while they are picked, so the kernel cannot hand out one twice; a
// test must still start its servers soon, before something else takes them.
func FreeAddrs(tb testing.TB, ip string, n int) []string {
	tb.Helper()
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			tb.Fatalf("find a free port on %s: %v", ip, err)
		}
		defer ln.Close() // held until all n are picked
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// FreeAddr returns a HOST:PORT on ip that nothing listens on right now.
func FreeAddr(tb testing.TB, ip string) string {
	tb.Helper()
	return FreeAddrs(tb, ip, 1)[0]
}

// Tail returns the end of a long output, where a failed process says what went wrong: at
// most the last max bytes of s, from the start of a line when a line starts in them, after a
// "…" that says the beginning was left out. A short s comes back whole.
func Tail(s string, max int) string {
	if len(s) <= max {
		return s
	}
	end := s[len(s)-max:]
	if i := strings.IndexByte(end, '\n'); i >= 0 && i < len(end)-1 {
		return "…\n" + end[i+1:]
	}
	// One long line: cut it, but not inside a character.
	for len(end) > 0 && !utf8.RuneStart(end[0]) {
		end = end[1:]
	}
	return "…" + end
}

// commandEnv marks a test binary that Command started: it is to be the command, not its tests.
const commandEnv = "SUNOMI_TESTKIT_RUN_MAIN"

// RunAsCommand, called first in the TestMain of a command's package, runs the command's main
// and exits when Command started this test binary. The tests of a command so start the real
// command in a process of its own (exit statuses, signals, output) without building it, and a
// command that re-executes itself (the agent's task processes) reaches its main again too.
func RunAsCommand(main func()) {
	if os.Getenv(commandEnv) == "1" {
		main()
		os.Exit(0)
	}
}

// Command prepares the command whose package is under test, run by its own test binary (see
// RunAsCommand) with args, in this environment less the variables Sunomi's commands read
// (SUNOMI_*, GITHUB_*, DATABASE_URL), plus env. Its output, standard and error, collects in
// the buffer.
func Command(tb testing.TB, env []string, args ...string) (*exec.Cmd, *syncbuf.Buffer) {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("find the test binary: %v", err)
	}
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SUNOMI_") && !strings.HasPrefix(name, "GITHUB_") && name != "DATABASE_URL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, commandEnv+"=1"), env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

// Failure runs fn, a call of a test helper, with a testing.TB whose Fatal and Fatalf end fn as
// testing.T's do, and returns what it failed with ("" when it did not fail), so that the tests
// of a test helper can check how it fails. The rest of tb's methods are tb's own.
func Failure(tb testing.TB, fn func(tb testing.TB)) string {
	tb.Helper()
	f := &failureTB{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

// failureTB is Failure's testing.TB.
type failureTB struct {
	testing.TB
	msg string // written by fn's goroutine before done is closed, read after
}

func (f *failureTB) Helper() {}

func (f *failureTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *failureTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
