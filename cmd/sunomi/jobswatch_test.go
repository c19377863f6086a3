package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
)

// watchUpdates are the events of a short job as `jobs watch` receives them: a repeated
// update, the rungs appearing after the split, progress, the end.
var watchUpdates = []wire.Job{
	{ID: "j1", State: scheduler.JobSplitting},
	{ID: "j1", State: scheduler.JobSplitting},
	{ID: "j1", State: scheduler.JobEncoding, ChunksTotal: 2, Rungs: []wire.RungProgress{
		{Name: "720p", FramesTotal: 100}, {Name: "360p", FramesTotal: 100}}},
	{ID: "j1", State: scheduler.JobEncoding, ChunksTotal: 2, ChunksDone: 1, Rungs: []wire.RungProgress{
		{Name: "720p", FramesDone: 50, FramesTotal: 100}, {Name: "360p", FramesDone: 60, FramesTotal: 100}}},
	{ID: "j1", State: scheduler.JobDone, ChunksTotal: 2, ChunksDone: 2, Rungs: []wire.RungProgress{
		{Name: "720p", FramesDone: 100, FramesTotal: 100}, {Name: "360p", FramesDone: 100, FramesTotal: 100}}},
}

// TestProgressViewPlain: into a pipe or a file, one line per change and no escape sequence.
func TestProgressViewPlain(t *testing.T) {
	var out bytes.Buffer
	v := newProgressView(&out, false)
	for _, j := range watchUpdates {
		v.update(j)
	}
	want := []string{
		"job j1: splitting, chunks 0/0",
		"job j1: encoding, chunks 0/2, 720p 0%, 360p 0%",
		"job j1: encoding, chunks 1/2, 720p 50%, 360p 60%",
		"job j1: done, chunks 2/2, 720p 100%, 360p 100%",
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("escape sequences in plain output: %q", out.String())
	}
}

// TestProgressViewTerminal: on a terminal each update moves the cursor back over the block
// drawn before and redraws it, so the screen shows one block, the latest.
func TestProgressViewTerminal(t *testing.T) {
	var out bytes.Buffer
	v := newProgressView(&out, true)
	var frames []string // what each update wrote
	for _, j := range watchUpdates {
		before := out.Len()
		v.update(j)
		frames = append(frames, out.String()[before:])
	}
	// The first frame draws where the cursor is; each later one goes up by the lines the one
	// before drew: 1 (the state alone), 1, then 3.
	for i, wantUp := range []string{"", "\r\x1b[1A", "\r\x1b[1A", "\r\x1b[3A", "\r\x1b[3A"} {
		if !strings.HasPrefix(frames[i], wantUp+"\x1b[2K") {
			t.Errorf("update %d: %q, want it to start with %q and clear the line", i, frames[i], wantUp)
		}
		if !strings.HasSuffix(frames[i], "\x1b[J") {
			t.Errorf("update %d: %q, want it to clear what is left below", i, frames[i])
		}
	}
	if got, want := screen(out.String()), strings.Join(progressBlock(watchUpdates[len(watchUpdates)-1]), "\n"); got != want {
		t.Errorf("the terminal shows\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(frames[4], "  720p   [##############################] 100%  100/100 frames") {
		t.Errorf("last frame %q, want a full 720p bar", frames[4])
	}
}

// screen plays the escape sequences progressView writes on a blank terminal and returns the
// lines it shows.
func screen(s string) string {
	var lines []string
	row := 0
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, "\r"):
			s = s[1:]
		case strings.HasPrefix(s, "\x1b[2K"):
			s = s[len("\x1b[2K"):]
			if row < len(lines) {
				lines[row] = ""
			}
		case strings.HasPrefix(s, "\x1b[J"):
			s = s[len("\x1b[J"):]
			lines = lines[:min(row, len(lines))]
		case strings.HasPrefix(s, "\x1b["):
			end := strings.IndexByte(s, 'A')
			n := 0
			for _, c := range s[2:end] {
				n = n*10 + int(c-'0')
			}
			row -= n
			s = s[end+1:]
		default:
			end := strings.IndexAny(s, "\n\r\x1b")
			if end < 0 {
				end = len(s)
			}
			for row >= len(lines) {
				lines = append(lines, "")
			}
			lines[row] += s[:end]
			s = s[end:]
			if strings.HasPrefix(s, "\n") {
				row++
				s = s[1:]
			}
		}
	}
	return strings.Join(lines, "\n")
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
}
