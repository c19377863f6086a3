package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxParts is the highest part number of a multipart upload (S3's limit).
const MaxParts = 10000

// MinPartSize is the least size of every part but the last (S3's limit).
const MinPartSize = 5 << 20

var (
	// ErrNoSuchUpload is returned for an upload ID that names no upload of the key: unknown,
	// empty, or already completed or aborted.
	ErrNoSuchUpload = errors.New("no such multipart upload")
	// ErrInvalidPart is returned for a part number outside 1..MaxParts, and by
	// CompleteMultipart when the parts given are not the stored ones, are not numbered 1, 2,
	// 3, … or leave a part other than the last under MinPartSize.
	ErrInvalidPart = errors.New("invalid multipart upload part")
)

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int // 1-based
	Size   int64
	ETag   string // as the backend reports it (quoted or not, consistently per backend)
}

// Multipart is implemented by stores that accept an object in parts through presigned URLs,
// the S3 multipart protocol: create, PUT each part to its presigned URL, list, complete or abort.
//
// A browser uploads a large source this way without holding credentials, and resumes after an
// interruption by asking ListParts what is already stored; PUTting a part number again
// replaces that part. The response to a part PUT carries the part's ETag, readable from
// browser JavaScript (CORS exposes it).
type Multipart interface {
	// CreateMultipart starts an upload of the object at key and returns its ID.
	CreateMultipart(ctx context.Context, key string) (uploadID string, err error)
	// PresignPart returns a URL that lets its holder PUT the given part until ttl has passed.
	// It does not check that the upload exists; a PUT to a gone upload gets 404.
	PresignPart(ctx context.Context, key, uploadID string, part int, ttl time.Duration) (string, error)
	// ListParts describes the parts stored so far, sorted by Number.
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
	// CompleteMultipart assembles the listed parts, in order, into the object at key.
	// The parts must be numbered 1, 2, 3, … and match the stored ones in size and ETag (quoted
	// or not); stored parts not listed are discarded, as in S3. It fails with ErrInvalidPart
	// otherwise, and the upload stays open to be fixed and completed.
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error
	// AbortMultipart discards the upload and its parts. Aborting an upload that is already
	// gone is not an error (like Delete of a missing object): it is cleanup, and S3 servers
	// disagree on whether to report it.
	AbortMultipart(ctx context.Context, key, uploadID string) error
}

// checkPresignPart checks PresignPart's arguments in the same order on both backends, so both
// report the same error for the same call.
func checkPresignPart(key, uploadID string, part int, ttl time.Duration) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := checkUploadID(uploadID); err != nil {
		return fmt.Errorf("presign part of %q: %w", key, err)
	}
	if err := checkPartNumber(part); err != nil {
		return fmt.Errorf("presign part of %q: %w", key, err)
	}
	return nil
}

// checkUploadID refuses an empty upload ID up front: S3 reads a request without one as a
// plain object request, so an abort would delete the object.
func checkUploadID(uploadID string) error {
	if uploadID == "" {
		return fmt.Errorf("%w: empty upload ID", ErrNoSuchUpload)
	}
	return nil
}

func checkPartNumber(n int) error {
	if n < 1 || n > MaxParts {
		return fmt.Errorf("%w: part number %d is outside 1..%d", ErrInvalidPart, n, MaxParts)
	}
	return nil
}

// checkParts checks the parts given to CompleteMultipart against the stored ones, the same way
// on both backends. It is stricter than S3, which allows gaps in the numbering: a gap in an
// uploaded file is always a client bug.
func checkParts(given, stored []Part) error {
	if len(given) == 0 {
		return fmt.Errorf("%w: no parts to assemble", ErrInvalidPart)
	}
	byNumber := make(map[int]Part, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	// Whether the list names the stored parts comes first: a size complaint about a part that
	// was never meant to be there would mislead.
	for i, p := range given {
		if p.Number != i+1 {
			return fmt.Errorf("%w: part %d is listed where part %d belongs; parts must be numbered 1, 2, 3, … in order without gaps", ErrInvalidPart, p.Number, i+1)
		}
		s, ok := byNumber[p.Number]
		if !ok {
			return fmt.Errorf("%w: part %d was never uploaded", ErrInvalidPart, p.Number)
		}
		if p.Size != s.Size || !sameETag(p.ETag, s.ETag) {
			return fmt.Errorf("%w: part %d (%d bytes, ETag %s) does not match the stored part (%d bytes, ETag %s); was it uploaded again?", ErrInvalidPart, p.Number, p.Size, p.ETag, s.Size, s.ETag)
		}
	}
	for _, p := range given[:len(given)-1] {
		if p.Size < MinPartSize {
			return fmt.Errorf("%w: part %d has %d bytes, but every part except the last needs at least %d", ErrInvalidPart, p.Number, p.Size, MinPartSize)
		}
	}
	return nil
}

// sameETag compares ETags with or without their quotes, as S3 does.
func sameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`)
}
