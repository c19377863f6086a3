// Package web serves Sunomi's single-page app (the React + TypeScript + Vite project in this
// directory), built into dist/ by `make web` and embedded in the binary. Hashed assets under
// /assets/ are cached for a year; every other path gets index.html, uncached, so the app's own
// router handles deep links such as /watch/{id}.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// notBuilt is served when dist/ holds no index.html: a fresh clone before `make web`.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sunomi: web app not built</title></head>
<body><h1>The web app is not built</h1>
<p>The web app is not built: run <code>make web</code> and rebuild the binary. The API is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>
`

// swaggerUIDir is where the web build copies the files of Swagger UI (npm's swagger-ui-dist)
// that the API's /api/docs page loads; vite.config.ts names the same directory.
const swaggerUIDir = "dist/swagger-ui"

// SwaggerUI holds the embedded Swagger UI files (swagger-ui-bundle.js, swagger-ui.css), for
// api.Config.Docs; it holds nothing before `make web`.
func SwaggerUI() fs.FS {
	sub, err := fs.Sub(dist, swaggerUIDir)
	if err != nil {
		panic(err) // a constant, valid path
	}
	return sub
}

// Handler serves the embedded app.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at compile time; a failure here is a build bug
	}
	return handler(sub)
}

func handler(files fs.FS) http.Handler {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(notBuilt))
		})
	}
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" && isFile(files, name) {
			if strings.HasPrefix(name, "assets/") {
				// Vite puts a content hash in every name under assets/.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "public, max-age=3600")
			}
			static.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			// A missing hashed asset (an old index.html after a deploy) must not become HTML.
			w.Header().Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(index)
	})
}

func isFile(files fs.FS, name string) bool {
	st, err := fs.Stat(files, name)
	return err == nil && !st.IsDir()
}
