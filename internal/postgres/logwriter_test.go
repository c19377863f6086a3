package postgres

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogWriterLevels(t *testing.T) {
	var buf bytes.Buffer
	w := newLogWriter(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	// Written in pieces that split lines, as a pipe may deliver them.
	out := "LOG:  database system is ready to accept connections\n" +
		"ERROR:  relation \"nope\" does not exist at character 15\n" +
		"STATEMENT:  SELECT * FROM nope\n" +
		"WARNING:  there is no transaction in progress\n" +
		"\tcontinued\n" +
		"FATAL:  terminating connection\n"
	for i := 0; i < len(out); i += 7 {
		if _, err := w.Write([]byte(out[i:min(i+7, len(out))])); err != nil {
			t.Fatal(err)
		}
	}
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		_, rest, _ := strings.Cut(line, "level=")
		level, _, _ := strings.Cut(rest, " ")
		levels = append(levels, level)
	}
	if got, want := strings.Join(levels, " "), "INFO ERROR ERROR WARN WARN ERROR"; got != want {
		t.Errorf("levels = %s, want %s\nlog:\n%s", got, want, buf.String())
	}
	if got, want := w.Tail(), strings.TrimSpace(out); got != want {
		t.Errorf("Tail() = %q, want %q", got, want)
	}
}
