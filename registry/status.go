package registry

import (
	"context"
	"log/slog"
	"maps"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/reason"
)

// Status is everything flotactl shows, read at one revision: units,
// machines, placements, unplaced reasons and published states.
type Status struct {
	Revision   int64
	Units      []Unit
	Machines   []Machine // Metadata effective: registered, with Labels applied
	Placements []Placement
	Unplaced   map[string]reason.Unplaced
	Notes      map[string][]reason.Note
	Drains     map[string]Drain
	Moves      map[string]Move // unit -> its last rebalancing move
	States     []UnitState
	// Labels are the operators' labels by machine ID, also of machines not
	// registered now.
	Labels map[string]Labels
}

// ReadStatus reads the whole cluster state in one request. Unit files are
// not included: File fetches one when needed.
func (r *Registry) ReadStatus(ctx context.Context) (*Status, error) {
	resp, err := r.cli.Txn(ctx).Then(
		clientv3.OpGet(r.k.units(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.machines(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.placements(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.unplaced(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.states(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.notes(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.drains(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.labels(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.moves(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, r.wrap("read cluster status", err)
	}
	s := &Status{Revision: resp.Header.Revision, Unplaced: map[string]reason.Unplaced{}, Notes: map[string][]reason.Note{}, Drains: map[string]Drain{}, Moves: map[string]Move{}}
	rr := func(i int) []*mvccpb.KeyValue { return resp.Responses[i].GetResponseRange().Kvs }
	if s.Labels, err = r.decodeAllLabels(rr(7)); err != nil {
		return nil, err
	}
	for _, kv := range rr(0) {
		u, err := decodeUnit(strings.TrimPrefix(string(kv.Key), r.k.units()), kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		s.Units = append(s.Units, u)
	}
	for _, kv := range rr(1) {
		id := strings.TrimPrefix(string(kv.Key), r.k.machines())
		m, err := decodeMachine(id, kv.Value, kv.CreateRevision)
		if err != nil {
			return nil, err
		}
		s.Machines = append(s.Machines, withLabels(m, s.Labels[id]))
	}
	for _, kv := range rr(2) {
		m, u, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), r.k.placements()), "/")
		if !ok {
			continue
		}
		p, err := decodePlacement(m, u, kv.Value)
		if err != nil {
			return nil, err
		}
		s.Placements = append(s.Placements, p)
	}
	for _, kv := range rr(3) {
		s.Unplaced[strings.TrimPrefix(string(kv.Key), r.k.unplaced())] = reason.Decode(kv.Value)
	}
	for _, kv := range rr(6) {
		d, err := decodeDrain(strings.TrimPrefix(string(kv.Key), r.k.drains()), kv.Value)
		if err != nil {
			return nil, err
		}
		s.Drains[d.Machine] = d
	}
	for _, kv := range rr(8) {
		name := strings.TrimPrefix(string(kv.Key), r.k.moves())
		m, err := decodeMove(name, kv.Value)
		if err != nil {
			return nil, err
		}
		s.Moves[name] = m
	}
	for _, kv := range rr(5) {
		s.Notes[strings.TrimPrefix(string(kv.Key), r.k.notes())] = reason.DecodeNotes(kv.Value)
	}
	for _, kv := range rr(4) {
		st, ok, err := r.stateOf(kv)
		if err != nil {
			return nil, err
		}
		if ok {
			s.States = append(s.States, st)
		}
	}
	return s, nil
}

// WatchStatus signals, with the revision, every change to what ReadStatus
// reads after revision after; flotactl waits on it instead of polling. The
// channel closes when ctx ends or the watch breaks (an error is sent first).
func (r *Registry) WatchStatus(ctx context.Context, after int64) <-chan StatusChange {
	out := make(chan StatusChange, 1)
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	cluster := r.cli.Watch(ctx, r.k.cluster(), clientv3.WithPrefix(), clientv3.WithRev(after+1))
	states := r.cli.Watch(ctx, r.k.states(), clientv3.WithPrefix(), clientv3.WithRev(after+1))
	go func() {
		defer close(out)
		defer cancel()
		for {
			var resp clientv3.WatchResponse
			var ok bool
			select {
			case resp, ok = <-cluster:
			case resp, ok = <-states:
			case <-ctx.Done():
				return
			}
			if !ok {
				return
			}
			ch := StatusChange{Revision: resp.Header.Revision}
			if err := resp.Err(); err != nil {
				ch.Err = r.wrap("watch cluster status", err)
			}
			select {
			case out <- ch:
			case <-ctx.Done():
				return
			}
			if ch.Err != nil {
				return
			}
		}
	}()
	return out
}

// StatusChange says that the cluster changed at Revision.
type StatusChange struct {
	Revision int64
	Err      error
}

// Cluster is s as LoadCluster would have read it at s's revision: what a
// dry run (engine.PreviewInput) reads, for a client that has the Status
// from flotad's API rather than from etcd. It is a snapshot: it takes no
// watch updates (Apply).
func (s *Status) Cluster() *Cluster {
	c := &Cluster{
		Revision:   s.Revision,
		Units:      make(map[string]Unit, len(s.Units)),
		Machines:   make(map[string]Machine, len(s.Machines)),
		Placements: map[string]map[string]Placement{},
		Unplaced:   maps.Clone(s.Unplaced),
		Notes:      maps.Clone(s.Notes),
		Drains:     maps.Clone(s.Drains),
		Moves:      maps.Clone(s.Moves),
		Labels:     maps.Clone(s.Labels),
		log:        slog.New(slog.DiscardHandler),
	}
	for _, u := range s.Units {
		c.Units[u.Name] = u
	}
	for _, m := range s.Machines {
		c.Machines[m.ID] = m
	}
	for _, p := range s.Placements {
		if c.Placements[p.Unit] == nil {
			c.Placements[p.Unit] = map[string]Placement{}
		}
		c.Placements[p.Unit][p.Machine] = p
	}
	if c.Unplaced == nil {
		c.Unplaced = map[string]reason.Unplaced{}
	}
	if c.Notes == nil {
		c.Notes = map[string][]reason.Note{}
	}
	if c.Drains == nil {
		c.Drains = map[string]Drain{}
	}
	if c.Moves == nil {
		c.Moves = map[string]Move{}
	}
	if c.Labels == nil {
		c.Labels = map[string]Labels{}
	}
	return c
}
