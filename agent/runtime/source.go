package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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

// chainFile is chain.json; a layer is its ID, or an object with the ID and
// the file holding its stream (as agent/image/build writes).
type chainFile struct {
	Image  string            `json:"image"`
	Layers []json.RawMessage `json:"layers"`
}

type chainLayer struct {
	ID   image.LayerID `json:"id"`
	File string        `json:"file"`
}

func (s DirSource) imageDir(img string) (string, error) {
	name, tag, ok := strings.Cut(img, ":")
	if !ok || name == "" || tag == "" || strings.ContainsAny(img, "/\\") || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("image %q: %w", img, image.ErrInvalid)
	}
	return filepath.Join(s.Dir, name+"_"+tag), nil
}

func (s DirSource) read(img string) ([]chainLayer, error) {
	dir, err := s.imageDir(img)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "chain.json"))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("image %s: not in source %s: %w", img, s.Dir, image.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var cf chainFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("%s/chain.json: %w", dir, err)
	}
	if cf.Image != img {
		return nil, fmt.Errorf("%s/chain.json is of image %q, not %q: %w", dir, cf.Image, img, image.ErrInvalid)
	}
	out := make([]chainLayer, 0, len(cf.Layers))
	for _, raw := range cf.Layers {
		var l chainLayer
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			err = json.Unmarshal(raw, &l)
		} else {
			err = json.Unmarshal(raw, &l.ID)
		}
		if err == nil {
			_, err = image.ParseLayerID(string(l.ID))
		}
		if err != nil {
			return nil, fmt.Errorf("%s/chain.json: layer %s: %w", dir, raw, err)
		}
		if l.File == "" {
			l.File = strings.TrimPrefix(string(l.ID), "sha256:") + ".btrfs"
		}
		if l.File != filepath.Base(l.File) || strings.HasPrefix(l.File, ".") {
			return nil, fmt.Errorf("%s/chain.json: layer file %q: %w", dir, l.File, image.ErrInvalid)
		}
		out = append(out, l)
	}
	return out, nil
}

// Chain reads <name>_<tag>/chain.json.
func (s DirSource) Chain(ctx context.Context, img string) ([]image.LayerID, error) {
	ls, err := s.read(img)
	if err != nil {
		return nil, err
	}
	ids := make([]image.LayerID, len(ls))
	for i, l := range ls {
		ids[i] = l.ID
	}
	return ids, nil
}

// Layer opens the layer's stream file.
func (s DirSource) Layer(ctx context.Context, img string, layer image.LayerID) (io.ReadCloser, error) {
	ls, err := s.read(img)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.ID == layer {
			dir, _ := s.imageDir(img)
			return os.Open(filepath.Join(dir, l.File))
		}
	}
	return nil, fmt.Errorf("image %s has no layer %s: %w", img, layer, image.ErrNotFound)
}
