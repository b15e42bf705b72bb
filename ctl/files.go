package ctl

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// fileReaders bounds the unit files read from etcd at the same time.
const fileReaders = 8

// storedFiles returns the parsed stored file of every unit, keeping those
// already in have. Each distinct content is read once, a few at a time, and
// parsed under each unit's own name. etcd failing is an error; a file that
// is missing or does not parse is left out with a warning, so one bad
// record cannot break a listing (it did in fleet).
func (c *cli) storedFiles(ctx context.Context, units []registry.Unit, have map[string]*unit.File) (map[string]*unit.File, error) {
	out := maps.Clone(have)
	if out == nil {
		out = make(map[string]*unit.File, len(units))
	}
	need := map[unit.Hash]bool{}
	for _, u := range units {
		if out[u.Name] == nil {
			need[u.Hash] = true
		}
	}
	type result struct {
		h    unit.Hash
		data []byte
		err  error
	}
	results := make(chan result, len(need))
	sem := make(chan struct{}, fileReaders)
	for h := range need {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			data, err := request(ctx, c, "read unit file "+h.Short(), func(ctx context.Context) ([]byte, error) {
				return c.reg.File(ctx, h)
			})
			results <- result{h, data, err}
		}()
	}
	data := make(map[unit.Hash][]byte, len(need))
	var errs []error
	for range need {
		r := <-results
		switch {
		case r.err == nil:
			data[r.h] = r.data
		case !errors.Is(r.err, registry.ErrNotFound):
			errs = append(errs, r.err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, u := range units {
		if out[u.Name] != nil {
			continue
		}
		d, ok := data[u.Hash]
		if !ok {
			fmt.Fprintf(c.errOut, "WARNING: unit %s: its file %s is missing from the registry\n", u.Name, u.Hash.Short())
			continue
		}
		f, err := unit.Parse(u.Name, d)
		if err != nil {
			fmt.Fprintf(c.errOut, "WARNING: stored file of unit %s does not parse: %v\n", u.Name, err)
			continue
		}
		out[u.Name] = f
	}
	return out, nil
}

// globalsOf tells which units run on every eligible machine, from their
// records (the registry copies Global from the file at submit).
func globalsOf(units []registry.Unit) map[string]bool {
	out := make(map[string]bool, len(units))
	for _, u := range units {
		out[u.Name] = u.Global
	}
	return out
}
