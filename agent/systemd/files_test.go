package systemd

import (
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/flota-dev/flota/agent"
)

func TestUnitDirectory(t *testing.T) {
	root := t.TempDir()
	c := &Conn{dir: "/run/flota/units", root: root, hostDir: filepath.Join(root, "/run/flota/units")}
	ctx := context.Background()

	t.Run("a missing directory is empty", func(t *testing.T) {
		files, err := c.UnitFiles(ctx)
		if err != nil || len(files) != 0 {
			t.Fatalf("UnitFiles = %v, %v; want none", files, err)
		}
	})
	t.Run("an atomic write leaves the file and no temporary", func(t *testing.T) {
		if err := writeAtomic(c.hostDir, "a.service", []byte("one")); err != nil {
			t.Fatal(err)
		}
		if err := writeAtomic(c.hostDir, "a.service", []byte("two")); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(c.hostDir)
		if len(entries) != 1 {
			t.Fatalf("directory holds %v, want a.service only", entries)
		}
		if fi, _ := os.Stat(filepath.Join(c.hostDir, "a.service")); fi.Mode().Perm() != 0o644 {
			t.Fatalf("mode %v, want 0644", fi.Mode())
		}
	})
	t.Run("only unit files are listed, with their hash", func(t *testing.T) {
		for name, data := range map[string]string{".a.service.tmp123": "x", "README": "x", "b.txt": "x"} {
			if err := os.WriteFile(filepath.Join(c.hostDir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		files, err := c.UnitFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || files["a.service"] != sha1.Sum([]byte("two")) {
			t.Fatalf("UnitFiles = %v, want a.service with the hash of its content", files)
		}
	})
	t.Run("a container unit's file stands for its source hash", func(t *testing.T) {
		src := sha1.Sum([]byte("placed"))
		data := fmt.Sprintf("%s%x\n[Service]\nExecStart=/usr/bin/systemd-nspawn\n", agent.SourceHashPrefix, src)
		if err := writeAtomic(c.hostDir, "c.service", []byte(data)); err != nil {
			t.Fatal(err)
		}
		files, err := c.UnitFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if files["c.service"] != src {
			t.Fatalf("UnitFiles[c.service] = %s, want the source hash %x", files["c.service"], src)
		}
	})
}
