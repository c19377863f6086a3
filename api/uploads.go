package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// CreateUpload creates a video in status uploading and says where to upload its file: one
// presigned PUT for small files, an S3 multipart upload for large ones.
func (s *Server) CreateUpload(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		var req oapi.CreateUploadRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		user, err := requireUser(r)
		if err != nil {
			return err
		}
		n, err := s.validateUpload(req)
		if err != nil {
			return err
		}
		n.ID, n.OwnerID = newVideoID(), user.ID
		ctx := r.Context()
		if n.SourceSize > s.cfg.Uploads.SinglePutLimit {
			mp, ok := s.blobs.(storage.Multipart)
			if !ok {
				return errors.New("the blob store does not support multipart uploads")
			}
			n.PartSize = s.partSize(n.SourceSize)
			if n.UploadID, err = mp.CreateMultipart(ctx, layout.Source(n.ID)); err != nil {
				return err
			}
		}
		if err := s.db.CreateVideo(ctx, n); err != nil {
			return err
		}
		if err := s.grantUpload(ctx, n); err != nil {
			return err
		}
		v, err := s.db.Video(ctx, n.ID)
		if err != nil {
			return err
		}
		up, err := s.uploadState(r, v)
		if err != nil {
			return err
		}
		s.metrics.countUpload(uploadStarted)
		writeJSON(w, http.StatusCreated, oapi.UploadCreated{VideoId: v.ID, Upload: up})
		return nil
	})
}

func (s *Server) validateUpload(req oapi.CreateUploadRequest) (store.NewVideo, error) {
	fields := map[string]string{}
	n := store.NewVideo{
		Title:          strings.TrimSpace(req.Title),
		SourceFilename: strings.TrimSpace(req.Filename),
		SourceSize:     req.Size,
		Visibility:     store.Public,
	}
	checkTitle(n.Title, fields)
	if req.Description != nil {
		n.Description = *req.Description
		if problem := checkText(n.Description, maxDescription, true); problem != "" {
			fields["description"] = problem
		}
	}
	if req.Tags != nil {
		n.Tags = normaliseTags(*req.Tags, fields)
	}
	if req.Visibility != nil {
		n.Visibility = string(*req.Visibility)
		if !validVisibility(n.Visibility) {
			fields["visibility"] = "must be public, unlisted or private"
		}
	}
	if n.SourceFilename == "" {
		fields["filename"] = "must not be empty"
	} else if problem := checkText(n.SourceFilename, 255, false); problem != "" {
		fields["filename"] = problem
	}
	if n.SourceSize < 1 {
		fields["size"] = "must be the file's size in bytes, at least 1"
	}
	if len(fields) > 0 {
		return n, errInvalid("some fields are invalid", fields)
	}
	rejected, hold := s.terms.screenText(map[string]string{"title": n.Title, "description": n.Description, "tags": strings.Join(n.Tags, " ")})
	if len(rejected) > 0 {
		return n, errInvalid("some fields break this site's rules", rejected)
	}
	n.HeldReason = hold
	if n.SourceSize > s.cfg.Uploads.MaxSize {
		return n, &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
			message: fmt.Sprintf("the file is %s; the largest upload is %s", formatBytes(n.SourceSize), formatBytes(s.cfg.Uploads.MaxSize)),
			fields:  map[string]string{"size": "over the maximum upload size"}}
	}
	return n, nil
}

// partSize is the configured part size, raised when the file would need more parts than S3
// allows.
func (s *Server) partSize(size int64) int64 {
	ps := s.cfg.Uploads.PartSize
	if need := (size + storage.MaxParts - 1) / storage.MaxParts; need > ps {
		ps = need
	}
	return ps
}

func partCount(size, partSize int64) int { return int((size + partSize - 1) / partSize) }

// uploadState describes an upload: the PUT URL, or the multipart layout and the parts stored.
func (s *Server) uploadState(r *http.Request, v store.Video) (oapi.Upload, error) {
	exp := s.now().Add(s.cfg.Uploads.URLTTL)
	up := oapi.Upload{VideoId: v.ID, Size: v.SourceSize, ExpiresAt: exp}
	if v.UploadID == "" {
		url, err := s.presignUpload(r.Context(), layout.Upload(v.ID), v.SourceSize)
		if err != nil {
			return up, err
		}
		up.Method, up.Url = oapi.Put, &url
		return up, nil
	}
	parts, err := s.blobs.(storage.Multipart).ListParts(r.Context(), layout.Source(v.ID), v.UploadID)
	if err != nil {
		return up, err
	}
	uploaded := make([]oapi.UploadedPart, 0, len(parts))
	for _, p := range parts {
		uploaded = append(uploaded, oapi.UploadedPart{Number: p.Number, Size: p.Size})
	}
	count := partCount(v.SourceSize, v.PartSize)
	up.Method, up.PartSize, up.PartCount, up.UploadedParts = oapi.Multipart, &v.PartSize, &count, &uploaded
	return up, nil
}

// uploadingVideo loads the caller's video and checks it is still waiting for its file.
func (s *Server) uploadingVideo(r *http.Request, id string) (store.Video, error) {
	v, _, err := s.ownedVideo(r, id, false)
	if err != nil {
		return v, err
	}
	if v.Status != store.StatusUploading {
		return v, errConflict("the upload of this video is already complete")
	}
	return v, nil
}

// GetUpload returns the upload's state, with the parts already stored so a client can resume.
func (s *Server) GetUpload(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		v, err := s.uploadingVideo(r, id)
		if err != nil {
			return err
		}
		up, err := s.uploadState(r, v)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, up)
		return nil
	})
}

// PresignParts returns presigned URLs for parts of a multipart upload.
func (s *Server) PresignParts(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		var req oapi.PartsRequest
		if err := decode(w, r, &req); err != nil {
			return err
		}
		v, err := s.uploadingVideo(r, id)
		if err != nil {
			return err
		}
		if v.UploadID == "" {
			return errConflict("this upload is a single PUT; use the URL from the upload")
		}
		count := partCount(v.SourceSize, v.PartSize)
		if len(req.Parts) == 0 || len(req.Parts) > 1000 {
			return errField("parts", "ask for 1 to 1000 parts at a time")
		}
		out := oapi.PartURLs{ExpiresAt: s.now().Add(s.cfg.Uploads.URLTTL), Parts: make([]oapi.PartURL, 0, len(req.Parts))}
		mp, ok := s.blobs.(sizedMultipart)
		if !ok {
			return errors.New("the blob store cannot bind part URLs to their size")
		}
		for _, n := range req.Parts {
			if n < 1 || n > count {
				return errField("parts", fmt.Sprintf("part numbers go from 1 to %d", count))
			}
			url, err := mp.PresignPartSize(r.Context(), layout.Source(v.ID), v.UploadID, n, partBytes(n, count, v), s.cfg.Uploads.URLTTL)
			if err != nil {
				return err
			}
			out.Parts = append(out.Parts, oapi.PartURL{Number: n, Url: url})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// CompleteUpload checks the stored file, assembles multipart uploads, queues the video with
// its job due (the outbox) and tries to submit the job. A farm that is unreachable changes
// nothing for the caller: the video is queued, and reconciliation submits its job once the
// farm answers. Completing a video that already left uploading returns it as it is.
func (s *Server) CompleteUpload(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		v, _, err := s.ownedVideo(r, id, false)
		if err != nil {
			return err
		}
		if v.Status == store.StatusUploading {
			// One complete of a video at a time, over all replicas: a second one must not
			// move a file PUT meanwhile over the source the first has checked.
			unlock, err := s.db.LockUpload(r.Context(), id)
			if err != nil {
				return err
			}
			defer unlock()
			if v, err = s.db.Video(r.Context(), id); err != nil {
				return err
			}
		}
		if v.Status == store.StatusUploading {
			if err := s.finishSource(r, v); err != nil {
				return s.metrics.countUploadCheck(err)
			}
			queued, err := s.db.MarkUploaded(r.Context(), id, submitInlineTimeout)
			if err != nil {
				return err
			}
			if queued { // else a concurrent complete won, and submits
				s.metrics.countUpload(uploadCompleted)
				s.collectUploadURLs(r.Context(), v)
				ctx, cancel := context.WithTimeout(r.Context(), submitInlineTimeout)
				err := s.submitJob(ctx, id)
				cancel()
				if err != nil {
					s.log.Warn("submit job; reconciliation will try again", "video_id", id, "error", err)
				}
			}
			if v, err = s.db.Video(r.Context(), id); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, s.toAPIVideo(r, v))
		return nil
	})
}

// finishSource makes sure videos/{id}/source/original holds exactly the declared bytes, in a
// place no upload URL can write: a single PUT's object is moved there, a multipart upload is
// assembled there (its part URLs die with it). Checks made from now on cannot be undone by a
// late PUT.
func (s *Server) finishSource(r *http.Request, v store.Video) error {
	ctx := r.Context()
	key := layout.Source(v.ID)
	if v.UploadID == "" {
		mover, ok := s.blobs.(storage.Mover)
		if !ok {
			return errors.New("the blob store cannot move objects")
		}
		// ErrNotFound: nothing uploaded yet, or a complete that moved the file but failed
		// before it queued the video; the size check tells them apart.
		if err := mover.Move(ctx, layout.Upload(v.ID), key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	} else {
		mp := s.blobs.(storage.Multipart)
		parts, err := mp.ListParts(ctx, key, v.UploadID)
		if errors.Is(err, storage.ErrNoSuchUpload) {
			// A complete that assembled the parts but failed before it queued the video.
			return s.checkSourceSize(r, v)
		}
		if err != nil {
			return err
		}
		if err := checkParts(parts, v); err != nil {
			return err
		}
		if err := mp.CompleteMultipart(ctx, key, v.UploadID, parts); err != nil {
			if errors.Is(err, storage.ErrInvalidPart) {
				return errInvalid("the uploaded parts do not form the file: "+err.Error(), nil)
			}
			return err
		}
	}
	return s.checkSourceSize(r, v)
}

func (s *Server) checkSourceSize(r *http.Request, v store.Video) error {
	info, err := s.blobs.Stat(r.Context(), layout.Source(v.ID))
	if errors.Is(err, storage.ErrNotFound) {
		return errConflict("the file has not been uploaded yet")
	}
	if err != nil {
		return err
	}
	if info.Size != v.SourceSize {
		// The file goes, so that the next complete checks a new upload, never this one.
		if err := s.blobs.Delete(r.Context(), layout.Source(v.ID)); err != nil {
			return err
		}
		return errInvalid(fmt.Sprintf("the uploaded file has %d bytes but the upload declared %d; upload it again", info.Size, v.SourceSize), nil)
	}
	return nil
}

// checkParts verifies that every part is there with the size the layout gives it.
func checkParts(parts []storage.Part, v store.Video) error {
	count := partCount(v.SourceSize, v.PartSize)
	if len(parts) != count {
		missing := []string{}
		have := map[int]bool{}
		for _, p := range parts {
			have[p.Number] = true
		}
		for n := 1; n <= count && len(missing) < 10; n++ {
			if !have[n] {
				missing = append(missing, fmt.Sprint(n))
			}
		}
		return errConflict(fmt.Sprintf("%d of %d parts are uploaded; missing parts include %s", len(parts), count, strings.Join(missing, ", ")))
	}
	for i, p := range parts {
		want := partBytes(i+1, count, v)
		if p.Number != i+1 || p.Size != want {
			return errInvalid(fmt.Sprintf("part %d has %d bytes, expected %d; upload it again", p.Number, p.Size, want), nil)
		}
	}
	return nil
}

// partBytes is the size of part n of count of v's multipart upload.
func partBytes(n, count int, v store.Video) int64 {
	if n == count {
		return v.SourceSize - int64(count-1)*v.PartSize
	}
	return v.PartSize
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
