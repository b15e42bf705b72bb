package runtime

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flota-dev/flota/agent/image"
)

// Source is where the Runtime fetches images the store lacks.
type Source interface {
	// Chain lists the layers of image ("name:tag"), base first.
	Chain(ctx context.Context, img string) ([]image.LayerID, error)
	// Layer opens layer's send stream, incremental against the layer
	// before it in the image's chain (full for the base).
	Layer(ctx context.Context, img string, layer image.LayerID) (io.ReadCloser, error)
}

// DirSource is a Source in a directory: per image, <name>_<tag>/ holds
// chain.json and the layers' streams (see the package documentation).
type DirSource struct{ Dir string }

func (s DirSource) read(img string) (dir string, _ []chainLayer, _ error) {
	base, err := imageDir(img)
	if err != nil {
		return "", nil, err
	}
	dir = filepath.Join(s.Dir, base)
	data, err := os.ReadFile(filepath.Join(dir, "chain.json"))
	if os.IsNotExist(err) {
		return "", nil, fmt.Errorf("image %s: not in source %s: %w", img, s.Dir, image.ErrNotFound)
	}
	if err != nil {
		return "", nil, err
	}
	ls, err := parseChain(data, img, filepath.Join(dir, "chain.json"))
	return dir, ls, err
}

// Chain reads <name>_<tag>/chain.json.
func (s DirSource) Chain(ctx context.Context, img string) ([]image.LayerID, error) {
	_, ls, err := s.read(img)
	if err != nil {
		return nil, err
	}
	return layerIDs(ls), nil
}

// Layer opens the layer's stream file.
func (s DirSource) Layer(ctx context.Context, img string, layer image.LayerID) (io.ReadCloser, error) {
	dir, ls, err := s.read(img)
	if err != nil {
		return nil, err
	}
	l, err := findLayer(ls, img, layer)
	if err != nil {
		return nil, err
	}
	return os.Open(filepath.Join(dir, l.File))
}
