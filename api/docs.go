package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

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

// The interactive docs are Swagger UI, loaded from a CDN at a pinned version with Subresource
// Integrity, so the binary stays small and a tampered file is refused by the browser.
const swaggerUI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.32.0/"

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sunomi API</title>
<link rel="stylesheet" href="` + swaggerUI + `swagger-ui.css"
  integrity="sha384-3nuX7df3EaAoiqLBeyS1Ola0Gpg9ryJKVtarubwfnA1cOH8AWHUdbPSIvEqPZ9VH" crossorigin="anonymous">
</head>
<body>
<div id="docs"></div>
<script src="` + swaggerUI + `swagger-ui-bundle.js"
  integrity="sha384-7xcoc6ZKDFF7Ek627QTC3Bg/K+5Y36NJ8MWAE43D2m6+3Sh9XO3tdsfHhrS8gNIQ" crossorigin="anonymous"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`

// docsInit is a separate file so the page's CSP needs no 'unsafe-inline' script.
const docsInit = `window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#docs", deepLinking: true});
`

func serveDocs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; "+
		"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; frame-ancestors 'none'")
	_, _ = w.Write([]byte(docsPage))
}

func serveDocsInit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write([]byte(docsInit))
}
