package storage

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// sign computes the hex HMAC-SHA256 of method+"\n"+key+"\n"+expires, followed for a part
// upload by "\n"+uploadId+"\n"+partNumber and for a size-bound URL by "\nsize="+size (the
// part argument). Object URLs thus sign what they always did. Keys hold no newline and expires
// is a number, so an object URL's payload is never a part URL's: neither kind of URL can be
// turned into the other; upload IDs and part numbers never hold "=", so no field passes for
// the size, and dropping the size from a URL breaks its signature.
func (l *Local) sign(method, key string, expires int64, part ...string) string {
	m := hmac.New(sha256.New, l.secret)
	_, _ = io.WriteString(m, method+"\n"+key+"\n"+strconv.FormatInt(expires, 10))
	for _, p := range part {
		_, _ = io.WriteString(m, "\n"+p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Handler serves the presigned URLs: GET (and HEAD) and PUT of
// BlobPath + key + "?expires=<unix>&sig=<hex>", and PUT of a multipart upload's part to
// BlobPath + key + "?uploadId=<id>&partNumber=<n>&expires=<unix>&sig=<hex>", answered with the
// part's ETag as S3 does (404 when the upload is gone). Mount it so it sees the full path, e.g.
// mux.Handle(storage.BlobPath, l.Handler()). A missing, tampered or expired signature gets 403,
// a missing object 404, both with a JSON {"error": "…"} body. GET supports Range requests.
//
// The signature in the URL is the only credential (no cookies), so any origin may use the URLs:
// CORS preflights are answered and responses carry Access-Control-Allow-Origin: *, letting
// browsers upload straight to a presigned PUT URL, and read the ETag of the parts they upload.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(l.serveHTTP)
}

func (l *Local) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges, Last-Modified, ETag")
	h.Set("X-Content-Type-Options", "nosniff")

	key, ok := strings.CutPrefix(r.URL.Path, BlobPath)
	if !ok || key == "" {
		writeError(w, http.StatusNotFound, "no such blob path; expected "+BlobPath+"{key}")
		return
	}
	var signedMethod string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		signedMethod = http.MethodGet
	case http.MethodPut:
		signedMethod = http.MethodPut
	case http.MethodOptions:
		l.preflight(w, r)
		return
	default:
		h.Set("Allow", "GET, HEAD, PUT, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on blobs", r.Method))
		return
	}
	if msg := l.verify(signedMethod, key, r); msg != "" {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	// A valid signature implies a valid key, since only valid keys are signed; checking again
	// keeps the file system safe even if the secret leaked.
	if err := ValidateKey(key); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if signedMethod == http.MethodPut && isPartURL(r) {
		l.servePart(w, r, key)
		return
	}
	if signedMethod == http.MethodPut {
		l.servePut(w, r, key)
		return
	}
	l.serveGet(w, r, key)
}

// verify checks the URL's signature and expiry; it returns why they are not acceptable, or "".
func (l *Local) verify(method, key string, r *http.Request) string {
	q := r.URL.Query()
	expStr, sigStr := q.Get("expires"), q.Get("sig")
	if expStr == "" || sigStr == "" {
		return "missing signature: blob URLs must be presigned (expires and sig parameters)"
	}
	expires, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil {
		return "malformed expires parameter"
	}
	got, err := hex.DecodeString(sigStr)
	if err != nil {
		return "malformed sig parameter"
	}
	var part []string
	if isPartURL(r) {
		part = []string{q.Get("uploadId"), q.Get("partNumber")}
	}
	if q.Has("size") {
		part = append(part, sizeField+q.Get("size"))
	}
	want, _ := hex.DecodeString(l.sign(method, key, expires, part...))
	if !hmac.Equal(got, want) {
		return "signature does not match this URL and method"
	}
	if l.now().Unix() > expires {
		return "presigned URL has expired"
	}
	return ""
}

func (l *Local) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (l *Local) serveGet(w http.ResponseWriter, r *http.Request, key string) {
	f, fi, err := l.open(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("object %q not found", key))
		return
	}
	if err != nil {
		l.log.Error("open blob", "key", key, "error", err)
		writeError(w, http.StatusInternalServerError, "cannot read the object")
		return
	}
	defer f.Close()
	ct := contentType(key)
	if ct == "" {
		// Never sniff: objects are user uploads, served from the coordinator's origin.
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// sizeField starts the signed field of a size-bound URL (PresignPutSize, PresignPartSize).
const sizeField = "size="

// putLimit is the most bytes the request's URL lets it store, and whether the URL itself
// (rather than MaxPutSize) sets it. The signature has been verified, so the size is ours.
func (l *Local) putLimit(r *http.Request) (int64, bool) {
	n, err := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	if err != nil || n < 0 || n >= l.maxPut {
		return l.maxPut, false
	}
	return n, true
}

// tooLarge explains a 413.
func (l *Local) tooLarge(r *http.Request) string {
	limit, declared := l.putLimit(r)
	if declared {
		return fmt.Sprintf("this upload URL accepts at most the %d bytes declared for it; the body is larger", limit)
	}
	return fmt.Sprintf("the body exceeds the limit of %d bytes", limit)
}

// boundBody returns the request's body cut off past what its URL allows; it answers 413 and
// returns false when the declared Content-Length is already over.
func (l *Local) boundBody(w http.ResponseWriter, r *http.Request) (io.Reader, bool) {
	limit, _ := l.putLimit(r)
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, l.tooLarge(r))
		return nil, false
	}
	return http.MaxBytesReader(w, r.Body, limit), true
}

func (l *Local) servePut(w http.ResponseWriter, r *http.Request, key string) {
	body, ok := l.boundBody(w, r)
	if !ok {
		return
	}
	err := l.Put(r.Context(), key, body, r.ContentLength)
	if err != nil {
		l.writePutError(w, r, key, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// isPartURL reports whether the request is for a multipart upload's part. Either parameter
// makes it one, as in S3, and then the signature must cover both.
func isPartURL(r *http.Request) bool {
	q := r.URL.Query()
	return q.Has("uploadId") || q.Has("partNumber")
}

func (l *Local) servePart(w http.ResponseWriter, r *http.Request, key string) {
	body, ok := l.boundBody(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil {
		n = 0 // refused by putPart like any number out of range
	}
	etag, err := l.putPart(r.Context(), key, q.Get("uploadId"), n, body, r.ContentLength)
	switch {
	case err == nil:
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, ErrNoSuchUpload):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no multipart upload %q of object %q: it is unknown, completed or aborted", q.Get("uploadId"), key))
	case errors.Is(err, ErrInvalidPart):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		l.writePutError(w, r, key, err)
	}
}

// writePutError answers a PUT whose body could not be stored.
func (l *Local) writePutError(w http.ResponseWriter, r *http.Request, key string, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, l.tooLarge(r))
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "body ended before Content-Length bytes arrived")
	case r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		writeError(w, http.StatusBadRequest, "request canceled")
	default:
		l.log.Error("put blob", "key", key, "error", err)
		writeError(w, http.StatusInternalServerError, "cannot store the object")
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
