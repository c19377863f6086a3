package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

func newJobsWatchCmd(ff *farmFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a job live, with a progress bar per rung, until it finishes",
		Long: `Follow a job live until it finishes. On a terminal a bar per rung is redrawn in place;
into a pipe or a file (CI logs) a line is printed each time the progress changes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ff.client()
			if err != nil {
				return err
			}
			return watchJob(cmd.Context(), c, args[0], cmd.OutOrStdout())
		},
	}
}

// watchJob shows the job's progress after every change until it finishes;
// a failed job is an error carrying its reason.
func watchJob(ctx context.Context, c *client.Client, id string, w io.Writer) error {
	var last wire.Job
	view := newProgressView(w, isTerminal(w))
	err := c.WatchJob(ctx, id, func(ev wire.Event) error {
		last = ev.Job
		view.update(ev.Job)
		return nil
	})
	if err != nil {
		return err
	}
	switch last.State {
	case scheduler.JobFailed:
		return fmt.Errorf("job %s failed: %s", id, last.Error)
	case scheduler.JobCanceled:
		return fmt.Errorf("job %s was canceled", id)
	}
	if last.AV1Job != "" {
		// The H.264 ladder is published; the AV1 rungs come after it.
		fmt.Fprintf(w, "AV1 rungs: job %s adds them to the ladder as each completes (sunomi jobs watch %s)\n", last.AV1Job, last.AV1Job)
	}
	return nil
}

// isTerminal reports whether w is a terminal, where escape sequences move the cursor.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// ANSI escape sequences of the in-place view.
const (
	cursorUp   = "\x1b[%dA" // up n lines, same column
	clearLine  = "\x1b[2K"  // the whole line
	clearBelow = "\x1b[J"   // from the cursor to the end of the screen
)

// progressView shows a job's progress on a writer: on a terminal the block of bars is
// redrawn over the previous one; elsewhere each change is one plain line, and an update
// that changes nothing prints nothing, so logs stay short.
type progressView struct {
	w     io.Writer
	tty   bool
	drawn int    // lines of the block on screen (tty)
	last  string // the last line printed (not tty)
}

func newProgressView(w io.Writer, tty bool) *progressView {
	return &progressView{w: w, tty: tty}
}

func (v *progressView) update(j wire.Job) {
	if !v.tty {
		line := progressLine(j)
		if line != v.last {
			fmt.Fprintln(v.w, line)
			v.last = line
		}
		return
	}
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\r"+cursorUp, v.drawn)
	}
	lines := progressBlock(j)
	for _, l := range lines {
		b.WriteString(clearLine + l + "\n")
	}
	// A shorter block than the last (the rungs are known once the split ends, an error line
	// goes away) leaves no stale line below it.
	b.WriteString(clearBelow)
	v.drawn = len(lines)
	fmt.Fprint(v.w, b.String())
}

// progressBlock is the terminal view: the state, then a bar per rung.
func progressBlock(j wire.Job) []string {
	lines := []string{fmt.Sprintf("job %s: %s, chunks %d/%d", j.ID, j.State, j.ChunksDone, j.ChunksTotal)}
	for _, r := range j.Rungs {
		frac := rungFraction(r)
		const width = 30
		full := int(frac * width)
		lines = append(lines, fmt.Sprintf("  %-6s [%s%s] %3.0f%%  %d/%d frames", r.Name, strings.Repeat("#", full),
			strings.Repeat(".", width-full), 100*frac, r.FramesDone, r.FramesTotal))
	}
	if j.Error != "" {
		lines = append(lines, "  error: "+j.Error)
	}
	return lines
}

// progressLine is the view of one change as a single line, for pipes and logs.
func progressLine(j wire.Job) string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %s: %s, chunks %d/%d", j.ID, j.State, j.ChunksDone, j.ChunksTotal)
	for _, r := range j.Rungs {
		fmt.Fprintf(&b, ", %s %.0f%%", r.Name, 100*rungFraction(r))
	}
	if j.Error != "" {
		fmt.Fprintf(&b, "; error: %s", j.Error)
	}
	return b.String()
}

func rungFraction(r wire.RungProgress) float64 {
	if r.FramesTotal <= 0 {
		return 0
	}
	return min(float64(r.FramesDone)/float64(r.FramesTotal), 1)
}
