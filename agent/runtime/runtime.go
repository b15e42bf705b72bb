package runtime

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/quota"
	"github.com/flota-dev/flota/agent/task"
	"github.com/flota-dev/flota/agent/volume"
	"github.com/flota-dev/flota/unit"
)

// DefaultNspawn is where systemd-nspawn is on a machine unless told.
const DefaultNspawn = "/usr/bin/systemd-nspawn"

// Config is what a Runtime is made of.
type Config struct {
	Images  *image.Store
	Volumes *volume.Manager
	// Source is where missing images are fetched from; nil: only images
	// already in the store run.
	Source Source
	// Nspawn is the host path of systemd-nspawn (default DefaultNspawn).
	Nspawn string
	// Quota caps a Task's snapshot (exclusive bytes); default
	// quota.LimitExclusive after quota.Enable on the store's filesystem.
	Quota func(ctx context.Context, path string, bytes uint64) error
	// ImageGrace keeps an image no task uses this long after its last
	// task ended (default DefaultImageGrace); KeepFailed keeps a unit's
	// last failed snapshot this long (default DefaultKeepFailed).
	ImageGrace, KeepFailed time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Runtime prepares and cleans up the Tasks of container units.
type Runtime struct {
	images     *image.Store
	volumes    *volume.Manager
	source     Source
	nspawn     string
	limit      func(ctx context.Context, path string, bytes uint64) error
	grace      time.Duration
	keepFailed time.Duration
	now        func() time.Time

	closers []func() error // what Open opened

	mu      sync.Mutex // one Prepare, Cleanup or Sweep at a time
	enabled bool       // quotas are on (default Quota only)

	// fetchMu makes fetches one at a time (Pull takes only it, so a long
	// download never holds mu); held takes the layers of the chains being
	// fetched, which Sweep's GC must not delete: a fetched layer has no
	// tag until its whole image is in.
	fetchMu sync.Mutex
	heldMu  sync.Mutex
	held    map[image.LayerID]int
}

// New returns a Runtime; it takes no ownership of the store or manager.
func New(cfg Config) *Runtime {
	r := &Runtime{images: cfg.Images, volumes: cfg.Volumes, source: cfg.Source, nspawn: cfg.Nspawn, limit: cfg.Quota,
		grace: cmp.Or(cfg.ImageGrace, DefaultImageGrace), keepFailed: cmp.Or(cfg.KeepFailed, DefaultKeepFailed), now: cfg.Now}
	if r.now == nil {
		r.now = time.Now
	}
	if r.nspawn == "" {
		r.nspawn = DefaultNspawn
	}
	if r.limit == nil {
		r.limit = r.defaultLimit
	}
	return r
}

func (r *Runtime) defaultLimit(ctx context.Context, path string, bytes uint64) error {
	if !r.enabled {
		if err := quota.Enable(ctx, r.images.Root()); err != nil {
			return err
		}
		r.enabled = true
	}
	return quota.LimitExclusive(ctx, path, bytes)
}

// Key is the task key of a unit's snapshot: the unit's name, with each
// byte the store does not accept in a key (and a leading '.' or '-')
// written as "+XX" in hex. Unit names never contain '+', so two units
// never share a key; an overlong result is shortened and made unique with
// a hash of the name.
func Key(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_:@", c) >= 0 ||
			(c == '-' || c == '.') && i > 0
		if ok {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "+%02x", c)
		}
	}
	k := b.String()
	if len(k) > 200 {
		sum := sha1.Sum([]byte(name))
		k = k[:150] + "+" + hex.EncodeToString(sum[:])
	}
	return k
}

// Prepare makes unit name's Task ready to run: its image resolved (fetched
// when missing), its snapshot, its volumes and its disk quota; and returns
// the options to write as its unit file. f is the unit's file for name (a
// template's file is resolved for the instance by Prepare). If a step
// fails, the snapshot this call made is removed again.
func (r *Runtime) Prepare(ctx context.Context, name string, f *unit.File) (opts []*sdunit.UnitOption, err error) {
	c := f.Container // parsed for name already, unless f is its template's
	if c == nil || f.Name != name {
		if c, err = unit.ParseContainer(name, f.Options); err != nil {
			return nil, err
		}
	}
	if c == nil {
		return nil, fmt.Errorf("runtime: %s has no [X-Container] section", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	layer, err := r.resolve(ctx, c.Image.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: image %s: %w", name, c.Image, err)
	}
	key := Key(name)
	snap, made, err := r.snapshot(ctx, layer, key)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", name, err)
	}
	defer func() {
		if err != nil && made {
			if _, rerr := r.images.RemoveSnapshot(context.WithoutCancel(ctx), key, false); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	vols := make(map[string]string, len(c.Volumes))
	for _, v := range c.Volumes {
		p, _, err := r.volumes.Ensure(ctx, v.Name)
		if err != nil {
			return nil, fmt.Errorf("runtime: %s: %w", name, err)
		}
		vols[v.Name] = p
	}
	spec, err := task.Plan(task.PlanInput{Unit: name, Options: f.Options, Container: c, Snapshot: snap, Volumes: vols, Nspawn: r.nspawn})
	if err != nil {
		return nil, err
	}
	if spec.DiskQuota > 0 {
		if err := r.limit(ctx, snap, spec.DiskQuota); err != nil {
			return nil, fmt.Errorf("runtime: %s: disk quota: %w", name, err)
		}
	}
	return spec.Options, nil
}

// snapshot returns the Task snapshot of key made from layer, and whether
// this call made it: one from another layer is removed first.
func (r *Runtime) snapshot(ctx context.Context, layer image.LayerID, key string) (string, bool, error) {
	t, err := r.images.Task(ctx, key)
	switch {
	case err == nil && t.Layer == layer:
		return r.images.SnapshotPath(key), false, nil
	case err == nil:
		if _, err := r.images.RemoveSnapshot(ctx, key, false); err != nil {
			return "", false, err
		}
	case !errors.Is(err, image.ErrNotFound):
		return "", false, err
	}
	p, err := r.images.Snapshot(ctx, layer, key)
	if err != nil {
		return "", false, err
	}
	return p, true, nil
}

// Has reports whether image img ("name:tag") is in the store: Prepare
// then fetches nothing.
func (r *Runtime) Has(ctx context.Context, img string) (bool, error) {
	_, err := r.images.Resolve(ctx, img)
	if errors.Is(err, image.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// PullProgress is how far a pull is: the layer being fetched (1-based)
// of the layers the store lacks, and the bytes received so far.
type PullProgress struct {
	Layer, Layers int
	Bytes         int64
}

// Pull fetches image img from the source unless the store has it,
// telling progress (when not nil) how far it is as bytes arrive. It holds
// no lock Prepare, Cleanup or Sweep wait on, so an agent can pull in the
// background and keep acting on its other units.
func (r *Runtime) Pull(ctx context.Context, img string, progress func(PullProgress)) error {
	if _, err := r.resolve(ctx, img, progress); err != nil {
		return fmt.Errorf("runtime: image %s: %w", img, err)
	}
	return nil
}

// resolve finds an image's top layer, fetching the image when the store
// lacks it (and telling progress, when not nil, how far it is).
func (r *Runtime) resolve(ctx context.Context, img string, progress func(PullProgress)) (image.LayerID, error) {
	id, err := r.images.Resolve(ctx, img)
	if err == nil || !errors.Is(err, image.ErrNotFound) || r.source == nil {
		return id, err
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	// Pulled while this call waited for the one before?
	if id, err := r.images.Resolve(ctx, img); err == nil {
		return id, nil
	}
	chain, err := r.source.Chain(ctx, img)
	if err != nil {
		return "", err
	}
	if len(chain) == 0 {
		return "", fmt.Errorf("source has no layers for it: %w", image.ErrInvalid)
	}
	r.hold(chain, 1)
	defer r.hold(chain, -1)
	var missing []image.LayerID
	for _, id := range chain {
		if _, err := r.images.Layer(ctx, id); err != nil {
			missing = append(missing, id)
		}
	}
	pr := PullProgress{Layers: len(missing)}
	var parent image.LayerID
	for _, id := range chain {
		if slices.Contains(missing, id) {
			pr.Layer++
			if err := r.fetch(ctx, img, id, parent, &pr, progress); err != nil {
				return "", err
			}
		}
		parent = id
	}
	if err := r.images.Tag(ctx, img, parent); err != nil {
		return "", err
	}
	return parent, nil
}

// hold adds n to the holds on layers.
func (r *Runtime) hold(layers []image.LayerID, n int) {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	if r.held == nil {
		r.held = map[image.LayerID]int{}
	}
	for _, id := range layers {
		if r.held[id] += n; r.held[id] <= 0 {
			delete(r.held, id)
		}
	}
}

// holds reports whether a fetch holds layer.
func (r *Runtime) holds(layer image.LayerID) bool {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	return r.held[layer] > 0
}

func (r *Runtime) fetch(ctx context.Context, img string, id, parent image.LayerID, pr *PullProgress, progress func(PullProgress)) error {
	rc, err := r.source.Layer(ctx, img, id)
	if err != nil {
		return err
	}
	defer rc.Close()
	var in io.Reader = rc
	if progress != nil {
		progress(*pr)
		in = &counting{r: rc, pr: pr, tell: progress}
	}
	_, err = r.images.ImportVerified(ctx, in, parent, id)
	return err
}

// counting tells how many bytes of a pull arrived, as they arrive.
type counting struct {
	r    io.Reader
	pr   *PullProgress
	tell func(PullProgress)
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.pr.Bytes += int64(n)
		c.tell(*c.pr)
	}
	return n, err
}

// Cleanup removes unit name's Task snapshot; with failed it keeps it in
// the store's failed area instead and returns where. A unit without a
// snapshot is no error.
func (r *Runtime) Cleanup(ctx context.Context, name string, failed bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Its image's grace runs from now: the end of its last task here.
	if err := r.touchTask(ctx, Key(name)); err != nil {
		return "", fmt.Errorf("runtime: %s: %w", name, err)
	}
	kept, err := r.images.RemoveSnapshot(ctx, Key(name), failed)
	if errors.Is(err, image.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("runtime: %s: %w", name, err)
	}
	return kept, nil
}
