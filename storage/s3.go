package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Config says where an S3 store lives and how to reach it.
type S3Config struct {
	Endpoint string // host[:port], no scheme; "s3.amazonaws.com" when empty
	Secure   bool   // HTTPS
	Region   string // optional; discovered from the server when empty
	Bucket   string
	// Prefix is prepended to every key, so several deployments can share a bucket. Normalised
	// to end in "/" unless empty.
	Prefix string

	AccessKey    string
	SecretKey    string
	SessionToken string // optional, for temporary AWS credentials

	// Transport overrides minio-go's HTTP transport; nil keeps its default.
	Transport http.RoundTripper
}

// S3 stores objects in an S3-compatible bucket through minio-go.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ends in "/"
}

var _ Store = (*S3)(nil)

// unknownPartSize is the multipart part size for a Put of unknown size. minio-go would
// otherwise size parts for a 5 TiB object and buffer 512 MiB per part; 16 MiB parts still
// allow objects of 160 GiB.
const unknownPartSize = 16 << 20

// NewS3 connects to the bucket, creating it when it does not exist.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = "s3.amazonaws.com"
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3 storage: bucket %q: %w", cfg.Bucket, err)
	}
	prefix, err := normalisePrefix(cfg.Prefix)
	if err != nil {
		return nil, fmt.Errorf("s3 storage: %w", err)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("s3 storage: missing access key or secret key")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:    cfg.Secure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 storage: endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, prefix: prefix}
	if err := s.ensureBucket(ctx, cfg.Region); err != nil {
		return nil, fmt.Errorf("s3 storage: bucket %q at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	return s, nil
}

func (s *S3) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if code := s3Code(err); code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		// Another process created it between our check and our create.
		ok, err = s.client.BucketExists(ctx, s.bucket)
		if err == nil && !ok {
			err = errors.New("bucket exists but is not accessible with these credentials")
		}
	}
	return err
}

// Client exposes the minio-go client, for operations the Store and Multipart interfaces do
// not cover (lifecycle rules, say).
func (s *S3) Client() *minio.Client { return s.client }

// Bucket returns the bucket name.
func (s *S3) Bucket() string { return s.bucket }

// Prefix returns the key prefix ("" or ending in "/").
func (s *S3) Prefix() string { return s.prefix }

func (s *S3) object(key string) string { return s.prefix + key }

// s3Code returns the S3 error code carried by err, or "".
func s3Code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

func isNoSuchKey(err error) bool {
	code := s3Code(err)
	return code == "NoSuchKey" || code == "NotFound"
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkRemaining(r, size); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	opts := minio.PutObjectOptions{ContentType: contentType(key)}
	if size < 0 {
		size = -1
		opts.PartSize = unknownPartSize
	}
	if _, err := s.client.PutObject(ctx, s.bucket, s.object(key), r, size, opts); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// checkRemaining fails early when a seekable reader holds fewer than size bytes. minio-go
// retries uploads from such readers, so a short one would otherwise cost ten doomed attempts.
func checkRemaining(r io.Reader, size int64) error {
	seeker, ok := r.(io.Seeker)
	if _, isReaderAt := r.(io.ReaderAt); !ok || !isReaderAt || size < 0 {
		return nil
	}
	cur, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil // not really seekable; let the upload find out
	}
	end, err := seeker.Seek(0, io.SeekEnd)
	if _, backErr := seeker.Seek(cur, io.SeekStart); backErr != nil {
		return backErr
	}
	if err == nil && end-cur < size {
		return fmt.Errorf("reader holds %d of the %d bytes announced: %w", end-cur, size, io.ErrUnexpectedEOF)
	}
	return nil
}

// Get implements Store. The returned reader is a *minio.Object, which also seeks.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	// GetObject is lazy; Stat sends the GET so a missing key surfaces here, not on first Read.
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		if isNoSuchKey(err) {
			return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	return obj, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if isNoSuchKey(err) {
		return Info{}, fmt.Errorf("stat %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("stat %q: %w", key, err)
	}
	return Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{})
	if err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// DeletePrefix implements Store, with batched multi-object deletes.
func (s *S3) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("delete prefix: %w: refusing to delete everything (empty prefix)", ErrInvalidKey)
	}
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Feed the listing into RemoveObjects, keeping the listing's own error aside.
	toDelete := make(chan minio.ObjectInfo)
	listErr := make(chan error, 1)
	go func() {
		defer close(toDelete)
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.object(prefix), Recursive: true}) {
			if oi.Err != nil {
				listErr <- oi.Err
				return
			}
			select {
			case toDelete <- oi:
			case <-ctx.Done():
				return
			}
		}
	}()
	var errs []error
	for rerr := range s.client.RemoveObjects(ctx, s.bucket, toDelete, minio.RemoveObjectsOptions{}) {
		if rerr.Err != nil && !isNoSuchKey(rerr.Err) {
			errs = append(errs, fmt.Errorf("%s: %w", strings.TrimPrefix(rerr.ObjectName, s.prefix), rerr.Err))
		}
	}
	select {
	case err := <-listErr:
		errs = append(errs, fmt.Errorf("list: %w", err))
	default:
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete prefix %q: %w", prefix, err)
	}
	return ctx.Err()
}

// List implements Store. Objects whose names are not valid keys (such as the "dir/" markers
// some tools create) are left out.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx) // stops the lister if we return early
	defer cancel()
	var out []Info
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.object(prefix), Recursive: true}) {
		if oi.Err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, oi.Err)
		}
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok || ValidateKey(key) != nil {
			continue
		}
		out = append(out, Info{Key: key, Size: oi.Size, ModTime: oi.LastModified})
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// PresignGet implements Store.
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.object(key), ttl, nil)
	if err != nil {
		return "", fmt.Errorf("presign get %q: %w", key, err)
	}
	return u.String(), nil
}

// PresignPut implements Store.
func (s *S3) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	return s.presignPut(ctx, key, ttl, nil)
}

// presignPut mints a PUT URL that also signs the headers h.
func (s *S3) presignPut(ctx context.Context, key string, ttl time.Duration, h http.Header) (string, error) {
	u, err := s.client.PresignHeader(ctx, http.MethodPut, s.bucket, s.object(key), ttl, nil, h)
	if err != nil {
		return "", fmt.Errorf("presign put %q: %w", key, err)
	}
	return u.String(), nil
}

// PresignPutSize implements SizedPresigner: Content-Length is a signed header of the URL, so
// S3 refuses a PUT of any other length (403 SignatureDoesNotMatch). Browsers set it from the
// body themselves.
func (s *S3) PresignPutSize(ctx context.Context, key string, size int64, ttl time.Duration) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	return s.presignPut(ctx, key, ttl, contentLength(size))
}

func contentLength(size int64) http.Header {
	return http.Header{"Content-Length": {strconv.FormatInt(size, 10)}}
}

// Move implements Mover with a server-side copy, then a delete of src. The copy is of one
// version of src: a PUT racing with it changes src, never what lands at dst.
func (s *S3) Move(ctx context.Context, src, dst string) error {
	if err := ValidateKey(src); err != nil {
		return err
	}
	if err := ValidateKey(dst); err != nil {
		return err
	}
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: s.object(dst)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: s.object(src)})
	if isNoSuchKey(err) {
		return fmt.Errorf("move %q to %q: %w", src, dst, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("move %q to %q: %w", src, dst, err)
	}
	return s.Delete(ctx, src)
}

func normalisePrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	if err := ValidateKey(p); err != nil {
		return "", fmt.Errorf("prefix %q: %w", p, err)
	}
	return p + "/", nil
}

// parseS3URL reads s3://bucket[/prefix]?endpoint=host:port&secure=false&region=…&prefix=….
func parseS3URL(u *url.URL) (S3Config, error) {
	var cfg S3Config
	if u.User != nil {
		return cfg, errors.New("credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
	}
	if u.Opaque != "" {
		return cfg, errors.New("expected s3://bucket?endpoint=host:port")
	}
	cfg.Bucket = u.Host
	if cfg.Bucket == "" {
		return cfg, errors.New("missing bucket name; expected s3://bucket?endpoint=host:port")
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return cfg, fmt.Errorf("bucket %q: %w", cfg.Bucket, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, fmt.Errorf("query: %w", err)
	}
	cfg.Secure = true
	for name, vals := range q {
		if len(vals) != 1 {
			return cfg, fmt.Errorf("parameter %q given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "endpoint":
			if strings.Contains(v, "://") || strings.Contains(v, "/") {
				return cfg, fmt.Errorf("endpoint %q must be host[:port] without scheme or path (use secure=false for plain HTTP)", v)
			}
			cfg.Endpoint = v
		case "secure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, fmt.Errorf("secure=%q is not a boolean", v)
			}
			cfg.Secure = b
		case "region":
			cfg.Region = v
		case "prefix":
			cfg.Prefix = v
		default:
			return cfg, fmt.Errorf("unknown parameter %q (known: endpoint, secure, region, prefix)", name)
		}
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if cfg.Prefix != "" {
			return cfg, errors.New("prefix given both as the URL path and as the prefix parameter")
		}
		cfg.Prefix = p
	}
	if _, err := normalisePrefix(cfg.Prefix); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// credentialsFromEnv reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN),
// falling back to MINIO_ROOT_USER/MINIO_ROOT_PASSWORD.
func credentialsFromEnv() (access, secret, token string, err error) {
	access, secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if access != "" || secret != "" {
		if access == "" || secret == "" {
			return "", "", "", errors.New("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not just one")
		}
		return access, secret, os.Getenv("AWS_SESSION_TOKEN"), nil
	}
	access, secret = os.Getenv("MINIO_ROOT_USER"), os.Getenv("MINIO_ROOT_PASSWORD")
	if access != "" && secret != "" {
		return access, secret, "", nil
	}
	return "", "", "", errors.New("no S3 credentials in the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or MINIO_ROOT_USER and MINIO_ROOT_PASSWORD)")
}
