package postgres

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// osUser is the unprivileged account the server runs as when we are root: PostgreSQL refuses
// to run as root, and CI and `make dev` do.
type osUser struct {
	name string
	uid  uint32
	gid  uint32
	gids []uint32 // every group, the primary one included
}

// serverUser returns the account to run initdb and postgres as: nil (ourselves) unless we are
// root, then the `postgres` system user the Debian package creates, else `nobody`.
func serverUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return newOSUser(u)
	}
	return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: found no postgres or nobody user to run it as: %w", errors.Join(errs...))
}

func newOSUser(u *user.User) (*osUser, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s has uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s has gid %q: %w", u.Username, u.Gid, err)
	}
	ou := &osUser{name: u.Username, uid: uint32(uid), gid: uint32(gid), gids: []uint32{uint32(gid)}}
	ids, _ := u.GroupIds() // without them we check, and run, with the primary group alone
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil && !slices.Contains(ou.gids, uint32(g)) {
			ou.gids = append(ou.gids, uint32(g))
		}
	}
	return ou, nil
}

// credential makes a child process run as u, with u's groups rather than root's.
func (u *osUser) credential() *syscall.Credential {
	if u == nil {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.gids}
}

// checkReachable returns an error naming the first directory above dir that u cannot search.
// The server chdirs into its data directory and creates its socket in dir, so every parent
// must be searchable by it; os.MkdirTemp and t.TempDir make 0700 directories owned by root,
// which are not. We do not chmod the parents ourselves: they are not ours to open up.
func checkReachable(dir string, u *osUser) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check %s: %w", p, err)
		}
		if !u.canSearch(fi) {
			return fmt.Errorf("postgres runs as user %s, which cannot reach %s: the directory %s (%v) is not searchable by it; "+
				"put the cluster elsewhere or make that directory searchable (chmod o+x)", u.name, dir, p, fi.Mode())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// canSearch applies the permission bits as the kernel would (ACLs aside).
func (u *osUser) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // cannot tell; let the server report it
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == u.uid:
		return perm&0o100 != 0
	case slices.Contains(u.gids, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// chownTree gives everything under root to u, when root is not already u's: a cluster
// initialised by someone else (another user, or a copy) must belong to the server's user.
func chownTree(root string, u *osUser) error {
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == u.uid && st.Gid == u.gid {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(u.uid), int(u.gid))
	})
}
