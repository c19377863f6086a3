package api

// Avatars: presigned uploads, checked by decoding the image in full, served from /avatars/.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.Decode knows the avatar formats
	_ "image/png"
	"io"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	_ "golang.org/x/image/webp"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage"
)

// Avatars are small images, decoded in full to check them; the side limit bounds the
// memory a decode takes (4096² RGBA is 64 MiB).
const (
	maxAvatarSize = 2 << 20
	maxAvatarSide = 4096
)

// Avatar images: the declared type picks the file extension. An upload lands under a random
// name; once checked, the image is stored again under a name made of its content hash, the
// name it is served by with a year-long Cache-Control. No upload URL writes that name, so what
// is served under it never changes.
var (
	avatarExt = map[oapi.AvatarUploadRequestContentType]string{
		oapi.Imagejpeg: ".jpg", oapi.Imagepng: ".png", oapi.Imagewebp: ".webp",
	}
	// avatarFormat is image.DecodeConfig's name of each extension's format.
	avatarFormat = map[string]string{".jpg": "jpeg", ".png": "png", ".webp": "webp"}
	avatarFile   = regexp.MustCompile(`^[A-Za-z0-9_-]{22}\.(jpg|png|webp)$`)
)

const avatarsPath = "/avatars/"

func avatarKey(userID int64, file string) string {
	return "avatars/" + strconv.FormatInt(userID, 10) + "/" + file
}

func avatarURL(userID int64, file string) string {
	return avatarsPath + strconv.FormatInt(userID, 10) + "/" + file
}

// CreateAvatarUpload hands out a presigned PUT for a new avatar image.
func (s *Server) CreateAvatarUpload(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.AvatarUploadRequest](w, r)
		if err != nil {
			return err
		}
		ext, ok := avatarExt[req.ContentType]
		switch {
		case !ok:
			err = errField("contentType", "must be image/jpeg, image/png or image/webp")
		case req.Size <= 0:
			err = errField("size", "must be the image's size in bytes")
		case req.Size > maxAvatarSize:
			err = &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
				message: fmt.Sprintf("the image is %s; an avatar may be at most %s", formatBytes(req.Size), formatBytes(maxAvatarSize)),
				fields:  map[string]string{"size": "over 2 MiB"}}
		}
		if err != nil {
			return err
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		file := base64.RawURLEncoding.EncodeToString(b) + ext
		url, err := s.presignUpload(r.Context(), avatarKey(user.ID, file), req.Size)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, oapi.AvatarUpload{UploadId: file, Url: url, ExpiresAt: s.now().Add(s.cfg.Uploads.URLTTL)})
		return nil
	})
}

// CompleteAvatarUpload checks the uploaded file really is an image of the declared type and
// makes it the caller's avatar; anything else is deleted.
func (s *Server) CompleteAvatarUpload(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		user, req, err := userRequest[oapi.AvatarCompleteRequest](w, r)
		if err != nil {
			return err
		}
		if !avatarFile.MatchString(req.UploadId) {
			return errField("uploadId", "is not an uploadId this API returned")
		}
		ctx := r.Context()
		key := avatarKey(user.ID, req.UploadId)
		info, err := s.blobs.Stat(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return errConflict("nothing has been uploaded for this uploadId yet: PUT the image to its URL first")
		}
		if err != nil {
			return err
		}
		// refuse deletes what was uploaded and returns why it was refused.
		refuse := func(msg string) error {
			if err := s.blobs.Delete(ctx, key); err != nil {
				s.log.Warn("delete a refused avatar", "key", key, "error", err)
			}
			return errField("uploadId", msg)
		}
		if info.Size > maxAvatarSize {
			return refuse("the image is over 2 MiB")
		}
		rc, err := s.blobs.Get(ctx, key)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxAvatarSize+1))
		rc.Close()
		if err != nil {
			return err
		}
		if problem := checkImage(data, avatarFormat[path.Ext(req.UploadId)]); problem != "" {
			return refuse(problem)
		}
		file, err := s.storeAvatar(ctx, user.ID, req.UploadId, data)
		if err != nil {
			return err
		}
		previous, u, err := s.db.SetAvatar(ctx, user.ID, avatarURL(user.ID, file))
		if err != nil {
			return err
		}
		s.cleanAvatars(ctx, user.ID, file, previous)
		writeJSON(w, http.StatusOK, toAPIUser(u))
		return nil
	})
}

// storeAvatar stores a checked image, uploaded as upload, under the name of its content and
// returns that name. The uploaded object goes, and is listed for deletion again once its URL
// has expired, since that URL may still write it.
func (s *Server) storeAvatar(ctx context.Context, userID int64, upload string, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	// 16 bytes of the hash make a name of the same shape as an upload's (avatarFile).
	file := base64.RawURLEncoding.EncodeToString(sum[:16]) + path.Ext(upload)
	if err := s.blobs.Put(ctx, avatarKey(userID, file), bytes.NewReader(data), int64(len(data))); err != nil {
		return "", err
	}
	staged := avatarKey(userID, upload)
	if err := s.blobs.Delete(ctx, staged); err != nil {
		s.log.Warn("delete an avatar upload", "key", staged, "error", err)
	}
	if err := s.db.AddGarbage(ctx, store.Garbage{Key: staged, Due: s.now().Add(s.cfg.Uploads.URLTTL)}); err != nil {
		s.log.Warn("list an avatar upload for deletion", "key", staged, "error", err)
	}
	return file, nil
}

// checkImage decodes data in full as an image of format; it returns the problem, or "".
func checkImage(data []byte, format string) string {
	if len(data) > maxAvatarSize {
		return "the image is over 2 MiB"
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "the file is not a JPEG, PNG or WebP image"
	}
	if got != format {
		return fmt.Sprintf("the file is a %s image, not the %s declared", strings.ToUpper(got), strings.ToUpper(format))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide {
		return fmt.Sprintf("the image is %d×%d pixels; an avatar may be at most %d×%d", cfg.Width, cfg.Height, maxAvatarSide, maxAvatarSide)
	}
	// The header alone proves little: a truncated or corrupt image fails here.
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return "the image is damaged: " + err.Error()
	}
	return ""
}

// cleanAvatars deletes the user's previous avatar and uploads abandoned long enough that
// their URLs have expired. Failures only leave garbage behind, so they are logged.
func (s *Server) cleanAvatars(ctx context.Context, userID int64, current, previous string) {
	prefix := avatarsPath + strconv.FormatInt(userID, 10) + "/"
	if file, ok := strings.CutPrefix(previous, prefix); ok && file != current && avatarFile.MatchString(file) {
		if err := s.blobs.Delete(ctx, avatarKey(userID, file)); err != nil {
			s.log.Warn("delete the previous avatar", "user_id", userID, "error", err)
		}
	}
	objects, err := s.blobs.List(ctx, avatarKey(userID, ""))
	if err != nil {
		s.log.Warn("list avatar uploads", "user_id", userID, "error", err)
		return
	}
	for _, o := range objects {
		if path.Base(o.Key) != current && s.now().Sub(o.ModTime) > s.cfg.Uploads.URLTTL {
			if err := s.blobs.Delete(ctx, o.Key); err != nil {
				s.log.Warn("delete an abandoned avatar upload", "key", o.Key, "error", err)
			}
		}
	}
}

// serveAvatar serves GET /avatars/{userId}/{file}: a user's current avatar only, so uploads
// that were never checked are never served.
func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		notFound := &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such avatar"}
		file := chi.URLParam(r, "file")
		userID, err := strconv.ParseInt(chi.URLParam(r, "userId"), 10, 64)
		if err != nil || !avatarFile.MatchString(file) {
			return notFound
		}
		u, err := s.db.UserByID(r.Context(), userID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.AvatarURL != avatarURL(userID, file)) {
			return notFound
		}
		if err != nil {
			return err
		}
		rc, err := s.blobs.Get(r.Context(), avatarKey(userID, file))
		if errors.Is(err, storage.ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		h := w.Header()
		h.Set("Content-Type", "image/"+avatarFormat[path.Ext(file)])
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Access-Control-Allow-Origin", "*")
		if rs, ok := rc.(io.ReadSeeker); ok {
			http.ServeContent(w, r, "", time.Time{}, rs)
			return nil
		}
		_, _ = io.Copy(w, rc)
		return nil
	})
}
