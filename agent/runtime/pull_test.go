package runtime_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/runtime"
)

// gatedSource is a DirSource whose app layer waits for open, as a slow
// download would; it counts the chains asked for.
type gatedSource struct {
	runtime.DirSource
	gated  image.LayerID
	open   chan struct{}
	opened chan struct{} // closed when the gated layer is asked for
	chains atomic.Int32
}

func (g *gatedSource) Chain(ctx context.Context, img string) ([]image.LayerID, error) {
	g.chains.Add(1)
	return g.DirSource.Chain(ctx, img)
}

func (g *gatedSource) Layer(ctx context.Context, img string, id image.LayerID) (io.ReadCloser, error) {
	if id == g.gated {
		close(g.opened)
		<-g.open
	}
	return g.DirSource.Layer(ctx, img, id)
}

// TestPullInBackground: while an image downloads, Sweep and Cleanup go
// on (they do not wait for it), the layers fetched so far are not swept
// although no tag holds them yet, and Prepare afterwards fetches nothing.
func TestPullInBackground(t *testing.T) {
	ctx := context.Background()
	dir, base, app := builder(t)
	src := &gatedSource{DirSource: runtime.DirSource{Dir: dir}, gated: app, open: make(chan struct{}), opened: make(chan struct{})}
	_, s, v := storeAndVolumes(t)
	rt := runtime.New(runtime.Config{Images: s, Volumes: v, Source: src})
	if has, err := rt.Has(ctx, "web:1"); has || err != nil {
		t.Fatalf("Has before a pull: %v, %v", has, err)
	}
	pulled := make(chan error, 1)
	go func() { pulled <- rt.Pull(ctx, "web:1", nil) }()
	select {
	case <-src.opened:
	case err := <-pulled:
		t.Fatalf("Pull returned %v before asking for the app layer", err)
	}
	// The base is in, untagged; a sweep a year later keeps it.
	sw, err := rt.Sweep(ctx, nil, time.Now().Add(365*24*time.Hour))
	if err != nil || len(sw.Layers) != 0 {
		t.Fatalf("Sweep during a pull: removed %v, %v", sw.Items(), err)
	}
	if _, err := s.Layer(ctx, base); err != nil {
		t.Fatalf("base layer gone during the pull: %v", err)
	}
	if _, err := rt.Cleanup(ctx, "other.service", false); err != nil {
		t.Fatal(err)
	}
	close(src.open)
	if err := <-pulled; err != nil {
		t.Fatal(err)
	}
	if has, err := rt.Has(ctx, "web:1"); !has || err != nil {
		t.Fatalf("Has after the pull: %v, %v", has, err)
	}
	if _, err := rt.Prepare(ctx, "web@1.service", parse(t, "web@1.service", webUnit)); err != nil {
		t.Fatal(err)
	}
	if n := src.chains.Load(); n != 1 {
		t.Errorf("the source was asked for the chain %d times, want once", n)
	}
}

// TestPullProgress: a pull tells which of the missing layers it fetches
// and how many bytes arrived, up to the layers' streams' whole size.
func TestPullProgress(t *testing.T) {
	ctx := context.Background()
	dir, _, _ := builder(t)
	_, s, v := storeAndVolumes(t)
	src := runtime.DirSource{Dir: dir}
	rt := runtime.New(runtime.Config{Images: s, Volumes: v, Source: src})
	chain, err := src.Chain(ctx, "web:1")
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, id := range chain {
		rc, err := src.Layer(ctx, "web:1", id)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, rc)
		rc.Close()
		size += n
	}
	var seen []runtime.PullProgress
	if err := rt.Pull(ctx, "web:1", func(p runtime.PullProgress) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 {
		t.Fatalf("progress told %d times: %v", len(seen), seen)
	}
	first, last := seen[0], seen[len(seen)-1]
	if first != (runtime.PullProgress{Layer: 1, Layers: len(chain)}) || last.Layer != len(chain) || last.Layers != len(chain) || last.Bytes != size {
		t.Errorf("progress from %+v to %+v; want from layer 1 of %d at 0 bytes to layer %d at %d bytes", first, last, len(chain), len(chain), size)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Bytes < seen[i-1].Bytes || seen[i].Layer < seen[i-1].Layer {
			t.Fatalf("progress went back: %+v then %+v", seen[i-1], seen[i])
		}
	}
}
