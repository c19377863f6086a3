package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MinSecretSize is the shortest HMAC key the local backend accepts.
const MinSecretSize = 16

// DefaultMaxPutSize caps a PUT through Local.Handler when Options.MaxPutSize is 0. Sources are
// whole uploaded videos, so it is generous.
const DefaultMaxPutSize int64 = 64 << 30

// BlobPath is the URL path under which Local.Handler serves objects; presigned URLs are
// PublicURL + BlobPath + escaped key.
const BlobPath = "/v1/blobs/"

// Local stores objects as files under a directory, one file per key at the key's slash path.
// Writes are atomic: a file is written and fsynced under a temporary name next to its final
// place, then renamed, so readers see the old object or the new one, never half of one.
//
// Because keys are paths, a key cannot also be a directory of other keys on this backend
// ("a" and "a/b" cannot both exist); Put reports the conflict.
type Local struct {
	dir       string // absolute and clean; never changes
	publicURL string // without a trailing slash; may be empty, then Presign* fail
	secret    []byte
	maxPut    int64
	log       *slog.Logger
	now       func() time.Time // tests move the clock
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) a local store rooted at dir.
func NewLocal(dir string, opts Options) (*Local, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("local storage: directory %q is not an absolute path", dir)
	}
	if len(opts.Secret) < MinSecretSize {
		return nil, fmt.Errorf("local storage: the URL signing secret must be at least %d bytes, got %d", MinSecretSize, len(opts.Secret))
	}
	publicURL := strings.TrimRight(opts.PublicURL, "/")
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return nil, fmt.Errorf("local storage: public URL %q must be an absolute http(s) URL such as http://127.0.0.1:7000", opts.PublicURL)
		}
	}
	maxPut := opts.MaxPutSize
	if maxPut == 0 {
		maxPut = DefaultMaxPutSize
	}
	if maxPut < 0 {
		return nil, fmt.Errorf("local storage: negative max put size %d", maxPut)
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("local storage: create %s: %w", dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Local{
		dir:       dir,
		publicURL: publicURL,
		secret:    slices.Clone(opts.Secret),
		maxPut:    maxPut,
		log:       log.With("component", "storage"),
		now:       time.Now,
	}, nil
}

// Dir returns the directory the store lives in.
func (l *Local) Dir() string { return l.dir }

// path maps a validated key to its file.
func (l *Local) path(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(key))
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := l.put(ctx, key, r, size); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

func (l *Local) put(ctx context.Context, key string, r io.Reader, size int64) error {
	return l.writeObject(ctx, key, func(w io.Writer) error {
		return copyExact(ctx, w, r, size)
	})
}

// writeObject stores the object at key atomically: fill writes it into a temporary file next
// to its place, which is then fsynced and renamed over it.
func (l *Local) writeObject(ctx context.Context, key string, fill func(w io.Writer) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := l.path(key)
	f, err := l.createTemp(filepath.Dir(name))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := commit(f, name); err != nil {
		if fi, statErr := os.Stat(name); statErr == nil && fi.IsDir() {
			return fmt.Errorf("other objects live under %q/, and on local storage a key cannot also be a prefix of other keys", key)
		}
		return err
	}
	return nil
}

// copyExact copies r to w, failing unless r yields exactly size bytes; a negative size takes
// whatever r holds.
func copyExact(ctx context.Context, w io.Writer, r io.Reader, size int64) error {
	src := io.Reader(ctxReader{ctx: ctx, r: r})
	if size >= 0 {
		// One byte past size tells a too-long reader from an exact one.
		src = io.LimitReader(src, size+1)
	}
	n, err := io.Copy(w, src)
	if err != nil {
		return err
	}
	if size >= 0 && n < size {
		return fmt.Errorf("reader ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if size >= 0 && n > size {
		return fmt.Errorf("reader holds more than the %d bytes announced", size)
	}
	return nil
}

// commit makes the temporary file f durable and renames it to name. The caller removes f
// when it fails.
func commit(f *os.File, name string) error {
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	// The rename is durable only once the directory entry is.
	return syncDir(filepath.Dir(name))
}

// createTemp makes the temporary file for a Put in parent, creating parent first. A Delete
// pruning empty directories may remove parent between the two steps, so it retries.
func (l *Local) createTemp(parent string) (*os.File, error) {
	var lastErr error
	for range 5 {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			if errors.Is(err, syscall.ENOTDIR) {
				return nil, errors.New("a prefix of the key is itself an object, and on local storage a key cannot also be a prefix of other keys")
			}
			return nil, err
		}
		f, err := os.CreateTemp(parent, tempPrefix+"*")
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	return err
}

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// missing reports whether err means there is no file at a path: either nothing is there, or
// one of its parents is a regular file.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Get implements Store. The returned reader is an *os.File, so it also seeks.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := l.open(ctx, key)
	return f, err
}

func (l *Local) open(ctx context.Context, key string) (*os.File, fs.FileInfo, error) {
	if err := ValidateKey(key); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("get %q: %w", key, err)
	}
	f, err := os.Open(l.path(key))
	if missing(err) {
		return nil, nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get %q: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, fmt.Errorf("get %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	return f, fi, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("stat %q: %w", key, err)
	}
	fi, err := os.Stat(l.path(key))
	if missing(err) || (err == nil && !fi.Mode().IsRegular()) {
		return Info{}, fmt.Errorf("stat %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("stat %q: %w", key, err)
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements Store. It also removes the directories the object leaves empty, so the
// tree holds only what List reports.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	name := l.path(key)
	fi, err := os.Lstat(name)
	if missing(err) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if err := os.Remove(name); err != nil && !missing(err) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	l.pruneDirs(filepath.Dir(name))
	return nil
}

// pruneDirs removes dir and its parents up to the root while they are empty. Failing to remove
// one (not empty, or a concurrent Put just created a file in it) simply ends the walk.
func (l *Local) pruneDirs(dir string) {
	for dir != l.dir && strings.HasPrefix(dir, l.dir+string(filepath.Separator)) {
		if err := os.Remove(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// DeletePrefix implements Store.
func (l *Local) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("delete prefix: %w: refusing to delete everything (empty prefix)", ErrInvalidKey)
	}
	infos, err := l.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("delete prefix %q: %w", prefix, err)
	}
	var errs []error
	for _, in := range infos {
		if err := l.Delete(ctx, in.Key); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete prefix %q: %w", prefix, err)
	}
	return nil
}

// List implements Store.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the deepest directory the prefix names in full.
	root := l.dir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		root = l.path(prefix[:i])
	}
	var out []Info
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if missing(err) {
				return nil // the root is absent, or an entry vanished under a concurrent Delete
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p == l.dir {
			return nil
		}
		rel, err := filepath.Rel(l.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if p == root || strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/") {
				return nil
			}
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if missing(err) {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	// The walk orders by file name per directory, which differs from key order ("a/b" vs "a.b").
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// PresignGet implements Store: the URL is valid for GET (and HEAD) until ttl has passed.
func (l *Local) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return l.presign("GET", key, ttl, unbounded)
}

// PresignPut implements Store: the URL is valid for PUT until ttl has passed.
func (l *Local) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return l.presign("PUT", key, ttl, unbounded)
}

// PresignPutSize implements SizedPresigner: a PUT of more than size bytes gets 413.
func (l *Local) PresignPutSize(ctx context.Context, key string, size int64, ttl time.Duration) (string, error) {
	if err := checkSize(size); err != nil {
		return "", err
	}
	return l.presign("PUT", key, ttl, size)
}

// unbounded is the size of a URL that takes any body up to the store's MaxPutSize.
const unbounded = -1

// presign mints a URL for method on key. size is the most bytes a PUT may send, or unbounded;
// part is empty, or the upload ID and part number of a part upload. The signature covers both.
func (l *Local) presign(method, key string, ttl time.Duration, size int64, part ...string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	if l.publicURL == "" {
		return "", fmt.Errorf("presign %q: local storage has no public URL to point at (set Options.PublicURL)", key)
	}
	exp := l.now().Add(ttl)
	expires := exp.Unix()
	if exp.Nanosecond() != 0 {
		expires++ // round up so the URL lives at least ttl
	}
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(expires, 10))
	if len(part) == 2 {
		q.Set("uploadId", part[0])
		q.Set("partNumber", part[1])
	}
	if size != unbounded {
		q.Set("size", strconv.FormatInt(size, 10))
		part = append(part, sizeField+q.Get("size"))
	}
	q.Set("sig", l.sign(method, key, expires, part...))
	return l.publicURL + BlobPath + escapeKey(key) + "?" + q.Encode(), nil
}

// escapeKey escapes each segment of a key for a URL path, keeping the slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// Move implements Mover with a rename, which replaces dst atomically.
func (l *Local) Move(ctx context.Context, src, dst string) error {
	if err := ValidateKey(src); err != nil {
		return err
	}
	if err := ValidateKey(dst); err != nil {
		return err
	}
	if err := l.move(ctx, src, dst); err != nil {
		return fmt.Errorf("move %q to %q: %w", src, dst, err)
	}
	return nil
}

func (l *Local) move(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	from, to := l.path(src), l.path(dst)
	fi, err := os.Stat(from)
	if missing(err) || (err == nil && !fi.Mode().IsRegular()) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		if missing(err) {
			return ErrNotFound
		}
		return err
	}
	if err := syncDir(filepath.Dir(to)); err != nil {
		return err
	}
	l.pruneDirs(filepath.Dir(from))
	return nil
}
