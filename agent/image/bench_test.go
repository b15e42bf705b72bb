package image_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"
)

// BenchmarkSnapshot times starting a task's tree: a writable snapshot of
// a layer (the aim is well under 50 ms). A snapshot costs the same
// whatever the layer's size, so the base is small.
func BenchmarkSnapshot(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	base := build(b, s, "", baseFiles)
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("task-%d", i)
		if _, err := s.Snapshot(ctx, base, key); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := s.RemoveSnapshot(ctx, key, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkShipAppLayer compares what shipping a small application layer
// costs as its diff against the base, the way the store ships it, with
// the full tree of base and application.
func BenchmarkShipAppLayer(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	base := build(b, s, "", randomFiles(b, "usr/lib/f%03d", 256, 128<<10)) // 32 MiB
	app := build(b, s, base, randomFiles(b, "srv/app/f%03d", 4, 16<<10))   // 64 KiB
	full := &count{}
	if err := s.Export(ctx, full, app, ""); err != nil {
		b.Fatal(err)
	}
	inc := &count{}
	for b.Loop() {
		inc.n = 0
		if err := s.Export(ctx, inc, app, base); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(inc.n), "incremental-bytes")
	b.ReportMetric(float64(full.n), "full-bytes")
	b.ReportMetric(float64(full.n)/float64(inc.n), "full/incremental")
}

func randomFiles(b testing.TB, pattern string, n, size int) map[string][]byte {
	files := map[string][]byte{}
	for i := range n {
		data := make([]byte, size)
		if _, err := io.ReadFull(rand.Reader, data); err != nil {
			b.Fatal(err)
		}
		files[fmt.Sprintf(pattern, i)] = data
	}
	return files
}

type count struct{ n int64 }

func (c *count) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
