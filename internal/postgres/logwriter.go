package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// logWriter turns the server's output into slog records, a line each, at the level of the
// line's severity, and keeps the last lines for error messages. The server runs with an empty
// log_line_prefix, so a line starts with its severity ("LOG:  database system is ready").
type logWriter struct {
	logger *slog.Logger

	mu      sync.Mutex // guards the fields below: the copier writes, Start reads the tail
	partial []byte     // a line not yet ended
	level   slog.Level // of the last severity seen, for DETAIL, HINT and continuation lines
	tail    []string   // the last tailLines lines
}

const tailLines = 20

func newLogWriter(logger *slog.Logger) *logWriter {
	return &logWriter{logger: logger, level: slog.LevelInfo}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lineLocked(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *logWriter) lineLocked(line string) {
	if line == "" {
		return
	}
	if sev, _, ok := strings.Cut(line, ":  "); ok {
		if l, ok := severityLevels[sev]; ok {
			w.level = l
		}
	}
	level := w.level
	// Our own readiness probe connects while the server starts; its refusal is expected.
	if strings.Contains(line, "the database system is starting up") {
		level = slog.LevelDebug
	}
	w.logger.Log(context.Background(), level, "server output", "line", line)
	w.tail = append(w.tail, line)
	if len(w.tail) > tailLines {
		w.tail = w.tail[len(w.tail)-tailLines:]
	}
}

// Tail returns the last lines the server wrote.
func (w *logWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.tail, "\n")
}

// severityLevels maps PostgreSQL's message severities to slog levels; DETAIL, HINT, CONTEXT,
// STATEMENT and the like are absent on purpose: they keep their message's level.
var severityLevels = map[string]slog.Level{
	"DEBUG1": slog.LevelDebug, "DEBUG2": slog.LevelDebug, "DEBUG3": slog.LevelDebug,
	"DEBUG4": slog.LevelDebug, "DEBUG5": slog.LevelDebug,
	"LOG": slog.LevelInfo, "INFO": slog.LevelInfo, "NOTICE": slog.LevelInfo,
	"WARNING": slog.LevelWarn,
	"ERROR":   slog.LevelError, "FATAL": slog.LevelError, "PANIC": slog.LevelError,
}
