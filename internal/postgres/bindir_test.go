package postgres

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	// fake makes dir with the named executables.
	fake := func(dir string, names ...string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	full := fake(filepath.Join(root, "custom"), "initdb", "postgres")
	clientOnly := fake(filepath.Join(root, "client"), "psql", "pg_config")
	dist := filepath.Join(root, "dist")
	fake(filepath.Join(dist, "9.6", "bin"), "initdb", "postgres")
	v15 := fake(filepath.Join(dist, "15", "bin"), "initdb", "postgres")
	fake(filepath.Join(dist, "16", "bin"), "psql") // a client without the server
	empty := t.TempDir()

	for _, c := range []struct {
		name     string
		env      string
		pgConfig string
		distRoot string
		want     string
		wantErr  bool
	}{
		{name: "env wins", env: full, pgConfig: v15, distRoot: dist, want: full},
		{name: "env without binaries", env: clientOnly, distRoot: dist, wantErr: true},
		{name: "pg_config", pgConfig: full, distRoot: dist, want: full},
		{name: "pg_config of a client-only install", pgConfig: clientOnly, distRoot: dist, want: v15},
		{name: "newest server under the distribution root", distRoot: dist, want: v15},
		{name: "none", pgConfig: clientOnly, distRoot: empty, wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := findBinDir(c.env, func() string { return c.pgConfig }, c.distRoot)
			if c.wantErr {
				if err == nil {
					t.Fatalf("findBinDir = %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("findBinDir: %v", err)
			}
			if got != c.want {
				t.Errorf("findBinDir = %q, want %q", got, c.want)
			}
		})
	}
	if _, err := findBinDir("", func() string { return "" }, empty); !errors.Is(err, ErrNoBinaries) {
		t.Errorf("err = %v, want ErrNoBinaries", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int // sign
	}{
		{"15", "9.6", 1},
		{"9.6", "15", -1},
		{"16", "16", 0},
		{"15.1", "15", 1},
		{"devel", "9", -1},
	} {
		got := compareVersions(c.a, c.b)
		if (got > 0) != (c.want > 0) || (got < 0) != (c.want < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", c.a, c.b, got, c.want)
		}
	}
}
