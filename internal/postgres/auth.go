package postgres

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// writeHBA replaces the cluster's pg_hba.conf with hbaConf, owned by the server's user.
func writeHBA(dataDir string, u *osUser) error {
	path := filepath.Join(dataDir, "pg_hba.conf")
	if err := os.WriteFile(path, []byte(hbaConf), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if u != nil {
		if err := os.Chown(path, int(u.uid), int(u.gid)); err != nil {
			return fmt.Errorf("give %s to user %s: %w", path, u.name, err)
		}
	}
	return nil
}

// setPassword sets the superuser's password in single-user mode, with no server running and
// no connection to authenticate: it works on a new cluster, on one made before passwords, and
// after the password was changed (a new secrets file), alike. It takes a fraction of a second.
func setPassword(ctx context.Context, binDir, dataDir string, u *osUser, password string) error {
	// A string literal: single quotes doubled. E'' escapes are off with standard strings.
	stmt := "ALTER ROLE " + Superuser + " PASSWORD '" + strings.ReplaceAll(password, "'", "''") + "'\n"
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--single", "-D", dataDir, "-c", "log_line_prefix=", Superuser)
	cmd.Dir = dataDir
	cmd.Stdin = strings.NewReader(stmt)
	cmd.SysProcAttr = sysProcAttr(u)
	out, err := cmd.CombinedOutput()
	// Single-user mode reports a failed statement on its output and exits 0 nonetheless.
	if err == nil && bytes.Contains(out, []byte("ERROR:")) {
		err = fmt.Errorf("the statement failed")
	}
	if err != nil {
		// The output never holds the password: single-user mode does not echo statements.
		return fmt.Errorf("set the postgres password in %s: %w; its output:\n%s", dataDir, err, bytes.TrimSpace(out))
	}
	return nil
}
