package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Labels are the metadata an operator set on a Machine (flotactl label), over
// what the Machine's own flags say (flotad --metadata): values Set, and keys
// Removed. They live in their own record, not under the Machine's lease, so
// they survive flotad restarts and lease losses, and a record for a Machine
// that is not registered waits for it. Where labels and flags meet, the
// labels win: a removed key is gone even when the flags give it.
type Labels struct {
	Set     map[string]string
	Removed []string // sorted
	// Revision is the ModRevision of the record, 0 when there is none: the
	// Compare that makes SetLabels a safe read-modify-write.
	Revision int64
}

// IsZero reports whether the labels change nothing.
func (l Labels) IsZero() bool { return len(l.Set) == 0 && len(l.Removed) == 0 }

// LabelChange is what one flotactl label asks: keys to set, keys to remove,
// and whether to drop every earlier label first (Reset), which returns the
// machine to what its flags say.
type LabelChange struct {
	Set    map[string]string
	Remove []string
	Reset  bool
}

// EffectiveMetadata is a Machine's metadata: what its flags registered, with
// its labels applied (removals, then values set). It is the one place the
// two meet; every Machine this package returns carries it as Metadata.
func EffectiveMetadata(registered map[string]string, l Labels) map[string]string {
	if l.IsZero() {
		return registered
	}
	out := maps.Clone(registered)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range l.Removed {
		delete(out, k)
	}
	maps.Copy(out, l.Set)
	if len(out) == 0 {
		return nil // as a machine registered with no metadata reads
	}
	return out
}

// CheckMetadata is the rule for one metadata pair, whether a machine's
// flags give it (flotad --metadata) or an operator's label does: a key that
// is not empty, and nothing the flag's "k=v,k2=v2" form cannot carry (a ','
// anywhere, a '=' in the key, blanks at either end). An empty value is
// allowed, as the flag has always allowed it (MachineMetadata="k=*"
// matches it). One predicate for both, so a label can say exactly what a
// flag can.
func CheckMetadata(key, value string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w metadata: empty key", ErrInvalid)
	case strings.Contains(key, "="):
		return fmt.Errorf("%w metadata key %q: it holds '=', which ends a key", ErrInvalid, key)
	case strings.Contains(key, ","), strings.Contains(value, ","):
		return fmt.Errorf("%w metadata %s=%s: it holds ',', which separates pairs", ErrInvalid, key, value)
	case strings.TrimSpace(key) != key:
		return fmt.Errorf("%w metadata key %q: blanks at an end", ErrInvalid, key)
	case strings.TrimSpace(value) != value:
		return fmt.Errorf("%w metadata value %q of %s: blanks at an end", ErrInvalid, value, key)
	}
	return nil
}

// with is l after ch: a key set is no longer removed and a key removed no
// longer set, so a record never says both of one key.
func (l Labels) with(ch LabelChange) Labels {
	out := Labels{Set: map[string]string{}}
	removed := map[string]bool{}
	if !ch.Reset {
		maps.Copy(out.Set, l.Set)
		for _, k := range l.Removed {
			removed[k] = true
		}
	}
	for _, k := range ch.Remove {
		delete(out.Set, k)
		removed[k] = true
	}
	for k, v := range ch.Set {
		out.Set[k] = v
		delete(removed, k)
	}
	out.Removed = slices.Sorted(maps.Keys(removed))
	if len(out.Set) == 0 {
		out.Set = nil
	}
	return out
}

func (l Labels) equal(o Labels) bool {
	return maps.Equal(l.Set, o.Set) && slices.Equal(l.Removed, o.Removed)
}

func checkLabelChange(machine string, ch LabelChange) error {
	if machine == "" || strings.ContainsAny(machine, "/ \t\n") {
		return fmt.Errorf("%w: machine ID %q", ErrInvalid, machine)
	}
	for k, v := range ch.Set {
		if err := CheckMetadata(k, v); err != nil {
			return err
		}
	}
	for _, k := range ch.Remove {
		if err := CheckMetadata(k, ""); err != nil {
			return err
		}
		if _, ok := ch.Set[k]; ok {
			return fmt.Errorf("%w label change: key %s both set and removed", ErrInvalid, k)
		}
	}
	return nil
}

// Labels reads a machine's labels; the zero Labels when it has none.
func (r *Registry) Labels(ctx context.Context, machine string) (Labels, error) {
	resp, err := r.cli.Get(ctx, r.k.labelsOf(machine))
	if err != nil {
		return Labels{}, r.wrap("read labels of "+machine, err)
	}
	if len(resp.Kvs) == 0 {
		return Labels{}, nil
	}
	return decodeLabels(machine, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// SetLabels applies ch to a machine's labels in one transaction that
// compares the record's revision, and returns the labels now stored. A
// concurrent change is retried once from a fresh read, then is ErrStale.
// Labels that end up empty delete the record. Whether the machine is
// registered is not checked: labels of a machine that is away wait for it
// (flotactl refuses a machine it does not know).
func (r *Registry) SetLabels(ctx context.Context, machine string, ch LabelChange) (Labels, error) {
	if err := checkLabelChange(machine, ch); err != nil {
		return Labels{}, err
	}
	key := r.k.labelsOf(machine)
	for attempt := 0; ; attempt++ {
		old, err := r.Labels(ctx, machine)
		if err != nil {
			return Labels{}, err
		}
		next := old.with(ch)
		if next.equal(old) {
			return old, nil
		}
		op := clientv3.OpDelete(key)
		if !next.IsZero() {
			op = clientv3.OpPut(key, mustJSON(labelsValue{Set: next.Set, Removed: next.Removed}))
		}
		resp, err := r.txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", old.Revision)).Then(op).Commit()
		if err != nil {
			return Labels{}, r.wrap("set labels of "+machine, err)
		}
		if resp.Succeeded {
			if !next.IsZero() {
				next.Revision = resp.Header.Revision
			}
			return next, nil
		}
		if attempt >= 1 {
			return Labels{}, fmt.Errorf("set labels of %s: %w", machine, ErrStale)
		}
	}
}

// labelsValue is the stored record of <p>cluster/labels/<machine>.
type labelsValue struct {
	Set     map[string]string `json:"set,omitempty"`
	Removed []string          `json:"removed,omitempty"`
}

func decodeLabels(machine string, data []byte, rev int64) (Labels, error) {
	var v labelsValue
	if err := json.Unmarshal(data, &v); err != nil {
		return Labels{}, fmt.Errorf("labels of %s: corrupt record: %w", machine, err)
	}
	slices.Sort(v.Removed)
	return Labels{Set: v.Set, Removed: v.Removed, Revision: rev}, nil
}

// withLabels gives m its labels and the metadata they make.
func withLabels(m Machine, l Labels) Machine {
	m.Labels = l
	m.Metadata = EffectiveMetadata(m.Registered, l)
	return m
}
