package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// assetRef finds the scripts and style sheets a page loads.
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// TestDocsServedOffline checks that /api/docs loads everything from this service: no URL of
// another host in the page or its CSP, and every script and style sheet it names served here.
func TestDocsServedOffline(t *testing.T) {
	docs := fstest.MapFS{
		"swagger-ui-bundle.js":             {Data: []byte("window.SwaggerUIBundle = function () {};")},
		"swagger-ui-bundle.js.LICENSE.txt": {Data: []byte("/*! licence notices */")},
		"swagger-ui.css":                   {Data: []byte(".swagger-ui{}")},
		"index.html":                       {Data: []byte("not one of the page's files")},
	}
	e := newEnv(t, withConfig(func(c *Config) { c.Docs = docs }))

	page := get(t, e.URL+"/api/docs", nil)
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /api/docs: status %d, type %q", page.status, page.header.Get("Content-Type"))
	}
	csp := page.header.Get("Content-Security-Policy")
	for what, text := range map[string]string{"page": string(page.body), "CSP": csp} {
		if strings.Contains(text, "http:") || strings.Contains(text, "https:") || strings.Contains(text, "//") {
			t.Errorf("the %s names another host:\n%s", what, text)
		}
	}
	if !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q, want scripts from this origin only", csp)
	}

	wantTypes := map[string]string{
		"/api/docs/swagger-ui-bundle.js": "text/javascript",
		"/api/docs/swagger-ui.css":       "text/css",
		"/api/docs/init.js":              "text/javascript",
	}
	refs := assetRef.FindAllStringSubmatch(string(page.body), -1)
	if len(refs) != len(wantTypes) {
		t.Errorf("the page loads %v, want the %d files of %v", refs, len(wantTypes), wantTypes)
	}
	for _, m := range refs {
		path := m[1]
		want, ok := wantTypes[path]
		if !ok {
			t.Errorf("the page loads %s, which is not one of Swagger UI's files", path)
			continue
		}
		r := get(t, e.URL+path, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), want) || len(r.body) == 0 {
			t.Errorf("GET %s: status %d, type %q, %d bytes; want 200, %s", path, r.status, r.header.Get("Content-Type"), len(r.body), want)
		}
	}
	if init := get(t, e.URL+"/api/docs/init.js", nil); !strings.Contains(string(init.body), `"/api/v1/openapi.json"`) ||
		!strings.Contains(string(init.body), "validatorUrl: null") {
		t.Errorf("init.js %q: want it to load the contract and no validator badge", init.body)
	}
	// Only the page's files: not whatever else the directory holds.
	for _, path := range []string{"/api/docs/index.html", "/api/docs/..%2Fopenapi.yaml"} {
		if r := get(t, e.URL+path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, r.status)
		}
	}
}

// TestDocsNotBuilt: a binary built without the web build says how to get the docs.
func TestDocsNotBuilt(t *testing.T) {
	e := newEnv(t)
	page := get(t, e.URL+"/api/docs", nil)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), "make web") ||
		!strings.Contains(string(page.body), `href="/api/v1/openapi.json"`) {
		t.Errorf("GET /api/docs without the docs' files: status %d, body %s", page.status, page.body)
	}
	if r := get(t, e.URL+"/api/docs/swagger-ui-bundle.js", nil); r.status != http.StatusNotFound {
		t.Errorf("GET the bundle without it: status %d, want 404", r.status)
	}
}
