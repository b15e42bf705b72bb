package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/unit"
)

// Units lists every submitted unit, sorted by name.
func (r *Registry) Units(ctx context.Context) ([]Unit, error) {
	resp, err := r.cli.Get(ctx, r.k.units(), clientv3.WithPrefix())
	if err != nil {
		return nil, r.wrap("list units", err)
	}
	out := make([]Unit, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		u, err := decodeUnit(strings.TrimPrefix(string(kv.Key), r.k.units()), kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil // etcd returns keys sorted, hence names sorted
}

// Unit reads one unit; ErrNotFound if it was never submitted.
func (r *Registry) Unit(ctx context.Context, name string) (Unit, error) {
	resp, err := r.cli.Get(ctx, r.k.unit(name))
	if err != nil {
		return Unit{}, r.wrap("read unit "+name, err)
	}
	if len(resp.Kvs) == 0 {
		return Unit{}, fmt.Errorf("unit %s: %w", name, ErrNotFound)
	}
	kv := resp.Kvs[0]
	return decodeUnit(name, kv.Value, kv.ModRevision)
}

// File returns the normalized unit file stored under hash.
func (r *Registry) File(ctx context.Context, h unit.Hash) ([]byte, error) {
	resp, err := r.cli.Get(ctx, r.k.file(h))
	if err != nil {
		return nil, r.wrap("read unit file "+h.String(), err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("unit file %s: %w", h, ErrNotFound)
	}
	return resp.Kvs[0].Value, nil
}

// CreateUnits submits new units in the given desired state. Each unit's file
// and record are written in one transaction with a Compare that the unit does
// not exist yet, so a unit is never seen without its file; units are batched
// to stay under the transaction limit. If any already exists nothing of its
// batch is written and the error, ErrExists, names the units that exist.
func (r *Registry) CreateUnits(ctx context.Context, files []*unit.File, desired State) error {
	if _, err := ParseState(string(desired)); err != nil {
		return err
	}
	per := max(r.txnOps/2, 1)
	for start := 0; start < len(files); start += per {
		batch := files[start:min(start+per, len(files))]
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		files := map[unit.Hash]bool{} // instances of one template share a file: etcd refuses a key twice in a txn
		for _, f := range batch {
			key := r.k.unit(f.Name)
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
			if !files[f.Hash] {
				files[f.Hash] = true
				ops = append(ops, clientv3.OpPut(r.k.file(f.Hash), string(f.Bytes())))
			}
			ops = append(ops, clientv3.OpPut(key, mustJSON(newUnitValue(f, desired))))
		}
		resp, err := r.txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return r.wrap("submit units", err)
		}
		if !resp.Succeeded {
			return r.existing(ctx, batch)
		}
	}
	return nil
}

func (r *Registry) existing(ctx context.Context, batch []*unit.File) error {
	var names []string
	for _, f := range batch {
		if _, err := r.Unit(ctx, f.Name); err == nil {
			names = append(names, f.Name)
		}
	}
	return fmt.Errorf("units %s: %w", strings.Join(names, " "), ErrExists)
}

// ReplaceUnit swaps a unit's file for f and keeps its desired state (fleet
// reset it to inactive first, so the unit could move for no reason).
func (r *Registry) ReplaceUnit(ctx context.Context, f *unit.File) error {
	u, err := r.Unit(ctx, f.Name)
	if err != nil {
		return err
	}
	key := r.k.unit(f.Name)
	resp, err := r.txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", u.Revision)).
		Then(clientv3.OpPut(r.k.file(f.Hash), string(f.Bytes())),
			clientv3.OpPut(key, mustJSON(newUnitValue(f, u.Desired)))).
		Commit()
	if err != nil {
		return r.wrap("replace unit "+f.Name, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("replace unit %s: %w", f.Name, ErrStale)
	}
	return nil
}

// SetDesiredState sets the desired state of every named unit in one
// transaction: all change or none do. A missing unit is ErrNotFound naming
// it; a concurrent change is retried from a fresh read.
func (r *Registry) SetDesiredState(ctx context.Context, names []string, state State) error {
	if _, err := ParseState(string(state)); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		units, err := r.readUnits(ctx, names)
		if err != nil {
			return err
		}
		cmps := make([]clientv3.Cmp, 0, len(units))
		ops := make([]clientv3.Op, 0, len(units))
		for _, u := range units {
			if u.Desired == state {
				continue
			}
			key := r.k.unit(u.Name)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", u.Revision))
			ops = append(ops, clientv3.OpPut(key, mustJSON(withDesired(u, state))))
		}
		if len(ops) == 0 {
			return nil
		}
		if len(ops) > r.txnOps {
			return fmt.Errorf("%w: %d units in one state change, at most %d", ErrInvalid, len(ops), r.txnOps)
		}
		resp, err := r.txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return r.wrap("set desired state", err)
		}
		if resp.Succeeded {
			return nil
		}
		if attempt >= 10 {
			return fmt.Errorf("set desired state of %s: %w", strings.Join(names, " "), ErrStale)
		}
	}
}

// readUnits reads the named units in one request and fails naming the first
// missing one.
func (r *Registry) readUnits(ctx context.Context, names []string) ([]Unit, error) {
	ops := make([]clientv3.Op, len(names))
	for i, n := range names {
		ops[i] = clientv3.OpGet(r.k.unit(n))
	}
	resp, err := r.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, r.wrap("read units", err)
	}
	out := make([]Unit, 0, len(names))
	for i, rr := range resp.Responses {
		kvs := rr.GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil, fmt.Errorf("unit %s: %w", names[i], ErrNotFound)
		}
		u, err := decodeUnit(names[i], kvs[0].Value, kvs[0].ModRevision)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// DestroyUnits removes the named units in one transaction, with their
// unplaced reasons. Their Placements are the Engine's to remove (only the
// leader writes Placements); the unit files are collected by the Engine once
// no unit refers to them.
func (r *Registry) DestroyUnits(ctx context.Context, names []string) error {
	units, err := r.readUnits(ctx, names)
	if err != nil {
		return err
	}
	if 2*len(units) > r.txnOps {
		return fmt.Errorf("%w: %d units in one destroy, at most %d", ErrInvalid, len(units), r.txnOps/2)
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for _, u := range units {
		key := r.k.unit(u.Name)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", u.Revision))
		ops = append(ops, clientv3.OpDelete(key), clientv3.OpDelete(r.k.unplacedUnit(u.Name)))
	}
	resp, err := r.txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return r.wrap("destroy units", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("destroy %s: %w", strings.Join(names, " "), ErrStale)
	}
	return nil
}

// sortedKeys is a small helper for deterministic iteration over maps.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
