package runtime_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/runtime"
)

var (
	layerA = image.LayerID("sha256:" + strings.Repeat("a", 64))
	layerB = image.LayerID("sha256:" + strings.Repeat("b", 64))
)

// sourceDir makes a DirSource directory with web:1 (chain.json a list of
// IDs) and web:2 (as build.Export writes it), and, around it, what the
// handler must never show: a file beside the directory, a dotfile, a
// dot-directory, a subdirectory and a symlink out.
func sourceDir(t *testing.T) string {
	t.Helper()
	top := t.TempDir()
	src := filepath.Join(top, "src")
	for _, d := range []string{"web_1", "web_2", ".hidden", ".hidden_1", "web_1/sub"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeChain(t, src, "web_1", map[string]any{"image": "web:1", "layers": []image.LayerID{layerA, layerB}})
	writeChain(t, src, "web_2", map[string]any{"image": "web:2", "top": layerB, "layers": []map[string]any{
		{"id": layerA, "file": "base.btrfs", "size": 1}, {"id": layerB, "parent": layerA, "file": "app.btrfs", "size": 1}}})
	writeChain(t, src, ".hidden", map[string]any{"image": ".hidden:1"})
	writeChain(t, src, ".hidden_1", map[string]any{"image": ".hidden:1"})
	for name, content := range map[string]string{
		"web_1/" + strings.Repeat("b", 64) + ".btrfs": "B1",
		"web_2/app.btrfs": "B2",
		"web_1/.secret":   "secret",
		"../x":            "outside",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(top, "x"), filepath.Join(src, "web_1", "out.btrfs")); err != nil {
		t.Fatal(err)
	}
	return src
}

// recorder serves h and keeps the paths the handler was asked for, to
// show that a traversal reached it as sent and was refused there.
type recorder struct {
	mu    sync.Mutex
	paths []string
	h     http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.mu.Unlock()
	r.h.ServeHTTP(w, req)
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.paths) == 0 {
		return ""
	}
	return r.paths[len(r.paths)-1]
}

func TestSourceHandler(t *testing.T) {
	rec := &recorder{h: runtime.SourceHandler(sourceDir(t))}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	layer := "/web_1/" + strings.Repeat("b", 64) + ".btrfs"
	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		body               string // for a 2xx
		seen               string // the path the handler saw, when it matters
	}{
		{name: "chain", method: "GET", path: "/web_1/chain.json", status: 200, body: "json"},
		{name: "chain HEAD", method: "HEAD", path: "/web_1/chain.json", status: 200},
		{name: "layer by its ID", method: "GET", path: layer, status: 200, body: "B1"},
		{name: "layer by its file", method: "GET", path: "/web_2/app.btrfs", status: 200, body: "B2"},
		{name: "range", method: "GET", path: "/web_2/app.btrfs", header: map[string]string{"Range": "bytes=1-"}, status: 206, body: "2"},
		{name: "missing image", method: "GET", path: "/nope_1/chain.json", status: 404},
		{name: "missing layer", method: "GET", path: "/web_2/base.btrfs", status: 404},
		{name: "root", method: "GET", path: "/", status: 404},
		{name: "listing", method: "GET", path: "/web_1/", status: 404},
		{name: "image directory", method: "GET", path: "/web_1", status: 404},
		{name: "subdirectory", method: "GET", path: "/web_1/sub", status: 404},
		{name: "too deep", method: "GET", path: "/web_1/sub/x", status: 404},
		{name: "double slash", method: "GET", path: "//web_1/chain.json", status: 404},
		{name: "dot-dot", method: "GET", path: "/../x", status: 404, seen: "/../x"},
		{name: "escaped dot-dot", method: "GET", path: "/%2e%2e/x", status: 404, seen: "/../x"},
		{name: "escaped slash", method: "GET", path: "/web_1/..%2f..%2fx", status: 404, seen: "/web_1/../../x"},
		{name: "dot-dot in image", method: "GET", path: "/web_1/../web_2/app.btrfs", status: 404, seen: "/web_1/../web_2/app.btrfs"},
		{name: "dot directory", method: "GET", path: "/.hidden/chain.json", status: 404},
		{name: "dot directory with a tag", method: "GET", path: "/.hidden_1/chain.json", status: 404},
		{name: "dotfile", method: "GET", path: "/web_1/.secret", status: 404},
		{name: "symlink out", method: "GET", path: "/web_1/out.btrfs", status: 404},
		{name: "POST", method: "POST", path: "/web_1/chain.json", status: 405},
		{name: "PUT", method: "PUT", path: "/web_1/new.btrfs", status: 405},
		{name: "DELETE", method: "DELETE", path: layer, status: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.seen != "" && rec.last() != tc.seen {
				t.Fatalf("handler saw %q, want %q: the test did not send what it meant to", rec.last(), tc.seen)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %s, want %d (body %q)", tc.method, tc.path, resp.Status, tc.status, body)
			}
			switch {
			case tc.status == 405:
				if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
					t.Errorf("Allow: %q", got)
				}
			case tc.status >= 300:
			case tc.method == "HEAD":
				if len(body) != 0 || resp.ContentLength <= 0 {
					t.Errorf("HEAD: body %q, Content-Length %d", body, resp.ContentLength)
				}
			case tc.body == "json":
				if resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"web:1"`) {
					t.Errorf("chain.json: %s %q", resp.Header.Get("Content-Type"), body)
				}
			case string(body) != tc.body:
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if tc.status < 300 && resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) && tc.method != "HEAD" {
				t.Errorf("Content-Length %q for a body of %d", resp.Header.Get("Content-Length"), len(body))
			}
		})
	}
}

// mounted serves the source under /images/, as flotad does.
func mounted(dir string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/images/", http.StripPrefix("/images", runtime.SourceHandler(dir)))
	return mux
}

func TestHTTPSource(t *testing.T) {
	dir := sourceDir(t)
	bare := httptest.NewServer(runtime.SourceHandler(dir))
	defer bare.Close()
	mnt := httptest.NewServer(mounted(dir))
	defer mnt.Close()
	for _, base := range []string{bare.URL, bare.URL + "/", mnt.URL + "/images", mnt.URL + "/images/"} {
		t.Run(base, func(t *testing.T) {
			s := runtime.HTTPSource{Base: base}
			for img, want := range map[string]string{"web:1": "B1", "web:2": "B2"} {
				ids, err := s.Chain(t.Context(), img)
				if err != nil || !slices.Equal(ids, []image.LayerID{layerA, layerB}) {
					t.Fatalf("Chain(%s) = %v, %v", img, ids, err)
				}
				rc, err := s.Layer(t.Context(), img, layerB)
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(data) != want {
					t.Errorf("Layer(%s) = %q, %v; want %q", img, data, err, want)
				}
			}
		})
	}
}

func TestHTTPSourceErrors(t *testing.T) {
	dir := sourceDir(t)
	writeChain(t, dir, "web_2", map[string]any{"image": "web:9", "layers": []image.LayerID{layerA}})
	if err := os.MkdirAll(filepath.Join(dir, "bad_1"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeChain(t, dir, "bad_1", map[string]any{"image": "bad:1", "layers": []map[string]any{{"id": layerA, "file": "../x"}}})
	srv := httptest.NewServer(runtime.SourceHandler(dir))
	defer srv.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "disk on fire\nmore", http.StatusInternalServerError)
	}))
	defer broken.Close()
	ok := runtime.HTTPSource{Base: srv.URL}
	tests := []struct {
		name  string
		src   runtime.HTTPSource
		img   string
		layer image.LayerID // "": Chain, else Layer
		is    error         // errors.Is, nil: must be neither ErrNotFound nor ErrInvalid
		has   []string      // in the message
	}{
		{"image missing", ok, "nope:1", "", image.ErrNotFound, []string{"nope:1", srv.URL + "/nope_1/chain.json", "404"}},
		{"layer missing from the chain", ok, "web:1", "sha256:" + image.LayerID(strings.Repeat("c", 64)), image.ErrNotFound, []string{"web:1 has no layer"}},
		{"layer file missing", ok, "web:1", layerA, image.ErrNotFound, []string{srv.URL + "/web_1/" + strings.Repeat("a", 64) + ".btrfs", "404"}},
		{"chain of another image", ok, "web:2", "", image.ErrInvalid, []string{`"web:9"`, srv.URL + "/web_2/chain.json"}},
		{"layer file is a path", ok, "bad:1", "", image.ErrInvalid, []string{`"../x"`}},
		{"image name is a path", ok, "../x:1", "", image.ErrInvalid, nil},
		{"server error", runtime.HTTPSource{Base: broken.URL}, "web:1", "", nil, []string{"web:1", broken.URL + "/web_1/chain.json", "500 Internal Server Error", "disk on fire"}},
		{"server error on a layer", runtime.HTTPSource{Base: broken.URL}, "web:1", layerA, nil, []string{"500 Internal Server Error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.layer == "" {
				_, err = tc.src.Chain(t.Context(), tc.img)
			} else {
				var rc io.ReadCloser
				if rc, err = tc.src.Layer(t.Context(), tc.img, tc.layer); err == nil {
					rc.Close()
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v: want %v", err, tc.is)
			}
			if tc.is == nil && (errors.Is(err, image.ErrNotFound) || errors.Is(err, image.ErrInvalid)) {
				t.Errorf("%v: a server error passed as the image's fault", err)
			}
			for _, s := range tc.has {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v: lacks %q", err, s)
				}
			}
		})
	}
}
