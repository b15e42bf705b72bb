package image

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// GC deletes the layers that no tag, no task snapshot, no child layer and
// no caller uses, and returns them. inUse reports layers the caller holds
// (an image being pulled or about to be tagged): a layer fresh from Import
// or Commit has no tag yet. Snapshots kept in failed/ hold no layer (a
// snapshot does not need its layer: BTRFS shares the blocks).
func (s *Store) GC(ctx context.Context, inUse func(LayerID) bool) ([]LayerID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	layers, err := s.Layers(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	tags, err := s.Tags(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	tasks, err := s.Tasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	var roots []LayerID
	for _, id := range tags {
		roots = append(roots, id)
	}
	for _, t := range tasks {
		roots = append(roots, t.Layer)
	}
	for _, m := range layers {
		if inUse != nil && inUse(m.ID) {
			roots = append(roots, m.ID)
		}
	}
	var deleted []LayerID
	for _, id := range unused(layers, roots) {
		if err := s.unpublish(ctx, s.layerDir(id), "gc"); err != nil {
			return deleted, fmt.Errorf("gc: layer %s: %w", id, err)
		}
		deleted = append(deleted, id)
	}
	return deleted, nil
}

// unused is GC's decision, apart from its effects: the layers not
// reachable from roots through parents, sorted. Children come before
// their parents, so a GC interrupted halfway never leaves a layer whose
// parent is gone.
func unused(layers []Manifest, roots []LayerID) []LayerID {
	parent := make(map[LayerID]LayerID, len(layers))
	for _, m := range layers {
		parent[m.ID] = m.Parent
	}
	live := map[LayerID]bool{}
	for _, id := range roots {
		for ; id != "" && !live[id]; id = parent[id] {
			live[id] = true
		}
	}
	// depth orders children first: a layer is deeper than its parent.
	depth := func(id LayerID) int {
		d := 0
		for seen := map[LayerID]bool{}; id != "" && !seen[id]; id = parent[id] {
			seen[id] = true
			d++
		}
		return d
	}
	var out []LayerID
	for _, m := range layers {
		if !live[m.ID] {
			out = append(out, m.ID)
		}
	}
	slices.SortFunc(out, func(a, b LayerID) int {
		if da, db := depth(a), depth(b); da != db {
			return db - da
		}
		return cmp.Compare(a, b)
	})
	return out
}
