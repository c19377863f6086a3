package cli

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// ParseLogLevel reads a --log-level flag: debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return level, nil
}

// NewLogger is the logger a service logs with: text lines on stderr, from the --log-level
// flag's level up.
func NewLogger(logLevel string) (*slog.Logger, error) {
	level, err := ParseLogLevel(logLevel)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// NewRegistry is the registry a service's metrics go on, holding from the start those of the Go
// runtime (go_*) and of the process (process_*) that every Prometheus target is expected to
// have.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
