package registry

import (
	"context"
	"fmt"
	"log/slog"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/reason"
)

// Cluster is the Engine's in-memory copy of <p>cluster/ at Revision: loaded
// once, then kept current by applying the ClusterUpdates of WatchCluster.
// It is not safe for concurrent use; one goroutine owns it.
type Cluster struct {
	Revision   int64
	Units      map[string]Unit
	Machines   map[string]Machine              // Metadata effective: registered, with Labels applied
	Placements map[string]map[string]Placement // unit -> machine -> placement
	Unplaced   map[string]reason.Unplaced      // unit -> why the Engine could not place it
	Notes      map[string][]reason.Note        // unit -> the soft rules its machine does not honour
	Drains     map[string]Drain                // machine -> its drain
	Moves      map[string]Move                 // unit -> its last rebalancing move
	// Labels are the operators' labels by machine ID, also of machines not
	// registered now: a machine that registers takes its labels from here,
	// and a labels change updates the machine's Metadata, whichever of the
	// two keys etcd delivers first.
	Labels map[string]Labels

	k   keys
	log *slog.Logger
}

// ClusterUpdate is one watch response: the changes of one or more revisions.
// Err is set (ErrCompacted, or an etcd error) when the watch broke; the owner
// must then LoadCluster again.
type ClusterUpdate struct {
	Revision int64
	events   []*clientv3.Event
	Err      error
}

// Events is how many key changes u carries.
func (u ClusterUpdate) Events() int { return len(u.events) }

// LastEvent is the revision of the last change u carries (0 for none).
// Revision, the header's, can be later: a watch catching up sends what is
// pending in parts, each stamped with the revision it catches up to, so a
// new watch must go on from the last event applied, not from Revision.
func (u ClusterUpdate) LastEvent() int64 {
	var last int64
	for _, ev := range u.events {
		last = max(last, ev.Kv.ModRevision)
	}
	return last
}

// Only says whether every change u carries was made at a revision wrote
// says is its own: the Engine's writes coming back.
func (u ClusterUpdate) Only(wrote func(rev int64) bool) bool {
	for _, ev := range u.events {
		if !wrote(ev.Kv.ModRevision) {
			return false
		}
	}
	return true
}

// LoadCluster reads all of <p>cluster/ at one revision.
func (r *Registry) LoadCluster(ctx context.Context, log *slog.Logger) (*Cluster, error) {
	resp, err := r.cli.Get(ctx, r.k.cluster(), clientv3.WithPrefix())
	if err != nil {
		return nil, r.wrap("load cluster", err)
	}
	c := &Cluster{
		Revision:   resp.Header.Revision,
		Units:      map[string]Unit{},
		Machines:   map[string]Machine{},
		Placements: map[string]map[string]Placement{},
		Unplaced:   map[string]reason.Unplaced{},
		Notes:      map[string][]reason.Note{},
		Drains:     map[string]Drain{},
		Moves:      map[string]Move{},
		Labels:     map[string]Labels{},
		k:          r.k,
		log:        log,
	}
	for _, kv := range resp.Kvs {
		c.put(kv)
	}
	return c, nil
}

// WatchCluster streams the changes to <p>cluster/ from revision from on.
// The channel closes when ctx ends or after an update carrying Err.
func (r *Registry) WatchCluster(ctx context.Context, from int64) <-chan ClusterUpdate {
	out := make(chan ClusterUpdate)
	wch := r.cli.Watch(clientv3.WithRequireLeader(ctx), r.k.cluster(), clientv3.WithPrefix(), clientv3.WithRev(from))
	go func() {
		defer close(out)
		for resp := range wch {
			u := ClusterUpdate{Revision: resp.Header.Revision, events: resp.Events}
			if resp.CompactRevision != 0 {
				u.Err = fmt.Errorf("watch cluster from %d: %w (compacted at %d)", from, ErrCompacted, resp.CompactRevision)
			} else if err := resp.Err(); err != nil {
				u.Err = r.wrap("watch cluster", err)
			}
			select {
			case out <- u:
			case <-ctx.Done():
				return
			}
			if u.Err != nil {
				return
			}
		}
	}()
	return out
}

// Touched names the units whose record, placements, reason or notes u
// changes, says whether a machine went (its record deleted), and whether
// it changes anything else (a machine registered or changed, labels,
// drains, moves): what an incremental pass of the Engine decides afresh,
// and whether it may be one.
func (c *Cluster) Touched(u ClusterUpdate) (units []string, machineGone, others bool) {
	for _, ev := range u.events {
		switch kind, a, b := c.k.parse(string(ev.Kv.Key)); {
		case kind == kindUnit || kind == kindUnplaced || kind == kindNotes:
			units = append(units, a)
		case kind == kindPlacement:
			units = append(units, b)
		case kind == kindMachine && ev.Type == mvccpb.DELETE:
			machineGone = true
		default:
			others = true
		}
	}
	return units, machineGone, others
}

// Apply folds an update into the cache.
func (c *Cluster) Apply(u ClusterUpdate) {
	for _, ev := range u.events {
		if ev.Type == mvccpb.DELETE {
			c.del(ev.Kv)
		} else {
			c.put(ev.Kv)
		}
	}
	if u.Revision > c.Revision {
		c.Revision = u.Revision
	}
}

func (c *Cluster) put(kv *mvccpb.KeyValue) {
	kind, a, b := c.k.parse(string(kv.Key))
	var err error
	switch kind {
	case kindUnit:
		var u Unit
		if u, err = decodeUnit(a, kv.Value, kv.ModRevision); err == nil {
			c.Units[a] = u
		}
	case kindMachine:
		var m Machine
		if m, err = decodeMachine(a, kv.Value, kv.CreateRevision); err == nil {
			c.Machines[a] = withLabels(m, c.Labels[a])
		}
	case kindLabels:
		var l Labels
		if l, err = decodeLabels(a, kv.Value, kv.ModRevision); err == nil {
			c.setLabels(a, l)
		}
	case kindPlacement:
		var p Placement
		if p, err = decodePlacement(a, b, kv.Value); err == nil {
			byMachine := c.Placements[b]
			if byMachine == nil {
				byMachine = map[string]Placement{}
				c.Placements[b] = byMachine
			}
			byMachine[a] = p
		}
	case kindUnplaced:
		c.Unplaced[a] = reason.Decode(kv.Value)
	case kindNotes:
		c.Notes[a] = reason.DecodeNotes(kv.Value)
	case kindDrain:
		var d Drain
		if d, err = decodeDrain(a, kv.Value); err == nil {
			c.Drains[a] = d
		}
	case kindMove:
		var m Move
		if m, err = decodeMove(a, kv.Value); err == nil {
			c.Moves[a] = m
		}
	}
	if err != nil && c.log != nil {
		// A corrupt record must not stop the Engine: it is skipped and said.
		c.log.Warn("skipping corrupt record", "key", string(kv.Key), "err", err)
	}
}

func (c *Cluster) del(kv *mvccpb.KeyValue) {
	kind, a, b := c.k.parse(string(kv.Key))
	switch kind {
	case kindUnit:
		delete(c.Units, a)
	case kindMachine:
		delete(c.Machines, a) // its labels stay, for when it registers again
	case kindLabels:
		c.setLabels(a, Labels{})
	case kindPlacement:
		if byMachine := c.Placements[b]; byMachine != nil {
			delete(byMachine, a)
			if len(byMachine) == 0 {
				delete(c.Placements, b)
			}
		}
	case kindUnplaced:
		delete(c.Unplaced, a)
	case kindNotes:
		delete(c.Notes, a)
	case kindDrain:
		delete(c.Drains, a)
	case kindMove:
		delete(c.Moves, a)
	}
}

// setLabels records a machine's labels (the zero Labels: none) and, if the
// machine is registered, recomputes its Metadata.
func (c *Cluster) setLabels(id string, l Labels) {
	if l.IsZero() {
		delete(c.Labels, id)
	} else {
		c.Labels[id] = l
	}
	if m, ok := c.Machines[id]; ok {
		c.Machines[id] = withLabels(m, l)
	}
}
