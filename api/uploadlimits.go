package api

// What bounds an upload besides its declared size (uploads.go): per-user quotas, URLs that
// accept no more than the declared bytes, and the sweep that deletes uploads never completed
// and whatever an upload URL wrote after its upload ended.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// sizedMultipart is what multipart uploads need of the blob store: both backends have it.
type sizedMultipart interface {
	storage.Multipart
	storage.SizedPresigner
}

// presignUpload mints a PUT URL for key that accepts at most size bytes.
func (s *Server) presignUpload(ctx context.Context, key string, size int64) (string, error) {
	sp, ok := s.blobs.(storage.SizedPresigner)
	if !ok {
		return "", errors.New("the blob store cannot bind upload URLs to their size")
	}
	return sp.PresignPutSize(ctx, key, size, s.cfg.Uploads.URLTTL)
}

// grantUpload admits the new video n under its owner's quotas; a refused upload is deleted,
// row and multipart upload, and the caller gets 429 saying which quota and until when.
func (s *Server) grantUpload(ctx context.Context, n store.NewVideo) error {
	q := store.UploadQuota{BytesPerDay: s.cfg.Uploads.DailyBytes, Concurrent: s.cfg.Uploads.MaxConcurrent}
	err := s.db.GrantUpload(ctx, n.ID, n.OwnerID, n.SourceSize, s.now(), q)
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		return err
	}
	if _, err := s.db.DiscardUpload(ctx, n.ID); err != nil {
		return err
	}
	if n.UploadID != "" {
		if err := s.blobs.(storage.Multipart).AbortMultipart(ctx, layout.Source(n.ID), n.UploadID); err != nil {
			s.log.Warn("abort the multipart upload of a refused upload", "video_id", n.ID, "error", err)
		}
	}
	return quotaRefusal(qe, n.SourceSize, s.now())
}

func quotaRefusal(qe *store.QuotaError, size int64, now time.Time) error {
	limited := httpError{status: http.StatusTooManyRequests, code: codeRateLimited}
	if qe.Concurrent {
		limited.message = fmt.Sprintf("you have %d uploads in progress, the most allowed; complete or delete one before starting another", qe.Used)
		return &limited
	}
	limited.message = fmt.Sprintf("this upload of %s would take you past your daily upload quota of %s (%s used in the last 24 hours)",
		formatBytes(size), formatBytes(qe.Limit), formatBytes(qe.Used))
	if size > qe.Limit {
		// Waiting never helps: say so rather than suggest a retry.
		limited.status, limited.code = http.StatusRequestEntityTooLarge, codeTooLarge
		return &limited
	}
	wait := max(1, int(math.Ceil(qe.Frees.Sub(now).Seconds())))
	return &retryError{httpError: limited, seconds: wait}
}

// collectUploadURLs lists for deletion what the upload URLs of v may still write once its
// upload is complete: a single PUT's URL lives on until it expires, and writes a key nothing
// reads any more (part URLs die with their multipart upload).
func (s *Server) collectUploadURLs(ctx context.Context, v store.Video) {
	if v.UploadID != "" {
		return
	}
	due := s.now().Add(s.cfg.Uploads.URLTTL)
	if err := s.db.AddGarbage(ctx, store.Garbage{Key: layout.Upload(v.ID), Due: due}); err != nil {
		s.log.Warn("list a completed upload's staging object for deletion", "video_id", v.ID, "error", err)
	}
}

// The sweep's batch sizes and the lease of a claimed garbage item.
const (
	sweepBatch   = 100
	garbageLease = 10 * time.Minute
)

func (s *Server) sweepLoop(ctx context.Context) {
	s.every(ctx, s.cfg.Uploads.SweepInterval, "sweep expired uploads", s.sweepUploads)
}

// every runs work every interval until ctx ends; a failure is logged as what went wrong and
// left to the next round.
func (s *Server) every(ctx context.Context, interval time.Duration, what string, work func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := work(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn(what, "error", err)
			}
		}
	}
}

// sweepUploads deletes the uploads not completed within Uploads.Expiry, then every object on
// the garbage list that is due. Every replica sweeps: a video is expired by one of them (the
// delete of its row is the claim), garbage items are claimed with a lease, and deleting an
// object twice is harmless.
func (s *Server) sweepUploads(ctx context.Context) error {
	now := s.now()
	for {
		expired, err := s.db.ExpireUploads(ctx, now.Add(-s.cfg.Uploads.Expiry), sweepBatch, func(e store.ExpiredUpload) []store.Garbage {
			return []store.Garbage{
				{Key: layout.Source(e.ID), UploadID: e.UploadID, Due: now},
				{Key: layout.Upload(e.ID), Due: now},
				// A single-PUT URL handed out just before the expiry may still write.
				{Key: layout.Upload(e.ID), Due: now.Add(s.cfg.Uploads.URLTTL)},
			}
		})
		if err != nil {
			return err
		}
		for _, e := range expired {
			s.log.Info("deleted an upload never completed", "video_id", e.ID)
		}
		if len(expired) < sweepBatch {
			break
		}
	}
	var errs []error
	for {
		items, err := s.db.ClaimGarbage(ctx, now, garbageLease, sweepBatch)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, g := range items {
			if err := s.deleteGarbage(ctx, g); err != nil {
				errs = append(errs, err) // due again when its lease ends
			}
		}
		if len(items) < sweepBatch {
			return errors.Join(errs...)
		}
	}
}

func (s *Server) deleteGarbage(ctx context.Context, g store.Garbage) error {
	if g.UploadID != "" {
		if err := s.blobs.(storage.Multipart).AbortMultipart(ctx, g.Key, g.UploadID); err != nil {
			return err
		}
	}
	if err := s.blobs.Delete(ctx, g.Key); err != nil {
		return err
	}
	return s.db.DropGarbage(ctx, g.ID)
}
