package systemd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	godbus "github.com/godbus/dbus/v5"

	"github.com/flota-dev/flota/unit"
)

// runtimeDir is where systemd's runtime links are (LinkUnitFiles with
// runtime), the Agent's among them.
const runtimeDir = "/run/systemd/system"

// Foreign looks for each name, and an instance's template, in every
// directory of systemd's search path (its UnitPath, highest priority
// first): a file or link there that is not the Agent's own runtime link
// into its unit directory is someone else's unit. A link to /dev/null (a
// masked unit) counts: an operator masked it.
func (c *Conn) Foreign(ctx context.Context, names []string) (map[string]string, error) {
	dirs, err := c.unitPath(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range names {
		look := []string{name}
		if t, ok := unit.TemplateOf(name); ok {
			look = append(look, t)
		}
		for _, dir := range dirs {
			if path, ok := c.foreignIn(dir, look); ok {
				out[name] = path
				break
			}
		}
	}
	return out, ctx.Err()
}

// foreignIn returns the first of names that dir holds as a file that is
// not the Agent's own link.
func (c *Conn) foreignIn(dir string, names []string) (string, bool) {
	if filepath.Clean(dir) == filepath.Clean(c.dir) {
		return "", false // the Agent's own unit directory, should systemd search it
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(filepath.Join(c.root, p)); err != nil {
			continue
		}
		if filepath.Clean(dir) == runtimeDir {
			if dest, err := os.Readlink(filepath.Join(c.root, p)); err == nil && dest == filepath.Join(c.dir, n) {
				continue
			}
		}
		return p, true
	}
	return "", false
}

// unitPath is systemd's search path for unit files, read from the
// manager once per Conn (it changes only when systemd is re-executed with
// another configuration).
func (c *Conn) unitPath(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.searchPath != nil {
		return c.searchPath, nil
	}
	s, err := c.sd.GetManagerProperty("UnitPath")
	if err != nil {
		return nil, fmt.Errorf("read systemd's unit search path: %w", err)
	}
	v, err := godbus.ParseVariant(s, godbus.ParseSignatureMust("as"))
	if err != nil {
		return nil, fmt.Errorf("read systemd's unit search path %q: %w", s, err)
	}
	dirs, ok := v.Value().([]string)
	if !ok || len(dirs) == 0 {
		return nil, fmt.Errorf("read systemd's unit search path: got %q, want directories", s)
	}
	c.searchPath = dirs
	return dirs, ctx.Err()
}
