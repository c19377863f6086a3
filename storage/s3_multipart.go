package storage

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
)

var _ Multipart = (*S3)(nil)

// listPartsPage is the most parts S3 lists in one response.
const listPartsPage = 1000

func (s *S3) core() minio.Core { return minio.Core{Client: s.client} }

// multipartErr maps the S3 error codes of multipart calls onto the errors both backends share.
func multipartErr(err error) error {
	switch s3Code(err) {
	case "NoSuchUpload":
		return fmt.Errorf("%w: %w", ErrNoSuchUpload, err)
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall":
		return fmt.Errorf("%w: %w", ErrInvalidPart, err)
	}
	return err
}

// CreateMultipart implements Multipart.
func (s *S3) CreateMultipart(ctx context.Context, key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	// The object's metadata is fixed here, not when it is completed.
	id, err := s.core().NewMultipartUpload(ctx, s.bucket, s.object(key), minio.PutObjectOptions{ContentType: contentType(key)})
	if err != nil {
		return "", fmt.Errorf("create multipart upload of %q: %w", key, err)
	}
	return id, nil
}

// PresignPart implements Multipart.
func (s *S3) PresignPart(ctx context.Context, key, uploadID string, part int, ttl time.Duration) (string, error) {
	if err := checkPresignPart(key, uploadID, part, ttl); err != nil {
		return "", err
	}
	return s.presignPart(ctx, key, uploadID, part, ttl, nil)
}

// presignPart mints a part URL that also signs the headers h.
func (s *S3) presignPart(ctx context.Context, key, uploadID string, part int, ttl time.Duration, h http.Header) (string, error) {
	q := url.Values{"partNumber": {strconv.Itoa(part)}, "uploadId": {uploadID}}
	u, err := s.client.PresignHeader(ctx, http.MethodPut, s.bucket, s.object(key), ttl, q, h)
	if err != nil {
		return "", fmt.Errorf("presign part %d of %q: %w", part, key, err)
	}
	return u.String(), nil
}

// PresignPartSize implements SizedPresigner, with Content-Length signed as in PresignPutSize.
func (s *S3) PresignPartSize(ctx context.Context, key, uploadID string, part int, size int64, ttl time.Duration) (string, error) {
	if err := checkPresignPart(key, uploadID, part, ttl); err != nil {
		return "", err
	}
	if err := checkSize(size); err != nil {
		return "", err
	}
	return s.presignPart(ctx, key, uploadID, part, ttl, contentLength(size))
}

// ListParts implements Multipart.
func (s *S3) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	parts, err := s.listParts(ctx, key, uploadID)
	if err != nil {
		return nil, fmt.Errorf("list parts of %q: %w", key, err)
	}
	return parts, nil
}

func (s *S3) listParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := checkUploadID(uploadID); err != nil {
		return nil, err
	}
	var parts []Part
	marker := 0
	for {
		res, err := s.core().ListObjectParts(ctx, s.bucket, s.object(key), uploadID, marker, listPartsPage)
		if err != nil {
			return nil, multipartErr(err)
		}
		for _, p := range res.ObjectParts {
			parts = append(parts, Part{Number: p.PartNumber, Size: p.Size, ETag: p.ETag})
		}
		if !res.IsTruncated {
			break
		}
		if res.NextPartNumberMarker <= marker {
			return nil, fmt.Errorf("the server's part listing does not advance past part %d", marker)
		}
		marker = res.NextPartNumberMarker
	}
	slices.SortFunc(parts, func(a, b Part) int { return a.Number - b.Number })
	return parts, nil
}

// CompleteMultipart implements Multipart. It checks the parts against a listing first, since
// S3 itself accepts gaps and ignores sizes, and the backends must agree.
func (s *S3) CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error {
	if err := s.complete(ctx, key, uploadID, parts); err != nil {
		return fmt.Errorf("complete multipart upload of %q: %w", key, err)
	}
	return nil
}

func (s *S3) complete(ctx context.Context, key, uploadID string, parts []Part) error {
	stored, err := s.listParts(ctx, key, uploadID)
	if err != nil {
		return err
	}
	if err := checkParts(parts, stored); err != nil {
		return err
	}
	complete := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		complete[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	if _, err := s.core().CompleteMultipartUpload(ctx, s.bucket, s.object(key), uploadID, complete, minio.PutObjectOptions{}); err != nil {
		return multipartErr(err)
	}
	return nil
}

// AbortMultipart implements Multipart.
func (s *S3) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkUploadID(uploadID); err != nil {
		return fmt.Errorf("abort multipart upload of %q: %w", key, err)
	}
	err := s.core().AbortMultipartUpload(ctx, s.bucket, s.object(key), uploadID)
	if err != nil && s3Code(err) != "NoSuchUpload" {
		return fmt.Errorf("abort multipart upload of %q: %w", key, err)
	}
	return nil
}
