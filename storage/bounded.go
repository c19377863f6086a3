package storage

import (
	"context"
	"fmt"
	"time"
)

// SizedPresigner is implemented by stores that bind an upload URL to the size of the body it
// accepts, so a URL handed to an untrusted client cannot store more than what was declared:
// the local backend refuses a body over size with 413, S3 refuses any other Content-Length
// than size (the header is signed, so the server answers 403 SignatureDoesNotMatch).
type SizedPresigner interface {
	// PresignPutSize is PresignPut for a body of size bytes.
	PresignPutSize(ctx context.Context, key string, size int64, ttl time.Duration) (string, error)
	// PresignPartSize is Multipart.PresignPart for a part of size bytes.
	PresignPartSize(ctx context.Context, key, uploadID string, part int, size int64, ttl time.Duration) (string, error)
}

var (
	_ SizedPresigner = (*Local)(nil)
	_ SizedPresigner = (*S3)(nil)
)

// Mover is implemented by stores that move an object inside the store without passing its
// bytes through the caller: a rename on disk, a server-side copy then a delete on S3.
type Mover interface {
	// Move puts the object at src in place of dst (replacing any object there) and deletes
	// src; ErrNotFound when src is missing.
	Move(ctx context.Context, src, dst string) error
}

var (
	_ Mover = (*Local)(nil)
	_ Mover = (*S3)(nil)
)

func checkSize(size int64) error {
	if size < 0 {
		return fmt.Errorf("presign: size must not be negative, got %d", size)
	}
	return nil
}
