package runtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/flota-dev/flota/agent/image"
)

const (
	// chainTimeout bounds fetching a chain.json: it is a few hundred bytes,
	// so a server that takes longer is stuck, and the fetch should fail
	// rather than hold up the unit. Layer streams can take long and are
	// bounded by the caller's ctx only.
	chainTimeout = 30 * time.Second
	// maxChainSize bounds a chain.json read into memory.
	maxChainSize = 1 << 20
)

// HTTPSource is a Source over HTTP: the layout of a DirSource under Base,
// as SourceHandler serves it (flotad --serve-images). What it fetches
// need not be trusted: the Runtime imports every layer with
// image.Store.ImportVerified, which refuses a stream that is not its layer.
type HTTPSource struct {
	// Base is the URL of the source's root, e.g. http://10.77.0.1:4920/images.
	Base string
	// Client makes the requests; nil: http.DefaultClient.
	Client *http.Client
}

// Chain fetches <Base>/<name>_<tag>/chain.json.
func (s HTTPSource) Chain(ctx context.Context, img string) ([]image.LayerID, error) {
	ls, err := s.chain(ctx, img)
	if err != nil {
		return nil, err
	}
	return layerIDs(ls), nil
}

// Layer fetches chain.json again for the layer's file name, then opens
// <Base>/<name>_<tag>/<file>; the body streams for as long as ctx lets it.
func (s HTTPSource) Layer(ctx context.Context, img string, layer image.LayerID) (io.ReadCloser, error) {
	ls, err := s.chain(ctx, img)
	if err != nil {
		return nil, err
	}
	l, err := findLayer(ls, img, layer)
	if err != nil {
		return nil, err
	}
	u, err := s.url(img, l.File)
	if err != nil {
		return nil, err
	}
	resp, err := s.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("image %s layer %s: %w", img, layer, err)
	}
	return resp.Body, nil
}

func (s HTTPSource) chain(ctx context.Context, img string) ([]chainLayer, error) {
	u, err := s.url(img, "chain.json")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, chainTimeout)
	defer cancel()
	resp, err := s.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxChainSize+1))
	if err != nil {
		return nil, fmt.Errorf("image %s: GET %s: %w", img, u, err)
	}
	if len(data) > maxChainSize {
		return nil, fmt.Errorf("image %s: GET %s: chain.json over %d bytes: %w", img, u, maxChainSize, image.ErrInvalid)
	}
	return parseChain(data, img, u)
}

// url is <Base>/<name>_<tag>/<file>.
func (s HTTPSource) url(img, file string) (string, error) {
	dir, err := imageDir(img)
	if err != nil {
		return "", err
	}
	u, err := url.JoinPath(s.Base, dir, file)
	if err != nil {
		return "", fmt.Errorf("image source %q: %w", s.Base, err)
	}
	return u, nil
}

// get GETs u and returns the response when it is a 2xx; a 404 is
// image.ErrNotFound, any other status an error naming it.
func (s HTTPSource) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// Do's error names the method and URL already.
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("not in source: GET %s: %s: %w", u, resp.Status, image.ErrNotFound)
	}
	// A line of the server's explanation, if it gave one.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if line, _, _ := bytes.Cut(bytes.TrimSpace(body), []byte("\n")); len(line) > 0 {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, line)
	}
	return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
}
