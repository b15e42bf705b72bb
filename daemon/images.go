package daemon

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/flota-dev/flota/agent/runtime"
)

// imageSource turns --image-source into the agent's Source: nil for "", an
// HTTPSource for an http(s):// URL (asking with client; nil: Go's
// default), else a DirSource. Anything with "://" is taken for a URL, so
// that a mistyped scheme is an error rather than a directory that never
// exists.
func imageSource(flag string, client *http.Client) (runtime.Source, error) {
	if flag == "" {
		return nil, nil
	}
	if !strings.Contains(flag, "://") {
		return runtime.DirSource{Dir: flag}, nil
	}
	u, err := url.Parse(flag)
	if err != nil {
		return nil, fmt.Errorf("--image-source %q: %w", flag, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--image-source %q: want a directory or an http:// or https:// URL, not %s://", flag, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--image-source %q: the URL has no host", flag)
	}
	return runtime.HTTPSource{Base: flag, Client: client}, nil
}

// checkServeImages refuses --serve-images where nothing would serve it:
// the images are served on the agent API's address (a flotad without an
// agent, such as a control-plane host, serves them there alone).
func checkServeImages(c *Config) error {
	switch {
	case c.ServeImages == "":
		return nil
	case c.AgentAPI == "off":
		return fmt.Errorf("--serve-images needs --agent-api, on which the images are served (it is off)")
	}
	return nil
}

// checkServeDir fails flotad at start when --serve-images is not a
// directory: serving one that does not exist would only answer 404s.
func checkServeDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--serve-images: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--serve-images %s: not a directory", dir)
	}
	return nil
}

// imagesPrefix is where the agent API serves --serve-images.
const imagesPrefix = "/images/"

// agentAPIHandler is the agent API: api (nil without an agent), and with
// serveImages the image directory under /images/ (runtime.SourceHandler),
// for other machines' --image-source http://<this machine>:4920/images.
func agentAPIHandler(api http.Handler, serveImages string) http.Handler {
	if serveImages == "" {
		return api // nil without an agent
	}
	mux := http.NewServeMux()
	if api != nil {
		mux.Handle("/", api)
	}
	mux.Handle(imagesPrefix, http.StripPrefix(strings.TrimSuffix(imagesPrefix, "/"), runtime.SourceHandler(serveImages)))
	return mux
}

// dashboardPrefix is where the dashboard is served on the API address.
const dashboardPrefix = "/ui/"

// apiHandler is everything flotad serves on its API address: /metrics,
// /health, the dashboard under /ui/ (nil: off), and the agent API (nil:
// none, on a flotad without agent or images).
func apiHandler(api, ui, metrics, health http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /health", health)
	if ui != nil {
		mux.Handle(dashboardPrefix, ui)
		mux.Handle("GET /{$}", http.RedirectHandler(dashboardPrefix, http.StatusFound))
	}
	if api != nil {
		mux.Handle("/", api)
	}
	return mux
}
