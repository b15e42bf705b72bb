package imagetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flota-dev/flota/agent/image"
)

// Layer makes a layer on parent in s the way an image build does:
// snapshot, write files, commit, drop the snapshot.
func Layer(t testing.TB, s *image.Store, parent image.LayerID, files map[string][]byte) image.LayerID {
	t.Helper()
	ctx := context.Background()
	dir, err := s.Snapshot(ctx, parent, "build")
	if err != nil {
		t.Fatal(err)
	}
	WriteFiles(t, dir, files)
	id, err := s.Commit(ctx, dir, parent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveSnapshot(ctx, "build", false); err != nil {
		t.Fatal(err)
	}
	return id
}

// WriteFiles writes files (path relative to dir → content) under dir; a
// nil content deletes the file.
func WriteFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if data == nil {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
