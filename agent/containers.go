package agent

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"sync"
	"time"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/agent/runtime"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// ContainerRuntime runs the units whose file has an [X-Container] section
// (agent/runtime.Runtime). Nil in Config: this machine runs no
// containers, and a container unit placed on it is not written; its state
// says so (condition no-container-runtime).
type ContainerRuntime interface {
	// Prepare makes the unit's Task ready (image, snapshot, volumes,
	// quota) and returns the options to write as its unit file. On error
	// it leaves nothing of this call behind.
	Prepare(ctx context.Context, name string, f *unit.File) ([]*sdunit.UnitOption, error)
	// Cleanup removes the unit's Task snapshot, keeping it aside when the
	// unit failed (and returning where); a unit without one is no error.
	Cleanup(ctx context.Context, name string, failed bool) (kept string, err error)
	// Sweep removes what none of units (every unit the machine has,
	// placed or on disk) needs: snapshots a crash orphaned, and what is
	// past keeping (failed snapshots, unused images and their layers).
	// Swept.Next is when something kept now falls due.
	Sweep(ctx context.Context, units []string, now time.Time) (runtime.Swept, error)
	// Has reports whether the image ("name:tag") is on this machine.
	Has(ctx context.Context, img string) (bool, error)
	// Pull fetches the image, telling progress how far it is; it must
	// not wait on Prepare, Cleanup or Sweep, as the Agent pulls in the
	// background while it acts.
	Pull(ctx context.Context, img string, progress func(runtime.PullProgress)) error
}

// SourceHashPrefix starts the first line of a unit file the Agent wrote
// for a container unit: the file is the runtime's rewrite of the placed
// file, and the line names the placed file's hash, which is what the
// unit directory reports for it (see FileHash). systemd ignores comments.
const SourceHashPrefix = "# flota-source-hash: "

// FileHash is the Hash a unit file in the Agent's directory stands for:
// the hash its first line names when it is a SourceHashPrefix line,
// else the SHA-1 of its content.
func FileHash(data []byte) unit.Hash {
	if rest, ok := bytes.CutPrefix(data, []byte(SourceHashPrefix)); ok {
		if line, _, ok := bytes.Cut(rest, []byte("\n")); ok {
			if h, err := unit.ParseHash(string(bytes.TrimSpace(line))); err == nil {
				return h
			}
		}
	}
	return sha1.Sum(data)
}

// isContainer reports whether a placed file has an [X-Container] section.
func isContainer(data []byte) bool {
	opts, err := sdunit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		return false
	}
	for _, o := range opts {
		if o.Section == "X-Container" {
			return true
		}
	}
	return false
}

// containers parses the placed container units' files, once per unit
// and hash (kept while placed), and reads what the machine has of the
// images they name: the Input of a pass's decisions about containers.
func (d *driver) containers(ctx context.Context, desired map[string]registry.Placement) (map[string]Container, map[string]Image) {
	if d.rt == nil {
		return nil, nil
	}
	cs, imgs := map[string]Container{}, map[string]Image{}
	for name, pl := range desired {
		data, ok := d.cache[pl.Hash]
		if !ok || unit.IsTemplate(name) || !isContainer(data) {
			continue
		}
		c := d.parse(name, pl.Hash, data)
		cs[name] = c
		if c.Err == nil {
			if ref := c.File.Container.Image.String(); !hasKey(imgs, ref) {
				imgs[ref] = d.image(ctx, ref)
			}
		}
	}
	return cs, imgs
}

// parse is unit name's file data (of hash h) parsed and checked, once per
// unit and hash while it is placed: the containers' decisions and the
// fence's policies read the same parse.
func (d *driver) parse(name string, h unit.Hash, data []byte) Container {
	key := parsedKey{name, h}
	c, ok := d.parsed[key]
	if !ok {
		f, err := unit.Parse(name, data)
		c = Container{File: f, Err: err}
		d.parsed[key] = c
	}
	return c
}

// parsedKey is a parsed file's unit and hash: an instance's specifiers
// make its template's file mean something of its own.
type parsedKey struct {
	name string
	hash unit.Hash
}

func hasKey[K comparable, V any](m map[K]V, k K) bool { _, ok := m[k]; return ok }

// containerFile is what the Agent writes for a container unit, f parsed
// from w: the source hash line, then the runtime's options.
func (d *driver) containerFile(ctx context.Context, w Write, f *unit.File) ([]byte, error) {
	opts, err := d.rt.Prepare(ctx, w.Name, f)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(sdunit.Serialize(opts))
	if err != nil {
		d.cleanup(ctx, w.Name, false)
		return nil, err
	}
	return append([]byte(fmt.Sprintf("%s%s\n", SourceHashPrefix, w.Hash)), body...), nil
}

// cleanup removes a unit's Task snapshot, if it has one.
func (d *driver) cleanup(ctx context.Context, name string, failed bool) error {
	if d.rt == nil {
		return nil
	}
	kept, err := d.rt.Cleanup(ctx, name, failed)
	if err != nil {
		return fmt.Errorf("clean up container of %s: %w", name, err)
	}
	if kept != "" {
		d.log.Info("kept the failed container's snapshot", "unit", name, "path", kept)
	}
	return nil
}

// sweep runs the runtime's Sweep when one is due: at the first pass (what
// a crash left), after a pass that removed a unit (a new version removes
// the old one first), and when something it kept falls due. Errors are logged, not returned: a
// snapshot still busy must not make the whole pass retry.
func (d *driver) sweep(ctx context.Context, desired map[string]registry.Placement, now time.Time) {
	if d.rt == nil || !d.sweepDue && (d.sweepAt.IsZero() || now.Before(d.sweepAt)) {
		return
	}
	sw, err := d.rt.Sweep(ctx, unitNames(desired, d.onDisk), now)
	d.sweepDue, d.sweepAt = false, sw.Next
	if items := sw.Items(); len(items) > 0 {
		d.log.Info("swept the container store", "removed", items)
	}
	if err != nil {
		d.log.Warn("sweeping the container store; trying again in a minute", "err", err)
		if soon := now.Add(time.Minute); d.sweepAt.IsZero() || soon.Before(d.sweepAt) {
			d.sweepAt = soon
		}
	}
}

// pulls are the Agent's background image pulls: one per image at a time.
type pulls struct {
	mu       sync.Mutex
	running  map[string]bool
	progress map[string]runtime.PullProgress // of the running pulls
	failed   map[string]error                // pulls that ended in an error, until a pass reports them
	reported []string
	wg       sync.WaitGroup
}

// progressEvery is how often a pull's progress is published: a state
// record written per unit that waits for it.
const progressEvery = 2 * time.Second

// image is what the machine has of img: on it, being pulled, or its
// last pull failed. A failure is reported once (to every unit of the
// image in this pass): the next pass pulls again, and the failed pass's
// retry backs off.
func (d *driver) image(ctx context.Context, img string) Image {
	has, err := d.rt.Has(ctx, img)
	switch {
	case err != nil:
		return Image{Err: err}
	case has:
		return Image{Ready: true}
	}
	p := &d.pulls
	p.mu.Lock()
	defer p.mu.Unlock()
	if err, ok := p.failed[img]; ok {
		p.reported = append(p.reported, img)
		return Image{Err: err}
	}
	pr := p.progress[img]
	return Image{Pulling: p.running[img], Layer: pr.Layer, Layers: pr.Layers, Bytes: pr.Bytes}
}

// startPull pulls img in the background, unless a pull of it runs; its
// end kicks another pass.
func (d *driver) startPull(ctx context.Context, img string) {
	p := &d.pulls
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running[img] {
		return
	}
	p.running[img] = true
	p.wg.Add(1)
	go d.pull(ctx, img)
}

func (d *driver) pull(ctx context.Context, img string) {
	defer d.pulls.wg.Done()
	start := time.Now()
	d.log.Info("pulling image", "image", img)
	p := &d.pulls
	// While it runs, a pass every progressEvery publishes how far it is.
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-d.clock.After(progressEvery):
				select {
				case d.kick <- struct{}{}:
				default:
				}
			}
		}
	}()
	err := d.rt.Pull(ctx, img, func(pr runtime.PullProgress) {
		p.mu.Lock()
		p.progress[img] = pr
		p.mu.Unlock()
	})
	close(done)
	p.mu.Lock()
	d.obs.Pulled(time.Since(start), p.progress[img].Bytes, err)
	delete(p.running, img)
	delete(p.progress, img)
	if err != nil {
		p.failed[img] = err // logged by the pass that reports it
	}
	p.mu.Unlock()
	if err == nil {
		d.log.Info("pulled image", "image", img, "took", time.Since(start).Round(time.Millisecond))
	}
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// forgetReported drops the pull errors this pass reported, so the next
// pass pulls again.
func (d *driver) forgetReported() {
	p := &d.pulls
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, img := range p.reported {
		delete(p.failed, img)
	}
	p.reported = nil
}
