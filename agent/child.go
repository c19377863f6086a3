package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/internal/growfile"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/scheduler"
)

// The task process protocol: the agent writes task.json, runs
//
//	<exe> run-task --spec task.json --out out/ --result result.json [--memory-limit BYTES]
//
// and the child writes result.json. Exit status 0 means success (result.json
// holds the result), 1 a task error (result.json says which and whether it
// is permanent); anything else, a signal included, is a crash.

// taskFile is task.json: what the child runs.
type taskFile struct {
	Kind scheduler.TaskKind `json:"kind"`
	Spec json.RawMessage    `json:"spec"`
	// Inputs map input names to local files.
	Inputs map[string]string `json:"inputs"`
	// Encoder is the H.264 encoder the coordinator resolved for this agent
	// (encode tasks); empty means the spec's.
	Encoder string `json:"encoder,omitempty"`
	// Growing names the split's source while the agent still downloads
	// it: the task process reads its progress on growingProgressFD and its
	// bytes on growingDataFD (see source.go).
	Growing string `json:"growing,omitempty"`
}

// resultFile is result.json: what the child did.
type resultFile struct {
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	Permanent bool            `json:"permanent,omitempty"`
}

// Exit statuses of a task process.
const (
	exitOK        = 0
	exitTaskError = 1
	exitUsage     = 2
)

// errTimedOut is the cause of a task context whose time limit ran out.
var errTimedOut = errors.New("task timed out")

// execute runs the task in a child process and waits for it, killing its
// process group when the task times out or the attempt is canceled. It
// releases the attempt's slot when the process is gone.
func (a *Agent) execute(att *attempt, inputs map[string]string, source *sourceDownload) outcome {
	defer func() { <-a.slots }()
	specPath := filepath.Join(att.dir, "task.json")
	resultPath := filepath.Join(att.dir, "result.json")
	outDir := filepath.Join(att.dir, "out")
	task := taskFile{Kind: att.asg.Kind, Spec: specForAttempt(att.asg), Inputs: inputs, Encoder: att.asg.Encoder}
	if source != nil {
		task.Growing = media.SplitInput
	}
	b, err := json.Marshal(task)
	if err != nil {
		return outcome{err: fmt.Errorf("encode task file: %w", err)}
	}
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		return outcome{err: fmt.Errorf("write task file: %w", err)}
	}

	timeout := a.cfg.TaskTimeout(att.asg.MediaSeconds)
	ctx, cancel := context.WithTimeoutCause(att.ctx, timeout, errTimedOut)
	defer cancel()
	args := []string{"run-task", "--spec", specPath, "--out", outDir, "--result", resultPath}
	limit := a.memoryLimitFor(att.asg)
	if limit > 0 {
		args = append(args, "--memory-limit", strconv.FormatInt(limit, 10))
	}
	if a.cfg.EncodeThreads > 0 {
		args = append(args, "--threads", strconv.Itoa(a.cfg.EncodeThreads))
	}
	cmd := exec.Command(a.cfg.Executable, args...)
	cmd.Dir = att.dir
	cmd.Env = os.Environ()
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); !set && limit > 0 {
		// Every glibc malloc arena reserves 64 MiB of address space, and
		// libav's threads would each get one: few arenas keep the limit for
		// what the task really uses.
		cmd.Env = append(cmd.Env, "MALLOC_ARENA_MAX=2")
	}
	// Its own process group, so a kill reaches anything it started; and
	// killed with the agent, so a dead agent leaves no orphan encodes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	tail := &tailBuffer{max: 16 << 10}
	total := estimateFrames(att.asg)
	cmd.Stdout = &progressWriter{rest: tail, report: func(done int64) {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.sendProgress(att, done, max(total, done)) }()
	}, head: func() { a.startHeadReport(att) }}
	cmd.Stderr = tail
	cmd.WaitDelay = 5 * time.Second
	var progress *os.File
	if source != nil {
		var err error
		if cmd.ExtraFiles, progress, err = source.pass(); err != nil {
			return outcome{err: err}
		}
		defer progress.Close()
	}
	start := time.Now()
	err = cmd.Start()
	if progress != nil {
		_ = cmd.ExtraFiles[0].Close() // the child's end of the pipe is the child's
	}
	if err != nil {
		return outcome{err: fmt.Errorf("start task process: %w", err)}
	}
	pid := cmd.Process.Pid
	if source != nil {
		stop := source.publish(ctx, progress)
		defer stop()
	}
	att.log.Info("task started", "pid", pid, "timeout", timeout.String())
	if a.onStart != nil {
		a.onStart(att.ref, pid)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.sendProgress(att, 0, total)
	}()

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		waitErr = <-waited
	}
	elapsed := time.Since(start)
	log := att.log.With("pid", pid, "duration_seconds", elapsed.Seconds())
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		log.Warn("task process killed", "error", cause)
		if errors.Is(cause, errTimedOut) {
			return outcome{err: fmt.Errorf("task timed out after %s", timeout)}
		}
		return outcome{err: cause}
	}
	code := -1
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		code = exitOK
	case errors.As(waitErr, &exitErr):
		code = exitErr.ExitCode() // -1 when killed by a signal
	}
	if code == exitOK || code == exitTaskError {
		var res resultFile
		b, err := os.ReadFile(resultPath)
		if err == nil {
			err = json.Unmarshal(b, &res)
		}
		switch {
		case err != nil:
			waitErr = fmt.Errorf("exit status %d without a result: %v", code, err)
		case code == exitOK && len(res.Result) > 0:
			log.Info("task finished")
			return outcome{result: res.Result}
		case code == exitTaskError && res.Error != "":
			log.Info("task failed", "error", res.Error, "permanent", res.Permanent)
			return outcome{err: errors.New(res.Error), permanent: res.Permanent}
		default:
			waitErr = fmt.Errorf("exit status %d with an incomplete result", code)
		}
	}
	if waitErr == nil {
		waitErr = errors.New("exited without a result")
	}
	msg := "task process crashed: " + waitErr.Error()
	if line := crashLine(tail.String()); line != "" {
		msg += ": " + line
	}
	log.Warn("task process crashed", "error", msg, "output", tail.String())
	return outcome{err: errors.New(msg)}
}

// memoryLimitFor is the address-space limit of a task's process. GPU
// drivers reserve address ranges far beyond what they use, which an
// address-space limit breaks, so encodes on a hardware encoder run without
// it: the one the coordinator resolved for this attempt, or, from a
// coordinator that resolves none, the spec's request as this agent would
// resolve it. Every other task opens no encoder and keeps the limit.
func (a *Agent) memoryLimitFor(asg wire.Assignment) int64 {
	if a.cfg.MemoryLimit <= 0 || asg.Kind != scheduler.KindEncode {
		return a.cfg.MemoryLimit
	}
	enc := asg.Encoder
	if enc == "" {
		var s media.EncodeSpec
		if json.Unmarshal(asg.Spec, &s) != nil {
			return a.cfg.MemoryLimit
		}
		enc = media.ChooseEncoder(s.Video.H264.Encoder, a.cfg.Encoders)
	}
	if media.Hardware(enc) {
		return 0
	}
	return a.cfg.MemoryLimit
}

// specForAttempt stamps the attempt number into encode and audio specs,
// whose output file names carry it, so that two attempts of a task never
// write the same object; the split planned every task as attempt 1. A spec
// that does not decode goes through unchanged for the task to reject.
func specForAttempt(asg wire.Assignment) json.RawMessage {
	var b []byte
	var err error
	switch asg.Kind {
	case scheduler.KindEncode, scheduler.KindEncodeAV1:
		var s media.EncodeSpec
		if err = json.Unmarshal(asg.Spec, &s); err == nil {
			s.Chunk.Attempt = asg.Attempt
			b, err = json.Marshal(s)
		}
	case scheduler.KindAudio:
		var s media.AudioSpec
		if err = json.Unmarshal(asg.Spec, &s); err == nil {
			s.Attempt = asg.Attempt
			b, err = json.Marshal(s)
		}
	default:
		return asg.Spec
	}
	if err != nil {
		return asg.Spec
	}
	return b
}

// crashLine picks the line of a crashed process's output that says why:
// a Go runtime's fatal error or panic, else the last line.
func crashLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	pick := lines[len(lines)-1]
	for _, l := range lines {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "runtime:") {
			pick = l
			break
		}
	}
	pick = strings.TrimSpace(pick)
	if len(pick) > 300 {
		pick = pick[:300] + "…"
	}
	return pick
}

// tailBuffer keeps the first and the last bytes a process writes.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 2*t.max {
		b := t.buf.Bytes()
		head := append([]byte(nil), b[:t.max/2]...)
		rest := append([]byte(nil), b[len(b)-t.max/2:]...)
		t.buf.Reset()
		t.buf.Write(head)
		t.buf.WriteString("\n…\n")
		t.buf.Write(rest)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// taskFunc runs one task; pipeline.RunTask in production.
type taskFunc func(ctx context.Context, kind scheduler.TaskKind, spec json.RawMessage, inputs map[string]string, outDir string) (json.RawMessage, error)

// RunTaskMain is the body of the hidden `run-task` subcommand that every
// binary hosting an agent must dispatch to: it runs one task as the agent's
// child process and returns the process's exit status. args are the
// subcommand's arguments (--spec, --out, --result, --memory-limit).
func RunTaskMain(args []string) int {
	return runTaskMain(args, pipeline.RunTask)
}

func runTaskMain(args []string, run taskFunc) int {
	fs := flag.NewFlagSet("run-task", flag.ContinueOnError)
	specPath := fs.String("spec", "", "task file written by the agent")
	outDir := fs.String("out", "", "directory the task writes its outputs into")
	resultPath := fs.String("result", "", "file the result or the error is written to")
	memLimit := fs.Int64("memory-limit", 0, "address-space limit in bytes (0: none)")
	threads := fs.Int("threads", 0, "rungs encoded at once (0: all)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *specPath == "" || *outDir == "" || *resultPath == "" {
		fmt.Fprintln(os.Stderr, "run-task: --spec, --out and --result are required")
		return exitUsage
	}
	if *memLimit > 0 {
		if err := limitMemory(*memLimit); err != nil {
			fmt.Fprintln(os.Stderr, "run-task:", err)
			return exitUsage
		}
	}
	avx.Quiet()
	var task taskFile
	b, err := os.ReadFile(*specPath)
	if err == nil {
		err = json.Unmarshal(b, &task)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "run-task: read task file:", err)
		return exitUsage
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "run-task:", err)
		return exitUsage
	}
	var res resultFile
	code := exitOK
	// Progress goes to stdout as "progress N" lines, read by the parent.
	var lastReport time.Time
	ctx := pipeline.WithThreads(context.Background(), *threads)
	ctx = pipeline.WithProgress(ctx, func(frames int64) {
		if time.Since(lastReport) >= progressInterval {
			lastReport = time.Now()
			fmt.Printf("%s%d\n", progressPrefix, frames)
		}
	})
	if task.Encoder != "" {
		ctx = pipeline.WithEncoder(ctx, task.Encoder)
	}
	if task.Growing != "" {
		progress, data := os.NewFile(growingProgressFD, "source progress"), os.NewFile(growingDataFD, "source")
		ctx = pipeline.WithGrowingSource(ctx, growfile.Follow(progress, data, task.Inputs[task.Growing]))
	}
	ctx = pipeline.WithHead(ctx, func(head json.RawMessage) error {
		return writeHead(filepath.Join(filepath.Dir(*resultPath), headFile), head)
	})
	result, err := run(ctx, task.Kind, task.Spec, task.Inputs, *outDir)
	if err != nil {
		res.Error, res.Permanent, code = err.Error(), pipeline.IsPermanent(err), exitTaskError
	} else {
		res.Result = result
	}
	if err := writeFileAtomic(*resultPath, res); err != nil {
		fmt.Fprintln(os.Stderr, "run-task: write result:", err)
		return exitUsage
	}
	return code
}

// limitMemory caps the process's address space, and asks the Go runtime to
// collect harder well before it reaches the cap.
func limitMemory(n int64) error {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &old); err != nil {
		return fmt.Errorf("read memory limit: %w", err)
	}
	lim := syscall.Rlimit{Cur: uint64(n), Max: old.Max}
	if lim.Cur > lim.Max {
		lim.Cur = lim.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
		return fmt.Errorf("set memory limit to %d bytes: %w", n, err)
	}
	debug.SetMemoryLimit(n / 2)
	return nil
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// The task process reports progress as "progress N" lines on its stdout,
// at most once per progressInterval.
const (
	progressPrefix   = "progress "
	progressInterval = time.Second
)

// progressWriter turns the task process's progress lines into reports and
// passes everything else on.
type progressWriter struct {
	rest   io.Writer
	report func(frames int64)
	// head is called for the line saying a split's head is in head.json.
	head    func()
	partial []byte
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i+1]
		w.partial = w.partial[i+1:]
		if string(line) == headLine && w.head != nil {
			w.head()
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(string(line), progressPrefix)), 10, 64); err == nil && bytes.HasPrefix(line, []byte(progressPrefix)) {
			w.report(n)
			continue
		}
		if _, err := w.rest.Write(line); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
