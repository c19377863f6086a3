package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	files := fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html><div id=root></div>")},
		"favicon.svg":         {Data: []byte("<svg/>")},
		"assets/app-abc1.js":  {Data: []byte("console.log(1)")},
		"assets/app-abc1.css": {Data: []byte("body{}")},
	}
	h := handler(files)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantCache          string
		wantBody           string
	}{
		{"root is the app", "GET", "/", 200, "no-cache", "id=root"},
		{"deep link is the app", "GET", "/watch/abcdefghijk", 200, "no-cache", "id=root"},
		{"index.html itself", "GET", "/index.html", 200, "no-cache", "id=root"},
		{"hashed asset is immutable", "GET", "/assets/app-abc1.js", 200, "public, max-age=31536000, immutable", "console.log"},
		{"favicon", "GET", "/favicon.svg", 200, "public, max-age=3600", "<svg/>"},
		{"missing asset is 404, not html", "GET", "/assets/gone-1234.js", 404, "no-store", "not found"},
		{"directory is the app", "GET", "/assets", 200, "no-cache", "id=root"},
		{"post refused", "POST", "/upload", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if got := rec.Code; got != tt.wantStatus {
				t.Fatalf("status = %d, want %d", got, tt.wantStatus)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
			}
			if got := rec.Body.String(); !strings.Contains(got, tt.wantBody) {
				t.Errorf("body = %q, want it to contain %q", got, tt.wantBody)
			}
		})
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	h := handler(fstest.MapFS{".gitkeep": {}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/watch/x", nil))
	if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got := rec.Body.String(); !strings.Contains(got, "run <code>make web</code>") {
		t.Errorf("body = %q, want the make web hint", got)
	}
}

func TestEmbeddedHandlerServes(t *testing.T) {
	// Whether or not the app is built, the embedded handler answers: the app or the 503 page.
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 200 or 503", rec.Code)
	}
}

// TestSwaggerUIEmbedded checks that the web build put the files of the API docs where
// SwaggerUI finds them. It needs the build (`make web`), which `make test` runs first.
func TestSwaggerUIEmbedded(t *testing.T) {
	if _, err := fs.Stat(dist, "dist/index.html"); err != nil {
		t.Skip("the web app is not built: run make web")
	}
	for _, name := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt"} {
		b, err := fs.ReadFile(SwaggerUI(), name)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v; want the file of swagger-ui-dist", name, len(b), err)
		}
	}
}
