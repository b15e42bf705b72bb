package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/flota-dev/flota/agent/image"
)

// DefaultMirror is where debootstrap and apt fetch Debian from.
const DefaultMirror = "http://deb.debian.org/debian"

// Builder builds specs into layers of Store.
type Builder struct {
	Store *image.Store // may be nil with DryRun: nothing is then known cached
	Out   io.Writer    // STEP lines and results; nil discards
	// Log receives the output of debootstrap, run and packages steps as
	// they run; nil keeps it, to quote the end of it in a step's error.
	Log         io.Writer
	DryRun      bool      // print the plan, build nothing
	Mirror      string    // Debian mirror; DefaultMirror if ""
	Epoch       time.Time // SOURCE_DATE_EPOCH: copied files' mtimes; zero is 1970-01-01
	Nspawn      string    // systemd-nspawn binary; found in PATH if ""
	Debootstrap string    // debootstrap binary; found in PATH if ""
	// KeepFailed moves a failed step's snapshot to the store's failed/
	// area to look at, instead of deleting it. It is never a layer.
	KeepFailed bool
}

// Result is what building one spec gave.
type Result struct {
	Name   string
	Layer  image.LayerID // "" in a dry run that would build
	Built  int           // steps built
	Cached int           // steps reused from the cache
}

// Build builds specs in dependency order, tagging each image's top layer
// with its name, and returns the results in that order. It stops at the
// first failure, which names the spec file and line.
func (b *Builder) Build(ctx context.Context, specs []*Spec) ([]Result, error) {
	ordered, err := Order(specs)
	if err != nil {
		return nil, err
	}
	built := map[string]image.LayerID{}
	var out []Result
	for _, s := range ordered {
		r, err := b.buildOne(ctx, s, built)
		if err != nil {
			return out, err
		}
		built[s.Name] = r.Layer
		out = append(out, r)
	}
	return out, nil
}

func (b *Builder) printf(format string, a ...any) {
	if b.Out != nil {
		fmt.Fprintf(b.Out, format, a...)
	}
}

func (b *Builder) buildOne(ctx context.Context, s *Spec, built map[string]image.LayerID) (Result, error) {
	res := Result{Name: s.Name}
	var parent image.LayerID
	known := true // parent is known (false only in dry runs)
	from := "scratch"
	if s.From != "" {
		from = s.From
		if id, ok := built[s.From]; ok {
			parent, known = id, id != ""
		} else if b.Store == nil {
			known = false
		} else {
			id, err := b.Store.Resolve(ctx, s.From)
			if err != nil {
				return res, fmt.Errorf("%s:%d: from %s: not in this build and not in the store: %w", s.File, s.FromLine, s.From, err)
			}
			parent = id
		}
	}
	b.printf("BUILD %s (%s) from %s\n", s.Name, s.File, from)
	for i, st := range s.Steps {
		b.printf("STEP %d/%d %s ... ", i+1, len(s.Steps), st.Text())
		where := fmt.Sprintf("%s:%d: %s", s.File, st.Line, st.Op)
		var content string
		if st.Op == "copy" {
			src := filepath.Join(s.Dir, st.Args[0])
			h, err := hashSource(src)
			if err != nil {
				b.printf("failed\n")
				return res, fmt.Errorf("%s: %w", where, err)
			}
			content = h
		}
		if !known {
			b.printf("would build: %s\n", b.plan(st))
			continue
		}
		key := b.key(parent, st, content)
		if id, ok := b.cached(ctx, key); ok {
			b.printf("cached\n")
			parent = id
			res.Cached++
			continue
		}
		if b.DryRun {
			b.printf("would build: %s\n", b.plan(st))
			known = false
			continue
		}
		start := time.Now()
		id, err := b.step(ctx, s, st, parent, key)
		if err != nil {
			b.printf("failed\n")
			return res, fmt.Errorf("%s: %w", where, err)
		}
		b.printf("%.1fs\n", time.Since(start).Seconds())
		parent = id
		res.Built++
	}
	if !known {
		b.printf("%s = (not built: dry run)\n", s.Name)
		return res, nil
	}
	if !b.DryRun {
		if err := b.Store.Tag(ctx, s.Name, parent); err != nil {
			return res, fmt.Errorf("%s: %w", s.File, err)
		}
	}
	res.Layer = parent
	b.printf("%s = %s\n", s.Name, parent)
	return res, nil
}

// key is a step's cache key: the parent layer, the directive with the
// environment it runs in, and what else it reads (copied content, epoch,
// mirror).
func (b *Builder) key(parent image.LayerID, st Step, content string) string {
	h := sha256.New()
	fmt.Fprintf(h, "flota-build/1\nparent %s\n", parent)
	for _, e := range st.Env {
		fmt.Fprintf(h, "env %s\n", e)
	}
	fmt.Fprintf(h, "step %s\n", st.Text())
	switch st.Op {
	case "copy":
		fmt.Fprintf(h, "content %s\nepoch %d\n", content, b.Epoch.Unix())
	case "debootstrap", "packages":
		fmt.Fprintf(h, "mirror %s\n", b.mirror())
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (b *Builder) mirror() string {
	if b.Mirror == "" {
		return DefaultMirror
	}
	return b.Mirror
}

// CacheDir is where the key → layer index lives in a store.
func CacheDir(s *image.Store) string { return filepath.Join(s.Root(), "build-cache") }

// cached returns the layer a key was built as, if it is still in the
// store (GC may have deleted an untagged one).
func (b *Builder) cached(ctx context.Context, key string) (image.LayerID, bool) {
	if b.Store == nil {
		return "", false
	}
	data, err := os.ReadFile(filepath.Join(CacheDir(b.Store), key))
	if err != nil {
		return "", false
	}
	id, err := image.ParseLayerID(strings.TrimSpace(string(data)))
	if err != nil {
		return "", false
	}
	if _, err := b.Store.Layer(ctx, id); err != nil {
		return "", false
	}
	return id, true
}

func (b *Builder) remember(key string, id image.LayerID) error {
	dir := CacheDir(b.Store)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(string(id) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, key))
}

// step builds one layer: snapshot parent, apply, commit, drop the
// snapshot. On failure the snapshot goes and no layer is made.
func (b *Builder) step(ctx context.Context, s *Spec, st Step, parent image.LayerID, key string) (id image.LayerID, err error) {
	snap := "build-" + key[:24]
	if _, err := b.Store.RemoveSnapshot(ctx, snap, false); err != nil && !errors.Is(err, image.ErrNotFound) {
		return "", fmt.Errorf("leftover snapshot: %w", err)
	}
	tree, err := b.Store.Snapshot(ctx, parent, snap)
	if err != nil {
		return "", err
	}
	defer func() {
		keep := err != nil && b.KeepFailed
		kept, rerr := b.Store.RemoveSnapshot(context.WithoutCancel(ctx), snap, keep)
		if err == nil && rerr != nil {
			err = rerr
		}
		if kept != "" {
			err = fmt.Errorf("%w (tree kept in %s)", err, kept)
		}
	}()
	if err := b.apply(ctx, s, st, tree); err != nil {
		return "", err
	}
	id, err = b.Store.Commit(ctx, tree, parent)
	if err != nil {
		return "", err
	}
	if err := b.remember(key, id); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return id, nil
}

func (b *Builder) apply(ctx context.Context, s *Spec, st Step, tree string) error {
	switch st.Op {
	case "copy":
		return copyInto(tree, filepath.Join(s.Dir, st.Args[0]), st.Args[1], b.Epoch)
	case "debootstrap":
		if err := os.MkdirAll(filepath.Join(b.Store.Root(), "debootstrap-cache"), 0o700); err != nil {
			return err
		}
		if err := b.exec(ctx, b.debootstrapCmd(st, tree), nil); err != nil {
			return err
		}
		return normalise(tree)
	case "run":
		return b.exec(ctx, b.nspawnCmd(tree, st.Env, st.Args[0]), nil)
	case "packages":
		return b.exec(ctx, b.nspawnCmd(tree, append([]string{"DEBIAN_FRONTEND=noninteractive"}, st.Env...), packagesScript(st.Args)), nil)
	}
	return fmt.Errorf("unknown step %q", st.Op)
}

// plan is the command a step would run, for dry runs.
func (b *Builder) plan(st Step) string {
	switch st.Op {
	case "copy":
		return fmt.Sprintf("copy %s into the tree at %s", st.Args[0], st.Args[1])
	case "debootstrap":
		return strings.Join(b.debootstrapCmd(st, "<tree>"), " ")
	case "run":
		return strings.Join(b.nspawnCmd("<tree>", st.Env, strconv.Quote(st.Args[0])), " ")
	case "packages":
		return strings.Join(b.nspawnCmd("<tree>", st.Env, strconv.Quote(packagesScript(st.Args))), " ")
	}
	return st.Text()
}

func (b *Builder) debootstrapCmd(st Step, tree string) []string {
	bin := b.Debootstrap
	if bin == "" {
		bin = "debootstrap"
	}
	cmd := []string{bin}
	if st.Args[1] != "-" {
		cmd = append(cmd, "--variant="+st.Args[1])
	}
	if len(st.Args) > 2 {
		cmd = append(cmd, "--include="+st.Args[2])
	}
	if b.Store != nil {
		cmd = append(cmd, "--cache-dir="+filepath.Join(b.Store.Root(), "debootstrap-cache"))
	}
	return append(cmd, st.Args[0], tree, b.mirror())
}

func (b *Builder) nspawnCmd(tree string, env []string, script string) []string {
	bin := b.Nspawn
	if bin == "" {
		bin = "systemd-nspawn"
	}
	cmd := []string{bin, "--quiet", "--register=no", "--keep-unit", "--pipe", "-D", tree,
		"--setenv=SOURCE_DATE_EPOCH=" + strconv.FormatInt(b.Epoch.Unix(), 10)}
	for _, e := range env {
		cmd = append(cmd, "--setenv="+e)
	}
	return append(cmd, "/bin/sh", "-c", script)
}

func packagesScript(pkgs []string) string {
	return "apt-get update && apt-get install -y --no-install-recommends " + strings.Join(pkgs, " ") +
		" && apt-get clean && rm -rf /var/lib/apt/lists/*"
}

// exec runs argv with output to Log, or kept and quoted in the error.
func (b *Builder) exec(ctx context.Context, argv []string, env []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(b.Epoch.Unix(), 10), "DEBIAN_FRONTEND=noninteractive")
	cmd.Env = append(cmd.Env, env...)
	var buf tail
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if b.Log != nil {
		cmd.Stdout, cmd.Stderr = b.Log, b.Log
	}
	if err := cmd.Run(); err != nil {
		if out := strings.TrimSpace(buf.String()); out != "" {
			return fmt.Errorf("%s: %w:\n%s", filepath.Base(argv[0]), err, out)
		}
		return fmt.Errorf("%s: %w", filepath.Base(argv[0]), err)
	}
	return nil
}

// normalise drops what debootstrap leaves that differs from run to run
// and does not belong in an image: downloaded .debs, its log, and the
// machine ID (each container gets its own).
func normalise(tree string) error {
	debs, _ := filepath.Glob(filepath.Join(tree, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		if err := os.Remove(d); err != nil {
			return err
		}
	}
	os.Remove(filepath.Join(tree, "var/log/bootstrap.log"))
	mid := filepath.Join(tree, "etc/machine-id")
	if fi, err := os.Lstat(mid); err == nil && fi.Mode().IsRegular() {
		return os.Truncate(mid, 0)
	}
	return nil
}

// tail keeps the last 8 KiB written to it.
type tail struct{ b bytes.Buffer }

func (t *tail) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 16<<10 {
		rest := t.b.Bytes()[t.b.Len()-8<<10:]
		t.b = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return len(p), nil
}

func (t *tail) String() string {
	s := t.b.String()
	if len(s) > 8<<10 {
		s = "..." + s[len(s)-8<<10:]
	}
	return s
}
