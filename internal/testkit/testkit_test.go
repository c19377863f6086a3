package testkit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	RunAsCommand(fakeCommand)
	os.Exit(m.Run())
}

// fakeCommand is the "command" of this package's test binary: it shows its arguments and
// what it sees of the variables Command filters, and exits with a status of its own.
func fakeCommand() {
	fmt.Printf("args %q\n", os.Args[1:])
	for _, name := range []string{"SUNOMI_LEAK", "GITHUB_LEAK", "DATABASE_URL", "SUNOMI_GIVEN", "TESTKIT_KEPT"} {
		if v, ok := os.LookupEnv(name); ok {
			fmt.Printf("%s=%s\n", name, v)
		}
	}
	os.Exit(3)
}

func TestPoll(t *testing.T) {
	t.Run("returns once cond holds", func(t *testing.T) {
		calls := 0
		err := Poll(time.Minute, func() (bool, error) {
			calls++
			return calls == 3, nil
		})
		if err != nil || calls != 3 {
			t.Errorf("Poll = %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("times out with the last error", func(t *testing.T) {
		calls := 0
		err := Poll(3*PollInterval, func() (bool, error) {
			calls++
			return false, fmt.Errorf("attempt %d refused", calls)
		})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("attempt %d refused", calls)) {
			t.Errorf("Poll = %v, want a timeout naming attempt %d", err, calls)
		}
		if calls < 2 {
			t.Errorf("cond called %d times, want it tried again before giving up", calls)
		}
	})
	t.Run("ignores the error once cond holds", func(t *testing.T) {
		if err := Poll(time.Minute, func() (bool, error) { return true, errors.New("stale") }); err != nil {
			t.Errorf("Poll = %v, want nil", err)
		}
	})
	t.Run("stops at once at Stop", func(t *testing.T) {
		calls := 0
		exited := errors.New("the server exited")
		err := Poll(time.Minute, func() (bool, error) {
			calls++
			if calls == 2 {
				return false, Stop(exited)
			}
			return false, errors.New("not yet")
		})
		if err != exited || calls != 2 {
			t.Errorf("Poll = %v after %d calls, want %v itself after 2", err, calls, exited)
		}
	})
	t.Run("times out without an error", func(t *testing.T) {
		err := Poll(PollInterval, func() (bool, error) { return false, nil })
		if err == nil || !strings.HasPrefix(err.Error(), "timed out after") {
			t.Errorf("Poll = %v, want a timeout", err)
		}
	})
}

func TestWaitFor(t *testing.T) {
	calls := 0
	msg := Failure(t, func(tb testing.TB) {
		WaitFor(tb, time.Minute, "the kettle to boil", func() bool { calls++; return calls == 2 })
	})
	if msg != "" || calls != 2 {
		t.Errorf("WaitFor failed with %q after %d calls on a condition that held at the second", msg, calls)
	}
	msg = Failure(t, func(tb testing.TB) {
		WaitFor(tb, PollInterval, "the kettle to boil", func() bool { return false })
	})
	if !strings.HasPrefix(msg, "waiting for the kettle to boil: timed out after ") {
		t.Errorf("WaitFor failed with %q, want a timeout naming what it waited for", msg)
	}
}

func TestFailure(t *testing.T) {
	tests := []struct {
		name string
		fn   func(tb testing.TB)
		want string
	}{
		{"no failure", func(tb testing.TB) { tb.Helper() }, ""},
		{"Fatal", func(tb testing.TB) { tb.Fatal("broken ", 1) }, "broken 1"},
		{"Fatalf ends the helper", func(tb testing.TB) {
			tb.Fatalf("broken %d", 2)
			panic("not reached")
		}, "broken 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Failure(t, tt.fn); got != tt.want {
				t.Errorf("Failure = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFreeAddrs(t *testing.T) {
	addrs := FreeAddrs(t, "127.0.0.1", 5)
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Errorf("%s handed out twice in %v", a, addrs)
		}
		seen[a] = true
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("listen on %s: %v", a, err)
			continue
		}
		ln.Close()
	}
	if len(addrs) != 5 {
		t.Errorf("%d addresses, want 5", len(addrs))
	}
	if a := FreeAddr(t, "127.0.0.1"); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("FreeAddr = %q, want a loopback HOST:PORT", a)
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		limit int
		want  string
	}{
		{"short output whole", "one\ntwo\n", 100, "one\ntwo\n"},
		{"cut at a line start", "first line\nsecond\nthird\n", 12, "…\nthird\n"},
		{"one long line cut", "abcdefghij", 4, "…ghij"},
		{"not inside a character", "ééééé", 5, "…éé"},
		{"newline last is no line start", "abcdef\n", 4, "…def\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tail(tt.s, tt.limit); got != tt.want {
				t.Errorf("Tail(%q, %d) = %q, want %q", tt.s, tt.limit, got, tt.want)
			}
		})
	}
}

func TestCommandRunsMainWithoutSunomiEnvironment(t *testing.T) {
	for _, kv := range []string{"SUNOMI_LEAK=x", "GITHUB_LEAK=x", "DATABASE_URL=x", "TESTKIT_KEPT=yes"} {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	cmd, out := Command(t, []string{"SUNOMI_GIVEN=1"}, "serve", "--fast")
	var exit *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("run: %v, want exit status 3 from the command's main; output:\n%s", err, out)
	}
	if got, want := out.String(), "args [\"serve\" \"--fast\"]\nSUNOMI_GIVEN=1\nTESTKIT_KEPT=yes\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}
