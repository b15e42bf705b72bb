package image_test

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/image/imagetest"
)

func newStore(t testing.TB) *image.Store {
	t.Helper()
	s, err := image.Open(context.Background(), imagetest.NewFS(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// build and writeFiles are imagetest's, short for these tests.
var (
	build      = imagetest.Layer
	writeFiles = imagetest.WriteFiles
)

// tree reads every regular file under dir.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t testing.TB, got, want string) {
	t.Helper()
	if g, w := tree(t, got), tree(t, want); !maps.Equal(g, w) {
		t.Fatalf("%s has %v, want as %s: %v", got, g, want, w)
	}
}

func ls(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func export(t testing.TB, s *image.Store, layer, parent image.LayerID) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Export(context.Background(), &buf, layer, parent); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	baseFiles = map[string][]byte{
		"etc/os-release": []byte("ID=debian\n"),
		"bin/sh":         bytes.Repeat([]byte("sh"), 50000),
		"etc/motd":       []byte("base\n"),
	}
	siteFiles = map[string][]byte{"etc/resolv.conf": []byte("nameserver 10.0.0.1\n"), "etc/motd": nil}
	appFiles  = map[string][]byte{"srv/web/app": []byte("#!/bin/sh\necho hello\n"), "etc/os-release": []byte("ID=debian\nVARIANT=web\n")}
)
