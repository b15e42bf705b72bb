package image

import (
	"github.com/flota-dev/flota/agent/subvol"

	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Layer returns a layer's manifest.
func (s *Store) Layer(ctx context.Context, id LayerID) (Manifest, error) {
	if _, err := ParseLayerID(string(id)); err != nil {
		return Manifest{}, err
	}
	var m Manifest
	err := readJSON(filepath.Join(s.layerDir(id), "manifest.json"), &m)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("layer %s: %w", id, ErrNotFound)
	}
	if err == nil && m.ID != id {
		err = fmt.Errorf("layer %s: manifest names %s: %w", id, m.ID, ErrInvalid)
	}
	return m, err
}

// Layers lists every layer's manifest.
func (s *Store) Layers(ctx context.Context) ([]Manifest, error) {
	entries, err := os.ReadDir(s.path("layers"))
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range entries {
		m, err := s.Layer(ctx, LayerID(idPrefix+e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Chain lists the layers an image made of layer stacks up, base first.
func (s *Store) Chain(ctx context.Context, layer LayerID) ([]LayerID, error) {
	var chain []LayerID
	for id := layer; id != ""; {
		if len(chain) > 1000 || slices.Contains(chain, id) {
			return nil, fmt.Errorf("chain of %s: loops at %s: %w", layer, id, ErrInvalid)
		}
		m, err := s.Layer(ctx, id)
		if err != nil {
			return nil, err
		}
		chain = append(chain, id)
		id = m.Parent
	}
	slices.Reverse(chain)
	return chain, nil
}

// parentPath checks parent is "" or a layer, and returns its tree.
func (s *Store) parentPath(ctx context.Context, parent LayerID) (string, error) {
	if parent == "" {
		return "", nil
	}
	if _, err := s.Layer(ctx, parent); err != nil {
		return "", fmt.Errorf("parent: %w", err)
	}
	return s.LayerPath(parent), nil
}

// Commit makes a new layer of the writable subvolume from (a build's
// tree), as a read-only snapshot of it whose ID is the digest of its send
// stream against parent. from should be a snapshot of parent, or the
// stream carries the whole tree; from is left as it was.
func (s *Store) Commit(ctx context.Context, from string, parent LayerID) (LayerID, error) {
	fi, err := os.Stat(from)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	if !subvol.Is(fi) {
		return "", fmt.Errorf("commit: %s is not a subvolume: %w", from, ErrInvalid)
	}
	pp, err := s.parentPath(ctx, parent)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	tmp, err := s.work("commit")
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	defer subvol.RemoveAll(context.WithoutCancel(ctx), tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := snapshot(ctx, from, rootfs, true); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	h, n := sha256.New(), &counter{}
	if err := send(ctx, io.MultiWriter(h, n), rootfs, pp); err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	return s.finish(ctx, tmp, Manifest{ID: idOf(h), Parent: parent, Size: n.n, Created: time.Now().UTC()})
}

// finish writes the manifest of the layer built in tmp and publishes it.
// A layer that exists already is left alone: same ID, same bytes.
//
// Only this step holds the store's lock, not the long send or receive
// before it: a GC waiting for the lock would hold up every task start.
// So the parent, which a GC may have deleted meanwhile, is checked again.
func (s *Store) finish(ctx context.Context, tmp string, m Manifest) (LayerID, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.parentPath(ctx, m.Parent); err != nil {
		return "", fmt.Errorf("layer %s: %w", m.ID, err)
	}
	if err := writeJSON(filepath.Join(tmp, "manifest.json"), m); err != nil {
		return "", fmt.Errorf("layer %s: %w", m.ID, err)
	}
	if err := publish(tmp, s.layerDir(m.ID)); err != nil && !errors.Is(err, ErrExists) {
		return "", fmt.Errorf("layer %s: %w", m.ID, err)
	}
	return m.ID, nil
}

// Import receives a layer from a send stream, full or incremental against
// parent, and returns its ID, the stream's digest. It trusts the stream to
// be whatever layer it is; use ImportVerified when the ID is known.
func (s *Store) Import(ctx context.Context, r io.Reader, parent LayerID) (LayerID, error) {
	return s.ImportVerified(ctx, r, parent, "")
}

// ImportVerified is Import of the layer want: a stream with another
// digest fails with ErrInvalid and leaves nothing behind. If want is in
// the store already, it returns at once without reading r.
func (s *Store) ImportVerified(ctx context.Context, r io.Reader, parent, want LayerID) (LayerID, error) {
	if want != "" {
		if _, err := ParseLayerID(string(want)); err != nil {
			return "", fmt.Errorf("import: %w", err)
		}
		if _, err := s.Layer(ctx, want); err == nil {
			return want, nil
		}
	}
	pp, err := s.parentPath(ctx, parent)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	tmp, err := s.work("import")
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	defer subvol.RemoveAll(context.WithoutCancel(ctx), tmp)
	h, n := sha256.New(), &counter{}
	if err := receive(ctx, io.TeeReader(r, io.MultiWriter(h, n)), tmp); err != nil {
		return "", fmt.Errorf("import: %w: %w", ErrInvalid, err)
	}
	id := idOf(h)
	if want != "" && id != want {
		return "", fmt.Errorf("import: stream is %s, want %s: %w", id, want, ErrInvalid)
	}
	if err := checkReceived(ctx, tmp, pp); err != nil {
		return "", fmt.Errorf("import %s: %w", id, err)
	}
	return s.finish(ctx, tmp, Manifest{ID: id, Parent: parent, Size: n.n, Created: time.Now().UTC()})
}

// checkReceived checks that dir holds exactly one finished, read-only
// subvolume named rootfs (a stream from another kind of sender names it
// otherwise), made from the parent's tree when there is one: btrfs receive
// finds an incremental stream's parent by UUID anywhere on the
// filesystem, and the manifest must not record a parent the layer is not
// built on. On a filesystem shared by several stores, receive may take
// another store's copy of the parent layer (one with the same origin,
// see subvolumeInfo.origin); that is the same tree, and accepted.
func checkReceived(ctx context.Context, dir, parentPath string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) != 1 || entries[0].Name() != "rootfs" {
		return fmt.Errorf("stream is not one layer named rootfs: %w", ErrInvalid)
	}
	got, err := showSubvolume(ctx, filepath.Join(dir, "rootfs"))
	if err != nil {
		return err
	}
	if !got.ReadOnly || got.ReceivedUUID == "-" {
		return fmt.Errorf("stream ended before its layer did: %w", ErrInvalid)
	}
	if parentPath == "" {
		if got.ParentUUID != "-" {
			return fmt.Errorf("stream is not against the given parent: %w", ErrInvalid)
		}
		return nil
	}
	p, err := showSubvolume(ctx, parentPath)
	if err != nil {
		return err
	}
	if got.ParentUUID == p.UUID {
		return nil
	}
	// Stores on one filesystem (machines sharing a pool, or a builder's
	// store beside a machine's) hold copies of the same layer, and receive
	// may have snapshotted another store's copy. A copy that is the same
	// layer, read-only and of the same origin, has the same tree, so the
	// layer is the same; anything else is refused.
	if got.ParentUUID != "-" {
		q, err := showSubvolumeByUUID(ctx, dir, got.ParentUUID)
		if err == nil && q.ReadOnly && p.ReadOnly && q.origin() == p.origin() {
			return nil
		}
	}
	return fmt.Errorf("stream is not against the given parent: %w", ErrInvalid)
}

// Export writes layer's send stream, incremental against parent, or full
// when parent is "", so shipping an application layer costs its changes.
// Against the layer's own parent (or "" for a base), the stream is the
// one its ID names; against anything else it is another layer.
func (s *Store) Export(ctx context.Context, w io.Writer, layer, parent LayerID) error {
	if _, err := s.Layer(ctx, layer); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	pp, err := s.parentPath(ctx, parent)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := send(ctx, w, s.LayerPath(layer), pp); err != nil {
		return fmt.Errorf("export %s: %w", layer, err)
	}
	return nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
