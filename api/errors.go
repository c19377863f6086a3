package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
)

// Error codes of the {"error": {"code", …}} body.
const (
	codeInvalid      = "invalid_request"
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "not_found"
	codeConflict     = "conflict"
	codeTooLarge     = "too_large"
	codeRateLimited  = "rate_limited"
	codeUnavailable  = "unavailable"
	codeInternal     = "internal"
)

// httpError is an error with the status and body a client should see.
type httpError struct {
	status  int
	code    string
	message string
	fields  map[string]string
}

func (e *httpError) Error() string { return e.message }

func errInvalid(msg string, fields map[string]string) *httpError {
	return &httpError{status: http.StatusBadRequest, code: codeInvalid, message: msg, fields: fields}
}

func errField(field, problem string) *httpError {
	return errInvalid(field+": "+problem, map[string]string{field: problem})
}

var (
	errUnauthorized = &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "sign in first: this needs a valid access token in the Authorization header"}
	errNotFound     = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such video"}
)

func errForbidden(msg string) *httpError {
	return &httpError{status: http.StatusForbidden, code: codeForbidden, message: msg}
}

func errConflict(msg string) *httpError {
	return &httpError{status: http.StatusConflict, code: codeConflict, message: msg}
}

func errUnavailable(msg string) *httpError {
	return &httpError{status: http.StatusServiceUnavailable, code: codeUnavailable, message: msg}
}

// handle runs a handler's body and answers the error it returns, if any, through fail.
// Handlers of the generated oapi.ServerInterface are written as
//
//	func (s *Server) GetVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
//		s.handle(w, r, func() error { … return err … })
//	}
//
// so a failure is returned, never written by hand and then forgotten to return from.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, body func() error) {
	if err := body(); err != nil {
		s.fail(w, r, err)
	}
}

// statusClientClosedRequest is nginx's status for a request its client abandoned.
const statusClientClosedRequest = 499

// fail writes err as the JSON error body. Anything that is not an *httpError is an internal
// failure: it is logged with the request and the client learns nothing about it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if !errors.As(err, &he) && r.Context().Err() != nil {
		// The client went away (a search box abandons a request at each keystroke) and its
		// statements were canceled on its behalf: nothing failed on our side. 499, as nginx
		// counts such requests, keeps them out of the 5xx ratio the alerts watch.
		s.log.Debug("request abandoned by its client", "method", r.Method, "path", r.URL.Path, "error", err)
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	if he == nil {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		he = &httpError{status: http.StatusInternalServerError, code: codeInternal, message: "something went wrong on our side; please try again"}
	}
	var retry *retryError
	if errors.As(err, &retry) {
		w.Header().Set("Retry-After", strconv.Itoa(retry.seconds))
	}
	var body oapi.Error
	body.Error = oapi.ErrorDetail{Code: he.code, Message: he.message}
	if len(he.fields) > 0 {
		body.Error.Fields = &he.fields
	}
	writeJSON(w, he.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writePrivateJSON answers 200 with a body that depends on who asks (their own lists, things
// only they or moderators see): no shared cache may keep it, and the browser asks again each
// time.
func writePrivateJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "private, no-cache")
	writeJSON(w, http.StatusOK, v)
}

// maxBodyBytes bounds every JSON request body: the largest legitimate one (an upload with a
// 5,000-character description) is far smaller.
const maxBodyBytes = 64 << 10

// userRequest is the signed-in caller and their decoded JSON body, how every handler that acts
// on a user's behalf starts: sign-in is checked first, so an anonymous caller gets 401 whatever
// they sent.
func userRequest[T any](w http.ResponseWriter, r *http.Request) (store.User, T, error) {
	var req T
	user, err := requireUser(r)
	if err != nil {
		return user, req, err
	}
	return user, req, decode(w, r, &req)
}

// readBody reads a request body of at most limit bytes; what names the body in the answer to
// a larger one ("request body", "caption file").
func readBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
				message: fmt.Sprintf("the %s is over %d KiB", what, limit>>10)}
		}
		return nil, errInvalid("could not read the request body", nil)
	}
	return data, nil
}

// decode reads a JSON request body into dst strictly: one object, no unknown fields, valid
// UTF-8, no more than maxBodyBytes. Its errors are *httpError with the offending field named.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &httpError{status: http.StatusUnsupportedMediaType, code: codeInvalid, message: "send the body as application/json"}
	}
	data, err := readBody(w, r, maxBodyBytes, "request body")
	if err != nil {
		return err
	}
	// encoding/json would silently turn invalid UTF-8 into U+FFFD; refuse it instead.
	if !utf8.Valid(data) {
		return errInvalid("the request body is not valid UTF-8", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errInvalid("the request body must hold a single JSON object", nil)
	}
	return nil
}

// jsonError turns encoding/json's errors into sentences with field names.
func jsonError(err error) *httpError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errInvalid("the request body is empty; send a JSON object", nil)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errInvalid("the request body is not valid JSON", nil)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errInvalid(fmt.Sprintf("the request body must be a JSON object, not %s", typ.Value), nil)
		}
		return errField(field, fmt.Sprintf("must be %s, not %s", jsonType(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errField(field, "unknown field")
	default:
		return errInvalid("the request body is not valid JSON: "+err.Error(), nil)
	}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return kind
	}
}

// orNotFound returns as when err is the store's "not found", else err: only the handler knows
// which of the request's things was missing.
func orNotFound(err error, as *httpError) error {
	if errors.Is(err, store.ErrNotFound) {
		return as
	}
	return err
}
