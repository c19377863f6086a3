// Package cli holds what Sunomi's commands share at their edge with the user and the
// operating system: the main every binary runs (signals, how an error is printed, how a process
// ends with a status of its own), the logger and metrics registry the services start with,
// flags bound to environment variables, and the readers of their list and size flags. It links
// no libav, so that the coordinator, which uses it too, builds without cgo.
package cli

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/sunomi/sunomi/storage"
)

// ExitCode ends the process with a status of its own and nothing printed: the task process
// protocol of the agents speaks through exit statuses. main maps it to os.Exit.
type ExitCode int

func (c ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// OneLine puts an error on the one line users get: some libraries (pgx) list every address
// they tried on a line of its own.
func OneLine(err error) string {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimSpace(err.Error()), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if s := b.String(); s != "" {
			if strings.HasSuffix(s, ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// SplitList reads a flag that lists items separated by commas ("a, b,c"): spaces around an
// item and empty items are dropped, so that "" is no item at all.
func SplitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// byteUnits are the suffixes ParseBytes knows, longest first.
var byteUnits = []struct {
	suffix string
	size   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseBytes reads a size flag such as "20GiB", "512MiB", "1.5G" (binary, as memory is
// counted) or "2000000000".
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	size := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, size = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.size
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(size) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size such as 4GiB, 512MiB or 0", s)
	}
	return int64(n * float64(size)), nil
}

// ParseUploadParts reads the --single-put-limit and --part-size flags of the commands that
// serve the API.
func ParseUploadParts(singlePutLimit, partSize string) (int64, int64, error) {
	limit, err := ParseBytes(singlePutLimit)
	if err != nil {
		return 0, 0, fmt.Errorf("--single-put-limit: %w", err)
	}
	part, err := ParseBytes(partSize)
	if err != nil {
		return 0, 0, fmt.Errorf("--part-size: %w", err)
	}
	if limit == 0 {
		return 0, 0, errors.New("--single-put-limit must be more than 0")
	}
	if part < storage.MinPartSize {
		return 0, 0, errors.New("--part-size must be at least 5MiB (S3's minimum)")
	}
	return limit, part, nil
}

// Version is the module version and VCS revision the binary was built from, as agents report
// it to the coordinators.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
