package registry

import (
	"context"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PublishState records what this Machine's systemd says of a Unit, under
// the machine's lease so the row disappears with the machine.
func (p *Presence) PublishState(ctx context.Context, s UnitState) error {
	v := stateValue{Load: s.Load, Active: s.Active, Sub: s.Sub, State: s.State}
	if !s.Hash.IsZero() {
		v.Hash = s.Hash.String()
	}
	_, err := p.r.cli.Put(ctx, p.r.k.state(s.Machine, s.Unit), mustJSON(v), clientv3.WithLease(p.lease))
	return p.r.wrap("publish state of "+s.Unit, err)
}

// DeleteState removes this Machine's row for a Unit, and only that row
// (fleet deleted every machine's rows for the unit).
func (p *Presence) DeleteState(ctx context.Context, machine, unitName string) error {
	_, err := p.r.cli.Delete(ctx, p.r.k.state(machine, unitName))
	return p.r.wrap("delete state of "+unitName, err)
}

// States lists every published UnitState, sorted by machine then unit.
func (r *Registry) States(ctx context.Context) ([]UnitState, error) {
	resp, err := r.cli.Get(ctx, r.k.states(), clientv3.WithPrefix())
	if err != nil {
		return nil, r.wrap("list unit states", err)
	}
	out := make([]UnitState, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		m, u, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), r.k.states()), "/")
		if !ok {
			continue
		}
		s, err := decodeState(m, u, kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
