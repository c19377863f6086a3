package storage

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

var _ Multipart = (*Local)(nil)

// The local backend keeps each open upload in its own directory under multipartDir:
//
//	<root>/.sunomi-tmp-multipart/<uploadID>/key          the object key the upload is for
//	<root>/.sunomi-tmp-multipart/<uploadID>/part-00001   one file per part
//
// The tempPrefix in the name keeps the directory out of List and out of reach of any key.
const multipartDir = tempPrefix + "multipart"

const (
	uploadKeyFile  = "key"
	partFilePrefix = "part-"
	// A part file starts with the part's quoted hex MD5, its ETag, followed by the part's
	// bytes: the ETag lives and is replaced atomically with the data, and listing the parts
	// reads 34 bytes per part instead of hashing them again.
	etagLen = 2 + 2*md5.Size
)

// uploadIDBytes is how many random bytes make an upload ID, written in unpadded URL-safe
// base64.
const uploadIDBytes = 24

// CreateMultipart implements Multipart.
func (l *Local) CreateMultipart(ctx context.Context, key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create multipart upload of %q: %w", key, err)
	}
	b := make([]byte, uploadIDBytes)
	_, _ = rand.Read(b) // never fails
	id := base64.RawURLEncoding.EncodeToString(b)
	if err := l.createUpload(id, key); err != nil {
		return "", fmt.Errorf("create multipart upload of %q: %w", key, err)
	}
	return id, nil
}

func (l *Local) createUpload(id, key string) (err error) {
	root := filepath.Join(l.dir, multipartDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	// The key file appears atomically, so a directory without one (a crash halfway) is no
	// upload.
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, key)
	if err == nil {
		err = commit(f, filepath.Join(dir, uploadKeyFile))
	}
	if err != nil {
		_ = f.Close()
		return err
	}
	return syncDir(root)
}

// uploadDir returns the directory of the upload uploadID of key, or ErrNoSuchUpload.
func (l *Local) uploadDir(key, uploadID string) (string, error) {
	if err := checkUploadID(uploadID); err != nil {
		return "", err
	}
	// Only IDs we could have made name a directory, which also keeps ".." and slashes out.
	if b, err := base64.RawURLEncoding.DecodeString(uploadID); err != nil || len(b) != uploadIDBytes ||
		base64.RawURLEncoding.EncodeToString(b) != uploadID {
		return "", fmt.Errorf("%w: malformed upload ID %q", ErrNoSuchUpload, uploadID)
	}
	dir := filepath.Join(l.dir, multipartDir, uploadID)
	b, err := os.ReadFile(filepath.Join(dir, uploadKeyFile))
	if missing(err) {
		return "", fmt.Errorf("%w: upload %s is unknown, completed or aborted", ErrNoSuchUpload, uploadID)
	}
	if err != nil {
		return "", err
	}
	// S3 binds an upload to its key too, and reports another key's upload as missing.
	if string(b) != key {
		return "", fmt.Errorf("%w: upload %s is not for this key", ErrNoSuchUpload, uploadID)
	}
	return dir, nil
}

func partFile(dir string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("%s%05d", partFilePrefix, n))
}

// PresignPart implements Multipart: the URL is valid for a PUT of the part until ttl has passed.
func (l *Local) PresignPart(ctx context.Context, key, uploadID string, part int, ttl time.Duration) (string, error) {
	if err := checkPresignPart(key, uploadID, part, ttl); err != nil {
		return "", err
	}
	return l.presign(http.MethodPut, key, ttl, unbounded, uploadID, strconv.Itoa(part))
}

// PresignPartSize implements SizedPresigner: a PUT of more than size bytes gets 413.
func (l *Local) PresignPartSize(ctx context.Context, key, uploadID string, part int, size int64, ttl time.Duration) (string, error) {
	if err := checkPresignPart(key, uploadID, part, ttl); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	return l.presign(http.MethodPut, key, ttl, size, uploadID, strconv.Itoa(part))
}

// putPart stores one part, replacing any earlier upload of the same number, and returns its
// ETag. Local.Handler calls it for PUTs to a PresignPart URL.
func (l *Local) putPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64) (string, error) {
	if err := checkPartNumber(n); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir, err := l.uploadDir(key, uploadID)
	if err != nil {
		return "", err
	}
	// Never create the directory here: it is gone when the upload was completed or aborted.
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if missing(err) {
		return "", fmt.Errorf("%w: upload %s ended while a part arrived", ErrNoSuchUpload, uploadID)
	}
	if err != nil {
		return "", err
	}
	committed := false
	defer func() {
		if !committed {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	// Leave room for the ETag, known only once the data has passed.
	if _, err := f.Write(make([]byte, etagLen)); err != nil {
		return "", err
	}
	h := md5.New()
	if err := copyExact(ctx, io.MultiWriter(f, h), r, size); err != nil {
		return "", err
	}
	etag := `"` + hex.EncodeToString(h.Sum(nil)) + `"`
	if _, err := f.WriteAt([]byte(etag), 0); err != nil {
		return "", err
	}
	if err := commit(f, partFile(dir, n)); err != nil {
		if missing(err) {
			return "", fmt.Errorf("%w: upload %s ended while a part arrived", ErrNoSuchUpload, uploadID)
		}
		return "", err
	}
	committed = true
	return etag, nil
}

// openPart opens part n and describes it; the file is positioned at the part's first byte.
func openPart(dir string, n int) (*os.File, Part, error) {
	f, err := os.Open(partFile(dir, n))
	if err != nil {
		return nil, Part{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Part{}, err
	}
	etag := make([]byte, etagLen)
	if _, err := io.ReadFull(f, etag); err != nil {
		_ = f.Close()
		return nil, Part{}, fmt.Errorf("part %d: %w", n, err)
	}
	return f, Part{Number: n, Size: fi.Size() - etagLen, ETag: string(etag)}, nil
}

// ListParts implements Multipart.
func (l *Local) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	parts, _, err := l.listParts(ctx, key, uploadID)
	if err != nil {
		return nil, fmt.Errorf("list parts of %q: %w", key, err)
	}
	return parts, nil
}

func (l *Local) listParts(ctx context.Context, key, uploadID string) ([]Part, string, error) {
	if err := ValidateKey(key); err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	dir, err := l.uploadDir(key, uploadID)
	if err != nil {
		return nil, "", err
	}
	entries, err := os.ReadDir(dir)
	if missing(err) {
		return nil, "", fmt.Errorf("%w: upload %s ended while its parts were listed", ErrNoSuchUpload, uploadID)
	}
	if err != nil {
		return nil, "", err
	}
	var parts []Part
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), partFilePrefix)
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue // the key file, or a part still being written
		}
		f, p, err := openPart(dir, n)
		if missing(err) {
			continue // the upload ended meanwhile; the next call says so
		}
		if err != nil {
			return nil, "", err
		}
		_ = f.Close()
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(a, b Part) int { return a.Number - b.Number })
	return parts, dir, nil
}

// CompleteMultipart implements Multipart.
func (l *Local) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error {
	if err := l.complete(ctx, key, uploadID, parts); err != nil {
		return fmt.Errorf("complete multipart upload of %q: %w", key, err)
	}
	return nil
}

func (l *Local) complete(ctx context.Context, key, uploadID string, parts []Part) error {
	stored, dir, err := l.listParts(ctx, key, uploadID)
	if err != nil {
		return err
	}
	if err := checkParts(parts, stored); err != nil {
		return err
	}
	err = l.writeObject(ctx, key, func(w io.Writer) error {
		for _, p := range parts {
			if err := copyPart(ctx, w, dir, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The object is in place, so the upload has succeeded whatever happens to its parts now.
	if err := dropUpload(dir); err != nil {
		l.log.Error("remove completed multipart upload", "key", key, "upload_id", uploadID, "error", err)
	}
	return nil
}

// copyPart appends part p to w. It checks the part again as it reads it: a client may have
// replaced it since checkParts saw it.
func copyPart(ctx context.Context, w io.Writer, dir string, p Part) error {
	f, got, err := openPart(dir, p.Number)
	if missing(err) {
		return fmt.Errorf("%w: part %d vanished while the upload was completed", ErrNoSuchUpload, p.Number)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if got.Size != p.Size || !sameETag(got.ETag, p.ETag) {
		return fmt.Errorf("%w: part %d was uploaded again while the upload was completed", ErrInvalidPart, p.Number)
	}
	return copyExact(ctx, w, f, p.Size)
}

// AbortMultipart implements Multipart.
func (l *Local) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("abort multipart upload of %q: %w", key, err)
	}
	if err := checkUploadID(uploadID); err != nil {
		return fmt.Errorf("abort multipart upload of %q: %w", key, err)
	}
	dir, err := l.uploadDir(key, uploadID)
	if errors.Is(err, ErrNoSuchUpload) {
		return nil // already gone, or another key's: nothing of this key's to discard
	}
	if err == nil {
		err = dropUpload(dir)
	}
	if err != nil {
		return fmt.Errorf("abort multipart upload of %q: %w", key, err)
	}
	return nil
}

// dropUpload ends an upload. Removing its key file first ends it at once, even if removing
// the parts then fails halfway.
func dropUpload(dir string) error {
	if err := os.Remove(filepath.Join(dir, uploadKeyFile)); err != nil && !missing(err) {
		return err
	}
	return os.RemoveAll(dir)
}
