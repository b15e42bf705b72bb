package systemd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/unit"
)

// UnitFiles lists the unit directory: every file named like a unit, with
// the SHA-1 of its content. A directory that does not exist is empty.
func (c *Conn) UnitFiles(ctx context.Context) (map[string]unit.Hash, error) {
	entries, err := os.ReadDir(c.hostDir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]unit.Hash{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("unit directory: %w", err)
	}
	out := make(map[string]unit.Hash, len(entries))
	for _, e := range entries {
		name := e.Name()
		// Temporary files of an interrupted write start with '.', which
		// no unit name does.
		if !e.Type().IsRegular() || unit.ValidateName(name) != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(c.hostDir, name))
		if err != nil {
			return nil, fmt.Errorf("unit directory: %w", err)
		}
		out[name] = agent.FileHash(data)
	}
	return out, ctx.Err()
}

// WriteUnitFile writes name's file (a temporary file renamed over it, so
// systemd never reads half a file) and links it into systemd's runtime
// search path, as fleet did.
func (c *Conn) WriteUnitFile(ctx context.Context, name string, data []byte) error {
	if err := unit.ValidateName(name); err != nil {
		return err
	}
	c.remember(name)
	if err := writeAtomic(c.hostDir, name, data); err != nil {
		return fmt.Errorf("write unit %s: %w", name, err)
	}
	if _, err := c.sd.LinkUnitFilesContext(ctx, []string{filepath.Join(c.dir, name)}, true, true); err != nil {
		return fmt.Errorf("link unit %s: %w", name, err)
	}
	return nil
}

// WriteUnitFiles writes each file as WriteUnitFile does, then links them
// all in one call.
func (c *Conn) WriteUnitFiles(ctx context.Context, files []agent.UnitFile) map[string]error {
	errs := map[string]error{}
	var paths, names []string
	for _, f := range files {
		if err := unit.ValidateName(f.Name); err != nil {
			errs[f.Name] = err
			continue
		}
		c.remember(f.Name)
		if err := writeAtomic(c.hostDir, f.Name, f.Data); err != nil {
			errs[f.Name] = fmt.Errorf("write unit %s: %w", f.Name, err)
			continue
		}
		paths, names = append(paths, filepath.Join(c.dir, f.Name)), append(names, f.Name)
	}
	if len(paths) == 0 {
		return errs
	}
	if _, err := c.sd.LinkUnitFilesContext(ctx, paths, true, true); err != nil {
		for _, n := range names {
			errs[n] = fmt.Errorf("link unit %s: %w", n, err)
		}
	}
	return errs
}

func writeAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// RemoveUnitFile undoes the link and any enablement (DisableUnitFiles,
// runtime), clears a failed state, and deletes the file, as fleet did.
func (c *Conn) RemoveUnitFile(ctx context.Context, name string) error {
	if err := unit.ValidateName(name); err != nil {
		return err
	}
	path := filepath.Join(c.hostDir, name)
	_, statErr := os.Stat(path)
	if _, err := c.sd.DisableUnitFilesContext(ctx, []string{name}, true); err != nil {
		if statErr == nil {
			return fmt.Errorf("disable unit %s: %w", name, err)
		}
		// The file went first (by hand): systemd cannot resolve the name
		// any more, so drop its runtime link ourselves if it is ours.
		c.dropLink(name)
	}
	if err := c.sd.ResetFailedUnitContext(ctx, name); err != nil && !isNoSuchUnit(err) {
		return fmt.Errorf("reset-failed %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove unit %s: %w", name, err)
	}
	return nil
}

// dropLink removes systemd's runtime link to name when it points into the
// unit directory.
func (c *Conn) dropLink(name string) {
	link := filepath.Join(c.root, "/run/systemd/system", name)
	if dest, err := os.Readlink(link); err == nil && dest == filepath.Join(c.dir, name) {
		os.Remove(link)
	}
}
