package cli

import (
	"log/slog"
	"testing"
)

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"debug", slog.LevelDebug, true},
		{"info", slog.LevelInfo, true},
		{"WARN", slog.LevelWarn, true},
		{"error", slog.LevelError, true},
		{"loud", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLogLevel(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseLogLevel(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
	if _, err := NewLogger("loud"); err == nil || err.Error() != `--log-level "loud": use debug, info, warn or error` {
		t.Errorf("NewLogger(\"loud\") error = %v, want the sentence naming the levels", err)
	}
	log, err := NewLogger("warn")
	if err != nil {
		t.Fatal(err)
	}
	if log.Enabled(t.Context(), slog.LevelInfo) || !log.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("NewLogger(\"warn\") logs info or drops warnings")
	}
}

func TestNewRegistryHasRuntimeAndProcessMetrics(t *testing.T) {
	families, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !have[name] {
			t.Errorf("no %s among the registry's metrics", name)
		}
	}
}
