package build

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flota-dev/flota/agent/image"
)

// Order sorts specs so that each comes after the spec of its from image,
// when that is in the set; stable otherwise. Two specs of one image, or
// a cycle, are errors.
func Order(specs []*Spec) ([]*Spec, error) {
	byName := map[string]*Spec{}
	for _, s := range specs {
		if o, ok := byName[s.Name]; ok {
			return nil, fmt.Errorf("%s: image %s is also built by %s", s.File, s.Name, o.File)
		}
		byName[s.Name] = s
	}
	var out []*Spec
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(s *Spec, path []string) error
	visit = func(s *Spec, path []string) error {
		switch state[s.Name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("%s:%d: from cycle: %s -> %s", s.File, s.FromLine, strings.Join(path, " -> "), s.Name)
		}
		state[s.Name] = 1
		if p, ok := byName[s.From]; ok {
			if err := visit(p, append(path, s.Name)); err != nil {
				return err
			}
		}
		state[s.Name] = 2
		out = append(out, s)
		return nil
	}
	for _, s := range specs {
		if err := visit(s, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ChainFile is the chain.json Export writes next to the layers' streams.
type ChainFile struct {
	Image  string        `json:"image"`
	Top    image.LayerID `json:"top"`
	Layers []ChainLayer  `json:"layers"` // base first
}

// ChainLayer is one layer of an exported chain: File holds its send
// stream, incremental against Parent (full for the base), whose SHA-256
// is the ID.
type ChainLayer struct {
	ID     image.LayerID `json:"id"`
	Parent image.LayerID `json:"parent,omitempty"`
	File   string        `json:"file"`
	Size   int64         `json:"size"`
}

// Export writes the chain of image name to dir: each layer as
// <hex>.btrfs, its send stream against its parent, checked against its
// ID, then chain.json. A stream already in dir with the right size is
// not sent again.
func Export(ctx context.Context, s *image.Store, name, dir string) (*ChainFile, error) {
	top, err := s.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	chain, err := s.Chain(ctx, top)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cf := &ChainFile{Image: name, Top: top}
	for _, id := range chain {
		m, err := s.Layer(ctx, id)
		if err != nil {
			return nil, err
		}
		file := strings.TrimPrefix(string(id), "sha256:") + ".btrfs"
		cf.Layers = append(cf.Layers, ChainLayer{ID: id, Parent: m.Parent, File: file, Size: m.Size})
		dst := filepath.Join(dir, file)
		if fi, err := os.Stat(dst); err == nil && fi.Size() == m.Size {
			continue
		}
		if err := exportLayer(ctx, s, id, m.Parent, dst); err != nil {
			return nil, err
		}
	}
	data, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(dir, "chain.json"), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return nil, err
	}
	return cf, nil
}

func exportLayer(ctx context.Context, s *image.Store, id, parent image.LayerID, dst string) error {
	return writeAtomic(dst, func(w io.Writer) error {
		h := sha256.New()
		if err := s.Export(ctx, io.MultiWriter(w, h), id, parent); err != nil {
			return err
		}
		if got := fmt.Sprintf("sha256:%x", h.Sum(nil)); got != string(id) {
			return fmt.Errorf("export %s: stream is %s: %w", id, got, image.ErrInvalid)
		}
		return nil
	})
}

func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
