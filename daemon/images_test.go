package daemon

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flota-dev/flota/agent/runtime"
)

// TestConfigImages checks --image-source's two forms and --serve-images
// from each place a setting can come from, and what they are refused for.
func TestConfigImages(t *testing.T) {
	conf := writeConf(t, "serve-images=/srv/from-file\nimage-source=http://10.77.0.1:4920/images\n")
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		serve       string
		source      runtime.Source // what the agent would fetch from
		err, errHas string         // the error starts with err and contains errHas
	}{
		{name: "defaults"},
		{name: "a directory", args: []string{"--image-source=/srv/images"}, source: runtime.DirSource{Dir: "/srv/images"}},
		{name: "a relative directory", args: []string{"--image-source=images"}, source: runtime.DirSource{Dir: "images"}},
		{name: "an http URL", args: []string{"--image-source=http://10.77.0.1:4920/images"},
			source: runtime.HTTPSource{Base: "http://10.77.0.1:4920/images"}},
		{name: "an https URL from the environment", env: map[string]string{"FLOTA_IMAGE_SOURCE": "https://images.example/flota/"},
			source: runtime.HTTPSource{Base: "https://images.example/flota/"}},
		{name: "serve-images flag", args: []string{"--serve-images=/srv/images"}, serve: "/srv/images"},
		{name: "serve-images env", env: map[string]string{"FLOTA_SERVE_IMAGES": "/srv/env"}, serve: "/srv/env"},
		{name: "serve-images config file", args: []string{"--config", conf}, serve: "/srv/from-file",
			source: runtime.HTTPSource{Base: "http://10.77.0.1:4920/images"}},
		{name: "serve-images with an explicit agent API", args: []string{"--serve-images=/srv", "--agent-api=:4921"}, serve: "/srv"},
		{name: "serving and fetching from the same directory", args: []string{"--serve-images=/srv", "--image-source=/srv"},
			serve: "/srv", source: runtime.DirSource{Dir: "/srv"}},
		{name: "ftp URL", args: []string{"--image-source=ftp://10.77.0.1/images"},
			err: `--image-source "ftp://10.77.0.1/images": want a directory or an http:// or https:// URL, not ftp://`},
		{name: "file URL from the environment", env: map[string]string{"FLOTA_IMAGE_SOURCE": "file:///srv/images"},
			err: `--image-source "file:///srv/images": want a directory or an http:// or https:// URL, not file://`},
		{name: "URL without a host", args: []string{"--image-source=http:///images"},
			err: `--image-source "http:///images": the URL has no host`},
		{name: "URL that does not parse", args: []string{"--image-source=http://10.77.0.1:port/images"},
			err: `--image-source "http://10.77.0.1:port/images": `, errHas: "invalid port"},
		{name: "serve-images with the agent API off", args: []string{"--serve-images=/srv", "--agent-api=off"},
			err: "--serve-images needs --agent-api, on which the images are served (it is off)"},
		{name: "serve-images without the agent (a control-plane host)", env: map[string]string{"FLOTA_SERVE_IMAGES": "/srv", "FLOTA_AGENT": "false"},
			serve: "/srv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := parse(tc.args, envOf(tc.env), io.Discard)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %v\nwant it to start with %q and contain %q", err, tc.err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ServeImages != tc.serve {
				t.Errorf("ServeImages %q, want %q", c.ServeImages, tc.serve)
			}
			src, err := imageSource(c.ImageSource, nil)
			if err != nil || src != tc.source {
				t.Errorf("source %#v, %v; want %#v", src, err, tc.source)
			}
		})
	}
}

// TestAgentAPIHandler checks that the image directory is served under
// /images/ beside the agent API, and the API alone without it.
func TestAgentAPIHandler(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "web_1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web_1", "chain.json"), []byte(`{"image":"web:1","layers":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "outside"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.URL.Path) })
	tests := []struct {
		name, serve, method, path string
		status                    int
		body                      string
	}{
		{"api", dir, "GET", "/v1/units/a.service/status", 200, "api /v1/units/a.service/status"},
		{"chain", dir, "GET", "/images/web_1/chain.json", 200, `{"image":"web:1","layers":[]}`},
		{"HEAD chain", dir, "HEAD", "/images/web_1/chain.json", 200, ""},
		{"listing", dir, "GET", "/images/", 404, ""},
		{"image listing", dir, "GET", "/images/web_1/", 404, ""},
		{"escaped dot-dot", dir, "GET", "/images/%2e%2e/outside", 404, ""},
		{"POST", dir, "POST", "/images/web_1/chain.json", 405, ""},
		{"not serving", "", "GET", "/images/web_1/chain.json", 200, "api /images/web_1/chain.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(agentAPIHandler(api, tc.serve))
			defer srv.Close()
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || (tc.status == 200 && string(body) != tc.body) {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
}
