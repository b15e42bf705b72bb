package runtime

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// SourceHandler serves the DirSource directory dir read-only, for an
// HTTPSource to fetch from: GET and HEAD of /<name>_<tag>/chain.json and
// /<name>_<tag>/<layer file>, nothing else. There are no listings, and a
// path with .., a dotfile or more than two elements is not found, so the
// handler shows the images and nothing else of the disk; files are opened
// through os.Root, so a symlink out of dir is not followed either.
// Responses carry Content-Length and honour Range.
func SourceHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the image source is read-only", http.StatusMethodNotAllowed)
			return
		}
		name, ok := servedPath(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		// Opened per request, so that a directory made or replaced after
		// flotad started is served as it is now.
		root, err := os.OpenRoot(dir)
		if err != nil {
			http.Error(w, "image source unavailable", http.StatusInternalServerError)
			return
		}
		defer root.Close()
		f, err := root.Open(name)
		if errors.Is(err, fs.ErrPermission) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		ctype := "application/octet-stream"
		if strings.HasSuffix(name, "/chain.json") {
			ctype = "application/json"
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, name, st.ModTime(), f)
	})
}

// servedPath turns a request path /<name>_<tag>/<file> into the relative
// name to open, when both elements are plain names (see plainName).
func servedPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return "", false
	}
	img, file, ok := strings.Cut(rest, "/")
	if !ok || !plainName(img) || !plainName(file) || !strings.Contains(img, "_") {
		return "", false
	}
	return img + "/" + file, true
}
