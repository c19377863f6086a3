package postgres

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNoBinaries means FindBinDir found no PostgreSQL server binaries.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb and postgres): " +
	"install the Debian package postgresql (apt-get install postgresql), " +
	"or set SUNOMI_PG_BINDIR to the directory that holds them")

// FindBinDir returns the directory of the PostgreSQL server binaries: $SUNOMI_PG_BINDIR if set,
// else `pg_config --bindir` when that directory has initdb (on Debian, pg_config may come from
// libpq-dev without any server), else the newest /usr/lib/postgresql/<version>/bin.
func FindBinDir() (string, error) {
	return findBinDir(os.Getenv("SUNOMI_PG_BINDIR"), pgConfigBinDir, "/usr/lib/postgresql")
}

func findBinDir(env string, pgConfig func() string, distRoot string) (string, error) {
	if env != "" {
		if !hasServer(env) {
			return "", fmt.Errorf("SUNOMI_PG_BINDIR=%s has no initdb and postgres binaries", env)
		}
		return env, nil
	}
	if d := pgConfig(); d != "" && hasServer(d) {
		return d, nil
	}
	dirs, _ := filepath.Glob(filepath.Join(distRoot, "*", "bin"))
	// Newest first, comparing versions as numbers: 9.6 < 15 < 16.
	slices.SortFunc(dirs, func(a, b string) int {
		return -compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

// pgConfigBinDir asks pg_config on $PATH, returning "" when there is none or it fails.
func pgConfigBinDir() string {
	out, err := exec.Command("pg_config", "--bindir").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func hasServer(dir string) bool {
	return executable(filepath.Join(dir, "initdb")) && executable(filepath.Join(dir, "postgres"))
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// compareVersions compares dotted version numbers; a part that is not a number sorts lowest.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		na, nb := -1, -1
		if i < len(pa) {
			if n, err := strconv.Atoi(pa[i]); err == nil {
				na = n
			}
		}
		if i < len(pb) {
			if n, err := strconv.Atoi(pb[i]); err == nil {
				nb = n
			}
		}
		if na != nb {
			return na - nb
		}
	}
	return 0
}
