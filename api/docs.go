package api

import (
	_ "embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sync"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON is the contract converted to JSON once, on first use.
var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	body, err := openAPIJSON()
	if err != nil {
		http.Error(w, "the embedded OpenAPI document is invalid", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(body)
}

// The interactive docs are Swagger UI, served from the binary (Config.Docs, which the web
// build fills from the swagger-ui-dist package): /api/docs works without internet access, and
// its CSP names no other host.
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sunomi API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`

// docsNotBuilt is the page when the binary was built without the web app's build.
const docsNotBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sunomi API</title></head>
<body><h1>Sunomi API</h1>
<p>The interactive docs are not built into this binary: run <code>make web</code> and rebuild it.
The contract is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
`

// docsAssets are the files of Swagger UI the page loads, and the bundle's licence notices (the
// bundle names the file), with their types.
var docsAssets = map[string]string{
	"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
	"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
	"swagger-ui.css":                   "text/css; charset=utf-8",
}

// docsInit is a separate file so the page's CSP needs no 'unsafe-inline' script. A null
// validatorUrl keeps Swagger UI from fetching a badge from validator.swagger.io.
const docsInit = `window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#docs", deepLinking: true, validatorUrl: null});
`

// docsCSP allows this origin alone; Swagger UI sets inline styles, and draws icons from data:
// URLs.
const docsCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", docsCSP)
	if !s.docsBuilt() {
		_, _ = w.Write([]byte(docsNotBuilt))
		return
	}
	_, _ = w.Write([]byte(docsPage))
}

func serveDocsInit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write([]byte(docsInit))
}

// serveDocsAsset serves one of docsAssets from Config.Docs.
func (s *Server) serveDocsAsset(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "file")
	contentType, ok := docsAssets[name]
	var body []byte
	var err error
	if ok && s.cfg.Docs != nil {
		body, err = fs.ReadFile(s.cfg.Docs, name)
	}
	if !ok || s.cfg.Docs == nil || err != nil {
		s.fail(w, r, &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such file of the API docs: " + name})
		return
	}
	w.Header().Set("Content-Type", contentType)
	// The files change with the binary only; an hour keeps an upgrade visible soon.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(body)
}

// docsBuilt reports whether Config.Docs holds every file the page loads.
func (s *Server) docsBuilt() bool {
	if s.cfg.Docs == nil {
		return false
	}
	for name := range docsAssets {
		if _, err := fs.Stat(s.cfg.Docs, name); err != nil {
			return false
		}
	}
	return true
}
