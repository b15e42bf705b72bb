package registry_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

func TestEffectiveMetadata(t *testing.T) {
	flags := map[string]string{"zone": "dmz", "rack": "r1"}
	tests := []struct {
		name   string
		flags  map[string]string
		labels registry.Labels
		want   map[string]string
	}{
		{name: "no labels: the flags", flags: flags, want: flags},
		{name: "a label adds a key", flags: flags, labels: registry.Labels{Set: map[string]string{"disk": "ssd"}},
			want: map[string]string{"zone": "dmz", "rack": "r1", "disk": "ssd"}},
		{name: "a label wins over the flag", flags: flags, labels: registry.Labels{Set: map[string]string{"rack": "r4"}},
			want: map[string]string{"zone": "dmz", "rack": "r4"}},
		{name: "a removal removes a flag's key", flags: flags, labels: registry.Labels{Removed: []string{"zone"}},
			want: map[string]string{"rack": "r1"}},
		{name: "a removal of a key no flag gives", flags: flags, labels: registry.Labels{Removed: []string{"pod"}}, want: flags},
		{name: "set and removed together", flags: flags, labels: registry.Labels{Set: map[string]string{"rack": "r4"}, Removed: []string{"zone"}},
			want: map[string]string{"rack": "r4"}},
		{name: "labels on a machine without flags", labels: registry.Labels{Set: map[string]string{"rack": "r4"}},
			want: map[string]string{"rack": "r4"}},
		{name: "everything removed", flags: flags, labels: registry.Labels{Removed: []string{"rack", "zone"}}, want: nil},
		{name: "an empty value", flags: flags, labels: registry.Labels{Set: map[string]string{"zone": ""}},
			want: map[string]string{"zone": "", "rack": "r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.flags)
			got := registry.EffectiveMetadata(tt.flags, tt.labels)
			if !maps.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !maps.Equal(tt.flags, before) {
				t.Errorf("the flags' map changed: %v, was %v", tt.flags, before)
			}
		})
	}
}

func TestCheckMetadata(t *testing.T) {
	tests := []struct {
		name, key, value string
		ok               bool
	}{
		{name: "pair", key: "rack", value: "r1", ok: true},
		{name: "empty value", key: "rack", value: "", ok: true},
		{name: "value with '='", key: "opts", value: "a=b", ok: true},
		{name: "empty key", key: "", value: "x"},
		{name: "'=' in key", key: "a=b", value: "x"},
		{name: "',' in key", key: "a,b", value: "x"},
		{name: "',' in value", key: "a", value: "x,y"},
		{name: "blank around key", key: " a", value: "x"},
		{name: "blank around value", key: "a", value: "x "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := registry.CheckMetadata(tt.key, tt.value)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckMetadata(%q, %q) = %v, want ok %v", tt.key, tt.value, err, tt.ok)
			}
			if err != nil && !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("err %v is not ErrInvalid", err)
			}
		})
	}
}

func TestSetLabels(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	steps := []struct {
		name  string
		ch    registry.LabelChange
		want  registry.Labels // Set and Removed
		empty bool            // no record left
	}{
		{name: "set and remove", ch: registry.LabelChange{Set: map[string]string{"rack": "r4"}, Remove: []string{"zone"}},
			want: registry.Labels{Set: map[string]string{"rack": "r4"}, Removed: []string{"zone"}}},
		{name: "more keys add up", ch: registry.LabelChange{Set: map[string]string{"disk": "ssd"}, Remove: []string{"pod"}},
			want: registry.Labels{Set: map[string]string{"rack": "r4", "disk": "ssd"}, Removed: []string{"pod", "zone"}}},
		{name: "a removed key set again is no longer removed", ch: registry.LabelChange{Set: map[string]string{"zone": "lan"}},
			want: registry.Labels{Set: map[string]string{"rack": "r4", "disk": "ssd", "zone": "lan"}, Removed: []string{"pod"}}},
		{name: "a set key removed is no longer set", ch: registry.LabelChange{Remove: []string{"disk"}},
			want: registry.Labels{Set: map[string]string{"rack": "r4", "zone": "lan"}, Removed: []string{"disk", "pod"}}},
		{name: "reset then set", ch: registry.LabelChange{Reset: true, Set: map[string]string{"rack": "r9"}},
			want: registry.Labels{Set: map[string]string{"rack": "r9"}}},
		{name: "reset alone deletes the record", ch: registry.LabelChange{Reset: true}, empty: true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := r.SetLabels(ctx, "m1", s.ch)
			if err != nil {
				t.Fatal(err)
			}
			read, err := r.Labels(ctx, "m1")
			if err != nil {
				t.Fatal(err)
			}
			for what, l := range map[string]registry.Labels{"returned": got, "read back": read} {
				if !maps.Equal(l.Set, s.want.Set) || fmt.Sprint(l.Removed) != fmt.Sprint(s.want.Removed) {
					t.Errorf("%s: set %v removed %v, want %v %v", what, l.Set, l.Removed, s.want.Set, s.want.Removed)
				}
				if s.empty != (l.Revision == 0) {
					t.Errorf("%s: revision %d, want a record: %v", what, l.Revision, !s.empty)
				}
			}
			if got.Revision != read.Revision {
				t.Errorf("returned revision %d, read back %d", got.Revision, read.Revision)
			}
		})
	}
	t.Run("no change writes nothing", func(t *testing.T) {
		first, err := r.SetLabels(ctx, "m1", registry.LabelChange{Set: map[string]string{"a": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		again, err := r.SetLabels(ctx, "m1", registry.LabelChange{Set: map[string]string{"a": "1"}})
		if err != nil || again.Revision != first.Revision {
			t.Fatalf("revision %d then %d, err %v", first.Revision, again.Revision, err)
		}
	})
	bad := []struct {
		name    string
		machine string
		ch      registry.LabelChange
	}{
		{name: "empty key", machine: "m1", ch: registry.LabelChange{Set: map[string]string{"": "x"}}},
		{name: "comma in value", machine: "m1", ch: registry.LabelChange{Set: map[string]string{"a": "x,y"}}},
		{name: "bad removal", machine: "m1", ch: registry.LabelChange{Remove: []string{"a=b"}}},
		{name: "set and removed", machine: "m1", ch: registry.LabelChange{Set: map[string]string{"a": "x"}, Remove: []string{"a"}}},
		{name: "bad machine ID", machine: "m/1", ch: registry.LabelChange{Set: map[string]string{"a": "x"}}},
	}
	for _, b := range bad {
		t.Run("refused: "+b.name, func(t *testing.T) {
			if _, err := r.SetLabels(ctx, b.machine, b.ch); !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
		})
	}
}

// TestLabelsInCache drives a machine's presence and its labels in every
// order and checks, after each step, that the Engine's cache (kept by the
// watch), a freshly loaded cache, ReadStatus and Machines all show the
// effective metadata: the flags' with the labels applied.
func TestLabelsInCache(t *testing.T) {
	ctx := ctxT(t)
	eps := registrytest.Etcd(t)
	r := registrytest.Registry(t, eps)
	flagsA := map[string]string{"zone": "dmz", "rack": "r1"}
	flagsB := map[string]string{"zone": "lan", "rack": "r7", "pod": "b"}
	label := registry.LabelChange{Set: map[string]string{"rack": "r2"}, Remove: []string{"zone"}}
	const (
		register   = "register"   // the machine registers with flagsA
		reregister = "reregister" // it registers again with flagsB (a flotad restart with other flags)
		leave      = "leave"      // its lease ends
		relabel    = "label"      // rack=r2 -zone
		unlabel    = "unlabel"    // label --reset
	)
	orders := [][]string{
		{register, relabel},
		{relabel, register},
		{register, relabel, unlabel},
		{relabel, register, unlabel},
		{register, relabel, leave, register},
		{relabel, register, leave, unlabel, register},
		{register, relabel, reregister},
		{relabel, reregister, unlabel, leave},
		{register, unlabel, relabel, leave, relabel, register},
	}
	for i, order := range orders {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			id := fmt.Sprintf("m%d", i)
			cache, err := r.LoadCluster(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			wctx, stopWatch := context.WithCancel(ctx)
			defer stopWatch()
			updates := r.WatchCluster(wctx, cache.Revision+1)
			var flags map[string]string // nil: not registered
			var labelled bool
			var leaveNow context.CancelFunc
			for _, step := range order {
				switch step {
				case register, reregister:
					flags = flagsA
					if step == reregister {
						flags = flagsB
					}
					pctx, cancel := context.WithCancel(ctx)
					t.Cleanup(cancel)
					if _, err := r.Register(pctx, registry.Machine{ID: id, Metadata: flags}, time.Second); err != nil {
						t.Fatal(err)
					}
					leaveNow = cancel
				case leave:
					leaveNow()
					flags = nil
				case relabel, unlabel:
					ch := label
					if step == unlabel {
						ch = registry.LabelChange{Reset: true}
					}
					if _, err := r.SetLabels(ctx, id, ch); err != nil {
						t.Fatal(err)
					}
					labelled = step == relabel
				}
				var want map[string]string // the model's effective metadata
				if flags != nil {
					want = maps.Clone(flags)
					if labelled {
						delete(want, "zone")
						want["rack"] = "r2"
					}
				}
				follow(t, cache, updates, func(c *registry.Cluster) bool {
					_, present := c.Machines[id]
					_, hasLabels := c.Labels[id]
					return present == (flags != nil) && hasLabels == labelled && maps.Equal(c.Machines[id].Metadata, want)
				})
				fresh, err := r.LoadCluster(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				st, err := r.ReadStatus(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ms, err := r.Machines(ctx)
				if err != nil {
					t.Fatal(err)
				}
				views := map[string]map[string]registry.Machine{"watched cache": cache.Machines, "loaded cache": fresh.Machines,
					"ReadStatus": byID(st.Machines), "Machines": byID(ms)}
				for what, got := range views {
					m, present := got[id]
					if present != (flags != nil) || !maps.Equal(m.Metadata, want) {
						t.Errorf("after %s, %s: present %v metadata %v, want present %v metadata %v", step, what, present, m.Metadata, flags != nil, want)
					}
					if present && !maps.Equal(m.Registered, flags) {
						t.Errorf("after %s, %s: registered %v, want the flags %v", step, what, m.Registered, flags)
					}
					if present && m.Labels.IsZero() == labelled {
						t.Errorf("after %s, %s: labels %+v, labelled %v", step, what, m.Labels, labelled)
					}
				}
				for what, ls := range map[string]map[string]registry.Labels{"watched cache": cache.Labels, "loaded cache": fresh.Labels, "ReadStatus": st.Labels} {
					if _, ok := ls[id]; ok != labelled {
						t.Errorf("after %s, %s: labels of %s kept %v, want %v", step, what, id, ok, labelled)
					}
				}
			}
		})
	}
}

// follow applies the watch's updates to c until cond holds.
func follow(t *testing.T, c *registry.Cluster, updates <-chan registry.ClusterUpdate, cond func(*registry.Cluster) bool) {
	t.Helper()
	limit := time.After(15 * time.Second) // a lease of 1 s ends within about 2 s
	for !cond(c) {
		select {
		case u, ok := <-updates:
			if !ok || u.Err != nil {
				t.Fatalf("watch ended: %v", u.Err)
			}
			c.Apply(u)
		case <-limit:
			t.Fatalf("the cache never got there: machines %+v labels %+v", c.Machines, c.Labels)
		}
	}
}

func byID(ms []registry.Machine) map[string]registry.Machine {
	out := map[string]registry.Machine{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}
