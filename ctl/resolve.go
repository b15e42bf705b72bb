package ctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// ensured is what ensureUnits leaves in the cluster: the units named that
// are there now, in the order given, and which of them are global. The
// units it could not find anywhere were said on stderr and are in left.
type ensured struct {
	names  []string
	global map[string]bool
	left   *leftOut
}

// ensureUnits is the first half of submit, load and start: every unit named
// must exist in the registry. Missing units are created, inactive, from their
// local file or their template; an existing unit whose local file differs is
// replaced with --replace and otherwise only warned about. A unit with no
// file and no template anywhere is left out (fleetctl's "unable to find
// Unit(X) in Registry or on filesystem"), so that the command goes on with
// the others; if that leaves none, it returns the partialError. Every file
// is read and parsed before anything is written, so a bad file (or a file
// not named after a unit) leaves the registry untouched.
func (c *cli) ensureUnits(ctx context.Context, us []unitArg, replace bool) (ensured, error) {
	e := ensured{left: &leftOut{w: c.errOut}}
	st, err := c.status(ctx)
	if err != nil {
		return e, err
	}
	r := &resolver{c: c, units: map[string]registry.Unit{}, files: map[string]*unit.File{}, texts: map[string][]byte{}}
	for _, u := range st.Units {
		r.units[u.Name] = u
	}
	var create, replaced []*unit.File
	var kept []registry.Unit
	for _, a := range us {
		if u, ok := r.units[a.name]; ok {
			kept = append(kept, u)
			e.names = append(e.names, a.name)
			f, msg, err := r.differing(a, u, replace)
			switch {
			case err != nil:
				return e, err
			case f != nil && replace:
				replaced = append(replaced, f)
			case f != nil:
				fmt.Fprintf(c.errOut, "WARNING: Unit %s in registry differs from %s. Add --replace to override.\n", a.name, msg)
			}
			continue
		}
		f, err := r.newFile(ctx, a)
		switch {
		case errors.Is(err, errNotFound):
			e.left.add(err)
			continue
		case err != nil:
			return e, err
		}
		r.files[a.name] = f
		create = append(create, f)
		e.names = append(e.names, a.name)
	}
	if len(e.names) == 0 {
		return e, e.left.err()
	}
	files := make(map[string]*unit.File, len(create)+len(replaced))
	for _, f := range slices.Concat(replaced, create) {
		files[f.Name] = f
		for _, w := range f.Warnings {
			fmt.Fprintf(c.errOut, "WARNING: unit %s: %s\n", f.Name, w)
		}
	}
	for _, f := range replaced {
		if err := do(ctx, c, "replace unit "+f.Name, func(ctx context.Context) error { return c.reg.ReplaceUnit(ctx, f) }); err != nil {
			return e, err
		}
	}
	created, err := c.createUnits(ctx, create)
	if err != nil {
		return e, err
	}
	for _, f := range created {
		fmt.Fprintf(c.out, "Unit %s inactive\n", f.Name)
	}
	e.global = globalsOf(kept)
	for _, f := range files {
		e.global[f.Name] = f.Fleet.Global
	}
	return e, nil
}

// createUnits creates units, inactive, and returns those it created: a unit
// that a concurrent submit created first is left as that submit made it.
func (c *cli) createUnits(ctx context.Context, files []*unit.File) ([]*unit.File, error) {
	for attempt := 1; len(files) > 0; attempt++ {
		err := do(ctx, c, "create units", func(ctx context.Context) error {
			return c.reg.CreateUnits(ctx, files, registry.StateInactive)
		})
		if err == nil || !errors.Is(err, registry.ErrExists) || attempt == 3 {
			return files, err
		}
		c.log.Debug("units created concurrently, keeping theirs", "err", err)
		st, err := c.status(ctx)
		if err != nil {
			return nil, err
		}
		exists := map[string]bool{}
		for _, u := range st.Units {
			exists[u.Name] = true
		}
		files = slices.DeleteFunc(slices.Clone(files), func(f *unit.File) bool { return exists[f.Name] })
	}
	return nil, nil
}

// resolver finds the file of a unit named on the command line.
type resolver struct {
	c     *cli
	units map[string]registry.Unit // the registry's units
	files map[string]*unit.File    // the files this command creates
	texts map[string][]byte        // templates read from the registry
}

// newFile returns the file of a unit that is not in the registry: its local
// file, else (for an instance) its template's text parsed under the
// instance's name, so that errors point at the template's lines and the
// instance's [X-Fleet] values are checked for its own name. The template
// comes from this same command, the registry, or a file beside the
// argument, in that order. An argument that is a file not named after a
// unit ("nodot", "x.foo") is refused: that file is what the user means, and
// it has no unit name flota could store it under.
func (r *resolver) newFile(ctx context.Context, a unitArg) (*unit.File, error) {
	if p, ok := localPath(a); ok {
		return readUnitFile(p, a.name)
	}
	if isFile(a.arg) {
		if _, err := unit.FileName(a.arg); err != nil {
			return nil, err
		}
	}
	tmpl, ok := unit.TemplateOf(a.name)
	if !ok {
		return nil, notFoundf("unable to find Unit(%s) in Registry or on filesystem", a.name)
	}
	if f := r.files[tmpl]; f != nil {
		return unit.Parse(a.name, f.Bytes())
	}
	if u, ok := r.units[tmpl]; ok {
		data, ok := r.texts[tmpl]
		if !ok {
			var err error
			data, err = request(ctx, r.c, "read unit file of "+tmpl, func(ctx context.Context) ([]byte, error) {
				return r.c.reg.File(ctx, u.Hash)
			})
			if err != nil {
				return nil, err
			}
			r.texts[tmpl] = data
		}
		return unit.Parse(a.name, data)
	}
	if p := filepath.Join(filepath.Dir(a.arg), tmpl); isFile(p) {
		return readUnitFile(p, a.name)
	}
	return nil, notFoundf("unable to find template Unit(%s) in Registry or on filesystem", tmpl)
}

// differing returns the local file of an existing unit when it differs from
// the stored one, and what it is for the warning. A local file that does not
// parse is ignored, unless it is to replace the stored one.
func (r *resolver) differing(a unitArg, u registry.Unit, replace bool) (*unit.File, string, error) {
	f, what, err := localFile(a)
	switch {
	case err != nil && replace:
		return nil, "", err
	case err != nil:
		r.c.log.Debug("ignoring local file that does not parse", "unit", a.name, "file", what, "err", err)
		return nil, "", nil
	case f == nil || f.Hash == u.Hash:
		return nil, "", nil
	}
	return f, what, nil
}

// localFile reads a unit's local file: its own, or for an instance without
// one its template beside the argument (parsed under the instance's name).
// It returns nil if there is none.
func localFile(a unitArg) (*unit.File, string, error) {
	if p, ok := localPath(a); ok {
		f, err := readUnitFile(p, a.name)
		return f, "local unit file " + p, err
	}
	tmpl, ok := unit.TemplateOf(a.name)
	p := filepath.Join(filepath.Dir(a.arg), tmpl)
	if !ok || !isFile(p) {
		return nil, "", nil
	}
	f, err := readUnitFile(p, a.name)
	return f, "local template unit file " + p, err
}

// localPath is where a unit's own file is: the argument itself when it is
// named after the unit (units/web.service), else the unit's name beside it
// (fleetctl's "web" for ./web.service). A file's name is its unit's name,
// so a file called "web" is never web.service's file.
func localPath(a unitArg) (string, bool) {
	if path.Base(a.arg) == a.name {
		return a.arg, isFile(a.arg)
	}
	p := filepath.Join(filepath.Dir(a.arg), a.name)
	return p, isFile(p)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func readUnitFile(path, name string) (*unit.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", name, err)
	}
	return unit.Parse(name, data)
}
