// Package storage owns Sunomi's blob store: one small Store interface with two backends, a
// local directory (Local, the single-machine default) and S3-compatible object storage through
// minio-go (S3: MinIO, AWS S3, R2, …). Agents never hold storage credentials; the coordinator
// hands them presigned GET/PUT URLs minted here. Browsers upload large sources in parts, to
// presigned part URLs of a multipart upload (Multipart), so an interrupted upload resumes.
// The local backend signs its URLs with an HMAC key and serves them itself through
// Local.Handler.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sunomi/sunomi/internal/redact"
)

var (
	// ErrNotFound is returned by Get and Stat for a key that holds no object.
	ErrNotFound = errors.New("object not found")
	// ErrInvalidKey is returned for a key (or prefix) that is not a clean relative slash path.
	ErrInvalidKey = errors.New("invalid object key")
)

// Info describes one stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is a flat namespace of objects named by slash-separated keys such as
// "videos/42/hls/720p/playlist.m3u8".
type Store interface {
	// Put stores the object, replacing any previous one. size is the exact number of bytes r
	// yields, or -1 when unknown; a reader that ends early fails the Put and leaves the
	// previous object (if any) in place.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object for reading; ErrNotFound when it is missing.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes the object; ErrNotFound when it is missing.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object; a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix (a plain string prefix,
	// as in S3: "jobs/1" also matches "jobs/10/…"). An empty prefix is refused.
	DeletePrefix(ctx context.Context, prefix string) error
	// List describes every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)
	// PresignGet returns a URL that lets its holder GET the object until ttl has passed.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	// PresignPut returns a URL that lets its holder PUT the object until ttl has passed.
	PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Options configure the backends that Open builds.
type Options struct {
	// PublicURL is the base URL the local backend's presigned URLs point at, such as
	// "http://127.0.0.1:7000": whoever serves Local.Handler under /v1/blobs/ there.
	PublicURL string
	// Secret is the HMAC key the local backend signs its URLs with; required for Local, at
	// least MinSecretSize bytes. Every coordinator serving the same directory needs the same one.
	Secret []byte
	// MaxPutSize caps the body of a PUT through Local.Handler; 0 means DefaultMaxPutSize.
	MaxPutSize int64
	// Logger receives the local handler's server-side failures; nil discards them.
	Logger *slog.Logger
}

// Open builds the store named by rawURL:
//
//	file:///abs/dir                      → *Local rooted at /abs/dir (created if missing)
//	s3://bucket?endpoint=host:port&secure=false&region=us-east-1&prefix=some/prefix
//	                                     → *S3; the bucket is created if missing
//
// S3 credentials come from the environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN), or else MINIO_ROOT_USER/MINIO_ROOT_PASSWORD.
func Open(rawURL string, opts Options) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// The parse error quotes the URL again; neither copy may show
		// credentials or a query string.
		return nil, fmt.Errorf("storage url %q: %w", redact.URL(rawURL), redact.Error(err))
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("storage url %q: a file URL needs an absolute path and no host, like file:///var/lib/sunomi/blobs", rawURL)
		}
		if u.RawQuery != "" {
			return nil, fmt.Errorf("storage url %q: a file URL takes no query parameters", redact.URL(rawURL))
		}
		if u.Path == "" || !path.IsAbs(u.Path) {
			return nil, fmt.Errorf("storage url %q: a file URL needs an absolute path, like file:///var/lib/sunomi/blobs", rawURL)
		}
		return NewLocal(u.Path, opts)
	case "s3":
		cfg, err := parseS3URL(u)
		if err != nil {
			return nil, fmt.Errorf("storage url %q: %w", redactURL(u), err)
		}
		cfg.AccessKey, cfg.SecretKey, cfg.SessionToken, err = credentialsFromEnv()
		if err != nil {
			return nil, fmt.Errorf("storage url %q: %w", redactURL(u), err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		return NewS3(ctx, cfg)
	case "":
		return nil, fmt.Errorf("storage url %q: missing scheme; use file:///abs/dir or s3://bucket?endpoint=host:port", rawURL)
	default:
		return nil, fmt.Errorf("storage url %q: unsupported scheme %q; use file:///abs/dir or s3://bucket?endpoint=host:port", redactURL(u), u.Scheme)
	}
}

// openTimeout bounds the bucket check (and creation) that Open does for S3.
const openTimeout = 30 * time.Second

// redactURL hides credentials someone may have put in the userinfo part.
func redactURL(u *url.URL) string { return u.Redacted() }

// ValidateKey reports whether key is a clean relative slash path: not empty, not absolute, no
// empty, "." or ".." segments, no backslashes or control characters. Both backends enforce it, so
// keys behave the same on disk and in S3.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: key longer than %d bytes", ErrInvalidKey, maxKeyLen)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w %q: absolute key", ErrInvalidKey, key)
	}
	if err := validateChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w %q: %q segment", ErrInvalidKey, key, seg)
		case strings.HasPrefix(seg, tempPrefix):
			return fmt.Errorf("%w %q: segments starting with %q are reserved", ErrInvalidKey, key, tempPrefix)
		}
	}
	return nil
}

// validatePrefix checks a List/DeletePrefix prefix: like a key, except that it may be empty,
// end with "/", or stop in the middle of a segment.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > maxKeyLen {
		return fmt.Errorf("%w: prefix longer than %d bytes", ErrInvalidKey, maxKeyLen)
	}
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("%w: absolute prefix %q", ErrInvalidKey, prefix)
	}
	if err := validateChars(prefix); err != nil {
		return err
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case seg == "" && !last:
			return fmt.Errorf("%w: prefix %q has an empty path segment", ErrInvalidKey, prefix)
		case (seg == "." || seg == "..") && !last:
			return fmt.Errorf("%w: prefix %q has a %q segment", ErrInvalidKey, prefix, seg)
		case seg == "..":
			return fmt.Errorf("%w: prefix %q ends in \"..\"", ErrInvalidKey, prefix)
		}
	}
	return nil
}

func validateChars(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidKey, s)
	}
	for _, r := range s {
		switch {
		case r == '\\':
			return fmt.Errorf("%w %q: backslash", ErrInvalidKey, s)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("%w %q: control character", ErrInvalidKey, s)
		}
	}
	return nil
}

// maxKeyLen is S3's limit on object key length.
const maxKeyLen = 1024

// tempPrefix names the local backend's in-flight files; keys may not use it so a half-written
// file is never mistaken for an object.
const tempPrefix = ".sunomi-tmp-"

// contentType picks the Content-Type for the formats Sunomi stores, so players get the types
// they expect from both backends; "" leaves the choice to the server.
func contentType(key string) string {
	switch strings.ToLower(path.Ext(key)) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".ts":
		return "video/mp2t"
	case ".m4s":
		return "video/iso.segment"
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".aac":
		return "audio/aac"
	case ".vtt":
		return "text/vtt; charset=utf-8"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".json":
		return "application/json"
	default:
		return ""
	}
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("presign: ttl must be positive, got %s", ttl)
	}
	return nil
}
