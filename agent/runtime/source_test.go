package runtime_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/runtime"
)

func TestKey(t *testing.T) {
	for name, want := range map[string]string{
		"web.service":            "web.service",
		"web@3.service":          "web@3.service",
		`a\x2db.service`:         "a+5cx2db.service",
		"-x.service":             "+2dx.service",
		"a:b_c-d.service":        "a:b_c-d.service",
		strings.Repeat("a", 250): "",
	} {
		got := runtime.Key(name)
		if want != "" && got != want {
			t.Errorf("Key(%q) = %q, want %q", name, got, want)
		}
		if len(got) > 200 {
			t.Errorf("Key(%q) is %d long", name, len(got))
		}
	}
	if runtime.Key(`a\x2db.service`) == runtime.Key("a_x2db.service") {
		t.Error("two units share a key")
	}
}

func TestDirSourceFormats(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	a := image.LayerID("sha256:" + strings.Repeat("a", 64))
	b := image.LayerID("sha256:" + strings.Repeat("b", 64))
	os.MkdirAll(filepath.Join(src, "web_1"), 0o755)
	os.MkdirAll(filepath.Join(src, "web_2"), 0o755)
	writeChain(t, src, "web_1", map[string]any{"image": "web:1", "layers": []image.LayerID{a, b}})
	// As agent/image/build.Export writes it.
	writeChain(t, src, "web_2", map[string]any{"image": "web:2", "top": b, "layers": []map[string]any{
		{"id": a, "file": "base.btrfs", "size": 1}, {"id": b, "parent": a, "file": "app.btrfs", "size": 1}}})
	os.WriteFile(filepath.Join(src, "web_1", strings.Repeat("b", 64)+".btrfs"), []byte("B1"), 0o644)
	os.WriteFile(filepath.Join(src, "web_2", "app.btrfs"), []byte("B2"), 0o644)
	s := runtime.DirSource{Dir: src}
	for img, want := range map[string]string{"web:1": "B1", "web:2": "B2"} {
		ids, err := s.Chain(ctx, img)
		if err != nil || !slices.Equal(ids, []image.LayerID{a, b}) {
			t.Fatalf("Chain(%s) = %v, %v", img, ids, err)
		}
		rc, err := s.Layer(ctx, img, b)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if string(data) != want {
			t.Errorf("Layer(%s) = %q, want %q", img, data, want)
		}
	}
	if _, err := s.Chain(ctx, "nope:1"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("missing image: %v", err)
	}
	if _, err := s.Chain(ctx, "../x:1"); err == nil {
		t.Error("a path in the image name was accepted")
	}
	writeChain(t, src, "web_1", map[string]any{"image": "web:9", "layers": []image.LayerID{a}})
	if _, err := s.Chain(ctx, "web:1"); !errors.Is(err, image.ErrInvalid) {
		t.Errorf("chain.json of another image: %v", err)
	}
}
