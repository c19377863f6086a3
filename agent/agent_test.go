package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
)

// TestMain lets the test binary stand in for the agent binary: the agent
// under test re-executes it as `<test binary> run-task …`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "run-task" {
		os.Exit(runTaskMain(os.Args[2:], testRunTask))
	}
	os.Exit(m.Run())
}

// kindTest is a task kind that only the test binary's task processes know:
// it sleeps, allocates, fails or writes outputs on request, so that the
// agent's handling of slow, hungry and failing tasks can be tested without
// media. Every other kind goes to pipeline.RunTask.
const kindTest = "test"

type testSpec struct {
	Seconds   float64           `json:"seconds,omitempty"`
	Alloc     int64             `json:"alloc,omitempty"` // bytes to allocate first
	Error     string            `json:"error,omitempty"`
	Permanent bool              `json:"permanent,omitempty"`
	Write     map[string]string `json:"write,omitempty"` // output name → content
}

type testResult struct {
	Inputs map[string]string `json:"inputs"` // input name → content
	// Encoder is the encoder the task was told to use (pipeline.WithEncoder).
	Encoder string `json:"encoder,omitempty"`
}

func testRunTask(ctx context.Context, kind scheduler.TaskKind, spec json.RawMessage, inputs map[string]string, outDir string) (json.RawMessage, error) {
	if kind != kindTest {
		return pipeline.RunTask(ctx, kind, spec, inputs, outDir)
	}
	var s testSpec
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", pipeline.ErrPermanent, err)
	}
	if s.Alloc > 0 {
		// Address space is what the limit counts; the pages stay untouched.
		b := make([]byte, s.Alloc)
		b[0], b[len(b)-1] = 1, 1
		runtime.KeepAlive(b)
	}
	time.Sleep(time.Duration(s.Seconds * float64(time.Second)))
	if s.Error != "" {
		if s.Permanent {
			return nil, fmt.Errorf("%w: %s", pipeline.ErrPermanent, s.Error)
		}
		return nil, errors.New(s.Error)
	}
	for name, content := range s.Write {
		p := filepath.Join(outDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	res := testResult{Inputs: map[string]string{}, Encoder: pipeline.EncoderOf(ctx)}
	for name, p := range inputs {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		res.Inputs[name] = string(b)
	}
	return json.Marshal(res)
}

// testTask is an assignment of the test kind.
func testTask(t *testing.T, task string, s testSpec) wire.Assignment {
	return wire.Assignment{Task: task, Attempt: 1, Job: "job-1", Kind: kindTest, Spec: jsonOf(t, s), MediaSeconds: 1}
}

func refOf(a wire.Assignment) wire.AttemptRef {
	return wire.AttemptRef{Task: a.Task, Attempt: a.Attempt}
}

// writeTemp writes content into a file of the test's temporary directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func processGone(pid int) bool {
	// The agent has reaped it, so the PID is free (or reused, which a test
	// this short does not see).
	return syscall.Kill(pid, 0) != nil
}

func TestOutputsAreUploadedWithChecksums(t *testing.T) {
	f := newFakeCoordinator(t)
	f.putErrors = 2 // the storage refuses the first tries
	r := startAgent(t, f, nil)
	asg := testTask(t, "t1", testSpec{Write: map[string]string{"a.ts": "segment", "sub/b.jpg": "thumb", "empty": ""}})
	asg.Inputs = map[string]string{
		"source":          f.fileURL("src", writeTemp(t, "src", "the source")),
		"nested/dir/file": f.fileURL("other", writeTemp(t, "other", "another input")),
	}
	f.add(asg)
	rep := f.next(t, 30*time.Second)
	if rep.complete == nil {
		t.Fatalf("got %s, want complete", rep)
	}
	var res testResult
	if err := json.Unmarshal(rep.complete.Result, &res); err != nil {
		t.Fatal(err)
	}
	wantInputs := map[string]string{"source": "the source", "nested/dir/file": "another input"}
	if fmt.Sprint(res.Inputs) != fmt.Sprint(wantInputs) {
		t.Errorf("task saw inputs %v, want %v", res.Inputs, wantInputs)
	}
	var names []string
	for _, o := range rep.complete.Outputs {
		names = append(names, o.Name)
		b, ok := f.object(rep.ref(), o.Name)
		if !ok {
			t.Errorf("output %s listed but not uploaded", o.Name)
			continue
		}
		if o.Size != int64(len(b)) || o.SHA256 != sha(b) {
			t.Errorf("output %s: listed size %d sha256 %s, uploaded %d bytes with sha256 %s", o.Name, o.Size, o.SHA256, len(b), sha(b))
		}
	}
	if want := []string{"a.ts", "empty", "sub/b.jpg"}; !slices.Equal(names, want) {
		t.Errorf("outputs %v, want %v", names, want)
	}
	if b, _ := f.object(rep.ref(), "sub/b.jpg"); string(b) != "thumb" {
		t.Errorf("sub/b.jpg uploaded as %q, want %q", b, "thumb")
	}
	testkit.WaitFor(t, 5*time.Second, "the attempt to leave the heartbeats", func() bool {
		hbs := f.heartbeatsSoFar()
		return len(hbs[len(hbs)-1].Attempts) == 0
	})
	if leases := f.leasesSoFar(); leases[0].Free != 2 || leases[0].Agent.ID != "agent-1" || leases[0].Agent.Slots != 1 {
		t.Errorf("first lease %+v, want agent-1 with 1 slot asking for 2 (1 slot + 1 prefetch)", leases[0])
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Errorf("Run returned %v", err)
	}
}

// TestResolvedEncoderReachesTheTask: the encoder the coordinator resolved for
// this agent goes with the assignment to the task process.
func TestResolvedEncoderReachesTheTask(t *testing.T) {
	f := newFakeCoordinator(t)
	r := startAgent(t, f, nil)
	plain, hw := testTask(t, "t1", testSpec{}), testTask(t, "t2", testSpec{})
	hw.Encoder = media.EncoderNVENC
	for _, tc := range []struct {
		asg  wire.Assignment
		want string
	}{{plain, ""}, {hw, media.EncoderNVENC}} {
		f.add(tc.asg)
		rep := f.next(t, 30*time.Second)
		if rep.complete == nil {
			t.Fatalf("%s: got %s, want complete", tc.asg.Task, rep)
		}
		var res testResult
		if err := json.Unmarshal(rep.complete.Result, &res); err != nil {
			t.Fatal(err)
		}
		if res.Encoder != tc.want {
			t.Errorf("%s: the task ran with encoder %q, want %q", tc.asg.Task, res.Encoder, tc.want)
		}
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestTaskFailures(t *testing.T) {
	tests := []struct {
		name          string
		spec          testSpec
		edit          func(*Config)
		kill          bool // SIGKILL the task process once it runs
		wantError     string
		wantPrefix    bool // wantError is a prefix
		wantPermanent bool
	}{
		{name: "task error", spec: testSpec{Error: "encoder exploded"}, wantError: "encoder exploded"},
		{name: "permanent task error", spec: testSpec{Error: "not a video", Permanent: true},
			wantError: "permanent failure: not a video", wantPermanent: true},
		{name: "killed", spec: testSpec{Seconds: 30}, kill: true, wantError: "task process crashed: signal: killed"},
		{name: "timeout", spec: testSpec{Seconds: 30},
			edit: func(c *Config) {
				c.TaskTimeout = func(s float64) time.Duration {
					if s == 1 { // the sleeping task, not the one after it
						return 300 * time.Millisecond
					}
					return DefaultTaskTimeout(s)
				}
			},
			wantError: "task timed out after 300ms"},
		{name: "over the memory limit", spec: testSpec{Alloc: 4 << 30},
			edit:      func(c *Config) { c.MemoryLimit = 3 << 30 },
			wantError: "task process crashed: exit status 2: runtime: out of memory", wantPrefix: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "over the memory limit" && raceEnabled {
				t.Skip("the race detector needs more address space than the limit")
			}
			f := newFakeCoordinator(t)
			r := startAgent(t, f, tt.edit)
			asg := testTask(t, "t1", tt.spec)
			f.add(asg)
			ref := wire.AttemptRef{Task: "t1", Attempt: 1}
			if tt.kill {
				testkit.WaitFor(t, 10*time.Second, "the task process", func() bool { _, _, ok := r.started.pid(ref); return ok })
				pid, _, _ := r.started.pid(ref)
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			rep := f.next(t, 30*time.Second)
			if rep.fail == nil {
				t.Fatalf("got %s, want fail", rep)
			}
			got := rep.fail.Error
			if tt.wantPrefix && strings.HasPrefix(got, tt.wantError) {
				got = tt.wantError
			}
			if got != tt.wantError || rep.fail.Permanent != tt.wantPermanent {
				t.Errorf("got Fail{%q, permanent %v}, want {%q, %v}", rep.fail.Error, rep.fail.Permanent, tt.wantError, tt.wantPermanent)
			}
			if pid, _, ok := r.started.pid(ref); ok && !processGone(pid) {
				t.Errorf("task process %d still exists", pid)
			}
			// The agent survives and takes the next task.
			next := testTask(t, "t2", testSpec{})
			next.MediaSeconds = 2
			f.add(next)
			if rep := f.next(t, 30*time.Second); rep.complete == nil {
				t.Errorf("next task: got %s, want complete", rep)
			}
		})
	}
}

// TestMemoryLimitIsWhatKillsTheTask runs the allocation of the memory-limit
// case without a limit, so that the failure above is the limit's doing.
func TestMemoryLimitIsWhatKillsTheTask(t *testing.T) {
	f := newFakeCoordinator(t)
	startAgent(t, f, nil)
	f.add(testTask(t, "t1", testSpec{Alloc: 4 << 30}))
	if rep := f.next(t, 30*time.Second); rep.complete == nil {
		t.Errorf("without a memory limit: got %s, want complete", rep)
	}
}

func TestAbandonKillsTheTaskAndReportsNothing(t *testing.T) {
	f := newFakeCoordinator(t)
	r := startAgent(t, f, nil)
	ref := wire.AttemptRef{Task: "t1", Attempt: 1}
	f.add(testTask(t, "t1", testSpec{Seconds: 30}))
	testkit.WaitFor(t, 10*time.Second, "the task process", func() bool { _, _, ok := r.started.pid(ref); return ok })
	pid, _, _ := r.started.pid(ref)
	f.setAbandon(ref)
	testkit.WaitFor(t, 5*time.Second, "the task process to be killed", func() bool { return processGone(pid) })
	testkit.WaitFor(t, 5*time.Second, "the attempt to leave the heartbeats", func() bool {
		hbs := f.heartbeatsSoFar()
		return !slices.Contains(hbs[len(hbs)-1].Attempts, ref)
	})
	f.noReport(t, 500*time.Millisecond)
	// Its slot is free again.
	f.add(testTask(t, "t2", testSpec{}))
	if rep := f.next(t, 30*time.Second); rep.complete == nil || rep.ref().Task != "t2" {
		t.Errorf("got %s, want t2 complete", rep)
	}
}

func TestPrefetchDownloadsTheNextTaskWhileOneRuns(t *testing.T) {
	f := newFakeCoordinator(t)
	r := startAgent(t, f, func(c *Config) { c.Slots, c.Prefetch = 1, 1 })
	first := testTask(t, "first", testSpec{Seconds: 1.5})
	second := testTask(t, "second", testSpec{})
	second.Inputs = map[string]string{"chunk.nut": f.fileURL("chunk", writeTemp(t, "chunk", "chunk bytes"))}
	f.add(first)
	testkit.WaitFor(t, 10*time.Second, "the first task process", func() bool { _, _, ok := r.started.pid(refOf(first)); return ok })
	f.add(second)

	var reports []report
	for range 2 {
		rep := f.next(t, 30*time.Second)
		if rep.complete == nil {
			t.Fatalf("got %s, want complete", rep)
		}
		reports = append(reports, rep)
	}
	if reports[0].ref().Task != "first" {
		t.Fatalf("reports %v, want first before second (one slot)", reports)
	}
	fetched, ok := f.firstGet("chunk")
	if !ok {
		t.Fatal("second task's input was never downloaded")
	}
	_, firstStart, _ := r.started.pid(refOf(first))
	_, secondStart, _ := r.started.pid(refOf(second))
	if fetched.After(reports[0].at) || fetched.Before(firstStart) {
		t.Errorf("second input fetched at +%s, want while the first task ran (+0s to +%s)",
			fetched.Sub(firstStart), reports[0].at.Sub(firstStart))
	}
	if secondStart.Sub(firstStart) < 1500*time.Millisecond {
		t.Errorf("second task started %s after the first, want after the first's 1.5s (one slot)", secondStart.Sub(firstStart))
	}
	var both bool
	for _, hb := range f.heartbeatsSoFar() {
		both = both || len(hb.Attempts) == 2
	}
	if !both {
		t.Error("no heartbeat listed both the running and the queued attempt")
	}
}

func TestDrainHandsBackQueuedWorkAndFinishesRunningWork(t *testing.T) {
	f := newFakeCoordinator(t)
	r := startAgent(t, f, func(c *Config) { c.Slots, c.Prefetch = 1, 1 })
	running := testTask(t, "running", testSpec{Seconds: 1, Write: map[string]string{"out.ts": "x"}})
	queued := testTask(t, "queued", testSpec{})
	queued.Inputs = map[string]string{"in": f.fileURL("in", writeTemp(t, "in", "input"))}
	f.add(running)
	testkit.WaitFor(t, 10*time.Second, "the running task", func() bool { _, _, ok := r.started.pid(refOf(running)); return ok })
	f.add(queued)
	testkit.WaitFor(t, 10*time.Second, "the queued task's input", func() bool { _, got := f.firstGet("in"); return got })
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop(t, 30*time.Second) }()

	first := f.next(t, 10*time.Second)
	if first.fail == nil || first.ref().Task != "queued" || first.fail.Error != "agent draining" || first.fail.Permanent {
		t.Fatalf("first report %s, want the queued task handed back: fail \"agent draining\", not permanent", first)
	}
	second := f.next(t, 10*time.Second)
	if second.complete == nil || second.ref().Task != "running" {
		t.Fatalf("second report %s, want the running task complete", second)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run returned %v after a drain, want nil", err)
	}
	var draining bool
	for _, hb := range f.heartbeatsSoFar() {
		draining = draining || hb.Draining
	}
	if !draining {
		t.Error("no heartbeat said the agent was draining")
	}
	if _, _, ok := r.started.pid(refOf(queued)); ok {
		t.Error("the queued task was started during the drain")
	}
}

func TestDrainTimeoutStopsRunningWork(t *testing.T) {
	f := newFakeCoordinator(t)
	r := startAgent(t, f, func(c *Config) { c.DrainTimeout = 300 * time.Millisecond })
	asg := testTask(t, "slow", testSpec{Seconds: 60})
	f.add(asg)
	testkit.WaitFor(t, 10*time.Second, "the task process", func() bool { _, _, ok := r.started.pid(refOf(asg)); return ok })
	start := time.Now()
	if err := r.stop(t, 20*time.Second); err != nil {
		t.Errorf("Run returned %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %s to return with a 300ms drain timeout", d)
	}
	rep := f.next(t, time.Second)
	if rep.fail == nil || rep.fail.Error != "agent stopped before the task finished" || rep.fail.Permanent {
		t.Errorf("got %s, want fail \"agent stopped before the task finished\", not permanent", rep)
	}
	pid, _, _ := r.started.pid(refOf(asg))
	if !processGone(pid) {
		t.Errorf("task process %d survived the agent", pid)
	}
}

func TestUnreachableCoordinatorIsRetried(t *testing.T) {
	f := newFakeCoordinator(t)
	dead := newFakeCoordinator(t)
	dead.srv.Close()
	r := startAgent(t, f, func(c *Config) { c.Coordinators = []string{dead.srv.URL} })
	time.Sleep(700 * time.Millisecond) // a few failed leases and heartbeats
	select {
	case <-r.done:
		t.Fatalf("Run returned %v while the coordinator was down", r.err)
	default:
	}
	r.agent.SetCoordinators([]string{dead.srv.URL, f.srv.URL})
	f.add(testTask(t, "t1", testSpec{}))
	if rep := f.next(t, 30*time.Second); rep.complete == nil {
		t.Errorf("got %s, want complete once a coordinator is reachable", rep)
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no node id", Config{DataDir: "d", Coordinators: []string{"c"}}, "node ID"},
		{"no data dir", Config{NodeID: "n", Coordinators: []string{"c"}}, "data directory"},
		{"no coordinator", Config{NodeID: "n", DataDir: "d"}, "coordinator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error about the %s", err, tt.want)
			}
		})
	}
	a, err := New(Config{NodeID: "n", DataDir: "d", Join: []string{"10.0.0.1:7946"}})
	if err != nil {
		t.Fatalf("a config with gossip addresses only: %v", err)
	}
	if a.cfg.Slots != 1 || a.cfg.Prefetch != 1 || a.cfg.LeaseWait != 20*time.Second || a.cfg.Heartbeat != 2*time.Second ||
		a.cfg.DrainTimeout != 5*time.Minute || a.cfg.TaskTimeout(10) != 2*time.Minute+200*time.Second ||
		a.cfg.TaskTimeout(0) != time.Hour {
		t.Errorf("defaults: %+v", a.cfg)
	}
}

func TestRunTaskMain(t *testing.T) {
	dir := t.TempDir()
	write := func(task taskFile) string {
		p := filepath.Join(dir, "task.json")
		if err := os.WriteFile(p, jsonOf(t, task), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		args     func() []string
		wantCode int
		want     resultFile
	}{
		{"missing flags", func() []string { return []string{"--spec", "x"} }, exitUsage, resultFile{}},
		{"unreadable task file", func() []string {
			return []string{"--spec", filepath.Join(dir, "nope.json"), "--out", dir, "--result", filepath.Join(dir, "r.json")}
		}, exitUsage, resultFile{}},
		{"success", func() []string {
			return []string{"--spec", write(taskFile{Kind: kindTest, Spec: jsonOf(t, testSpec{})}), "--out", filepath.Join(dir, "out"),
				"--result", filepath.Join(dir, "r.json")}
		}, exitOK, resultFile{Result: json.RawMessage(`{"inputs":{}}`)}},
		{"invalid media is permanent", func() []string {
			src := writeTemp(t, "text.mp4", strings.Repeat("not a video\n", 100))
			task := taskFile{Kind: scheduler.KindSplit, Spec: json.RawMessage(`{}`), Inputs: map[string]string{media.SplitInput: src}}
			return []string{"--spec", write(task), "--out", filepath.Join(dir, "out"), "--result", filepath.Join(dir, "r.json")}
		}, exitTaskError, resultFile{Permanent: true}},
		{"unknown kind is permanent", func() []string {
			return []string{"--spec", write(taskFile{Kind: "transmogrify"}), "--out", filepath.Join(dir, "out"), "--result", filepath.Join(dir, "r.json")}
		}, exitTaskError, resultFile{Error: `permanent failure: unknown task kind "transmogrify"`, Permanent: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.Remove(filepath.Join(dir, "r.json"))
			if code := runTaskMain(tt.args(), testRunTask); code != tt.wantCode {
				t.Fatalf("exit status %d, want %d", code, tt.wantCode)
			}
			if tt.wantCode == exitUsage {
				return
			}
			var got resultFile
			b, err := os.ReadFile(filepath.Join(dir, "r.json"))
			if err == nil {
				err = json.Unmarshal(b, &got)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Error == "" && got.Error != "" && tt.want.Permanent {
				got.Error = "" // the pipeline's sentence; only its permanence matters here
			}
			if string(got.Result) != string(tt.want.Result) || got.Error != tt.want.Error || got.Permanent != tt.want.Permanent {
				t.Errorf("result %s, want %s", b, jsonOf(t, tt.want))
			}
		})
	}
}

func TestCrashLine(t *testing.T) {
	tests := []struct{ out, want string }{
		{"", ""},
		{"some libav noise\nlast words\n", "last words"},
		{"fatal error: out of memory\n\ngoroutine 1 [running]:\nmain.main()\n", "fatal error: out of memory"},
		{"panic: runtime error: index out of range\n\ngoroutine 1\n", "panic: runtime error: index out of range"},
	}
	for _, tt := range tests {
		if got := crashLine(tt.out); got != tt.want {
			t.Errorf("crashLine(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

func TestMemoryLimitSparesHardwareEncodes(t *testing.T) {
	encode := func(enc string) wire.Assignment {
		return wire.Assignment{Kind: scheduler.KindEncode, Spec: jsonOf(t, media.EncodeSpec{
			Video: media.VideoSettings{H264: media.H264Settings{Encoder: enc}}})}
	}
	resolved := func(asg wire.Assignment, enc string) wire.Assignment { asg.Encoder = enc; return asg }
	const limit = 4 << 30
	tests := []struct {
		name     string
		encoders []string
		asg      wire.Assignment
		want     int64
	}{
		{"software agent, split", []string{media.EncoderX264}, wire.Assignment{Kind: scheduler.KindSplit}, limit},
		{"software agent, encode", []string{media.EncoderX264}, encode(media.EncoderX264), limit},
		{"gpu agent, split opens no encoder", []string{media.EncoderX264, media.EncoderNVENC}, wire.Assignment{Kind: scheduler.KindSplit}, limit},
		{"gpu agent, nvenc encode", []string{media.EncoderX264, media.EncoderNVENC}, encode(media.EncoderNVENC), 0},
		{"gpu agent, auto resolved here to nvenc", []string{media.EncoderX264, media.EncoderNVENC}, encode(media.EncoderAuto), 0},
		{"gpu agent, the coordinator resolved x264", []string{media.EncoderX264, media.EncoderNVENC}, resolved(encode(media.EncoderAuto), media.EncoderX264), limit},
		{"gpu agent, the coordinator resolved nvenc", []string{media.EncoderX264, media.EncoderNVENC}, resolved(encode(media.EncoderX264), media.EncoderNVENC), 0},
		{"gpu agent, x264 encode", []string{media.EncoderX264, media.EncoderNVENC}, encode(media.EncoderX264), limit},
		{"gpu agent, audio", []string{media.EncoderX264, media.EncoderQSV}, wire.Assignment{Kind: scheduler.KindAudio}, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Agent{cfg: Config{MemoryLimit: limit, Encoders: tt.encoders}}
			if got := a.memoryLimitFor(tt.asg); got != tt.want {
				t.Errorf("limit %d, want %d", got, tt.want)
			}
		})
	}
}
