package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFailAbandonedRequest: a request whose client went away fails on the statements canceled
// on its behalf; that is no internal error — no 500 for the alerts' 5xx ratio, no error log —
// while the same error on a live request still is one.
func TestFailAbandonedRequest(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	canceledStatement := errors.New("search: ERROR: canceling statement due to user request (SQLSTATE 57014)")

	gone, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.fail(rec, httptest.NewRequest(http.MethodGet, "/api/v1/search?q=tutori", nil).WithContext(gone), canceledStatement)
	if rec.Code != statusClientClosedRequest {
		t.Errorf("abandoned request: status %d, want %d", rec.Code, statusClientClosedRequest)
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Errorf("abandoned request logged as a failure:\n%s", logs.String())
	}

	rec = httptest.NewRecorder()
	s.fail(rec, httptest.NewRequest(http.MethodGet, "/api/v1/search?q=tutori", nil), canceledStatement)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "request failed") {
		t.Errorf("live request: status %d, logged %q; want 500 and the error logged", rec.Code, logs.String())
	}
}
