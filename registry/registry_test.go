package registry_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

func parse(t *testing.T, name, text string) *unit.File {
	t.Helper()
	f, err := unit.Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// leading creates a.service launched, campaigns as engine e1 and loads the
// cluster: what a test of the Engine's writes starts from.
func leading(ctx context.Context, t *testing.T, r *registry.Registry) (*unit.File, *registry.Leadership, *registry.Cluster) {
	t.Helper()
	a := parse(t, "a.service", "[Service]\nExecStart=/bin/true\n")
	if err := r.CreateUnits(ctx, []*unit.File{a}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	l, err := r.Campaign(ctx, "e1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, l, c
}

func TestUnitsLifecycle(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	a := parse(t, "a.service", "[Service]\nExecStart=/bin/true\n")
	b := parse(t, "b.service", "[Service]\nExecStart=/bin/false\n")

	t.Run("create stores file and record together", func(t *testing.T) {
		if err := r.CreateUnits(ctx, []*unit.File{a, b}, registry.StateInactive); err != nil {
			t.Fatal(err)
		}
		u, err := r.Unit(ctx, "a.service")
		if err != nil || u.Hash != a.Hash || u.Desired != registry.StateInactive {
			t.Fatalf("unit %+v, err %v", u, err)
		}
		data, err := r.File(ctx, u.Hash)
		if err != nil || string(data) != string(a.Bytes()) {
			t.Fatalf("file %q, err %v", data, err)
		}
	})
	t.Run("instances sharing one file are created in one transaction", func(t *testing.T) {
		tpl := parse(t, "web@.service", "[Service]\nExecStart=/bin/web %i\n")
		var fs []*unit.File
		for _, n := range []string{"web@1.service", "web@2.service"} {
			f, err := tpl.ForName(n)
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
		if err := r.CreateUnits(ctx, fs, registry.StateInactive); err != nil {
			t.Fatal(err)
		}
		if err := r.DestroyUnits(ctx, []string{"web@1.service", "web@2.service"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("create of an existing unit writes nothing of its batch", func(t *testing.T) {
		c := parse(t, "c.service", "[Service]\nExecStart=/bin/echo\n")
		err := r.CreateUnits(ctx, []*unit.File{c, a}, registry.StateLaunched)
		if !errors.Is(err, registry.ErrExists) {
			t.Fatalf("err %v, want ErrExists", err)
		}
		if _, err := r.Unit(ctx, "c.service"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("c.service was half-written: %v", err)
		}
	})
	t.Run("desired state: all named units or none", func(t *testing.T) {
		err := r.SetDesiredState(ctx, []string{"a.service", "nope.service"}, registry.StateLaunched)
		if !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("err %v, want ErrNotFound", err)
		}
		if u, _ := r.Unit(ctx, "a.service"); u.Desired != registry.StateInactive {
			t.Fatalf("a.service changed to %s", u.Desired)
		}
		if err := r.SetDesiredState(ctx, []string{"a.service", "b.service"}, registry.StateLaunched); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an invalid desired state is refused", func(t *testing.T) {
		err := r.SetDesiredState(ctx, []string{"a.service"}, registry.State("running"))
		if !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("err %v, want ErrInvalid", err)
		}
	})
	t.Run("replace keeps the desired state", func(t *testing.T) {
		a2 := parse(t, "a.service", "[Service]\nExecStart=/bin/sleep 1\n")
		if err := r.ReplaceUnit(ctx, a2); err != nil {
			t.Fatal(err)
		}
		u, _ := r.Unit(ctx, "a.service")
		if u.Hash != a2.Hash || u.Desired != registry.StateLaunched {
			t.Fatalf("after replace %+v", u)
		}
	})
	t.Run("destroy removes all named units or none", func(t *testing.T) {
		if err := r.DestroyUnits(ctx, []string{"a.service", "ghost.service"}); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("err %v", err)
		}
		if _, err := r.Unit(ctx, "a.service"); err != nil {
			t.Fatalf("a.service destroyed by a failed destroy: %v", err)
		}
		if err := r.DestroyUnits(ctx, []string{"a.service", "b.service"}); err != nil {
			t.Fatal(err)
		}
		if us, _ := r.Units(ctx); len(us) != 0 {
			t.Fatalf("units left: %v", us)
		}
	})
}

func TestDeadEtcdIsUnavailable(t *testing.T) {
	r, err := registry.Connect(registry.Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = r.Units(ctx)
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
}

func TestPresenceAndWatch(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	pctx, stop := context.WithCancel(ctx)
	p, err := r.Register(pctx, registry.Machine{ID: "m1", IP: "127.0.0.2", Metadata: map[string]string{"zone": "dmz"}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := r.Machines(ctx)
	if err != nil || len(ms) != 1 || ms[0].IP != "127.0.0.2" || ms[0].Metadata["zone"] != "dmz" {
		t.Fatalf("machines %+v err %v", ms, err)
	}
	if err := p.PublishState(ctx, registry.UnitState{Unit: "a.service", Machine: "m1", Active: "active", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}
	stop() // the agent dies: no keep-alive, the lease expires with its rows
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ms, _ := r.Machines(ctx)
		st, _ := r.States(ctx)
		if len(ms) == 0 && len(st) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("machine and its states outlived the lease")
}

// TestPublishStatesBatches: a machine's rows are written and deleted in
// one call, past one transaction's limit, under its lease, and a delete
// takes only that machine's rows. (That the rows go with the lease is
// TestPresenceAndWatch's.)
func TestPublishStatesBatches(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	p1, err := r.Register(ctx, registry.Machine{ID: "m1"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := r.Register(ctx, registry.Machine{ID: "m2"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := 2*r.TxnOps() + 7
	var put []registry.UnitState
	for i := range n {
		put = append(put, registry.UnitState{Unit: fmt.Sprintf("u%d.service", i), Machine: "m1", Active: "active", State: registry.StateLaunched})
	}
	if err := p1.PublishStates(ctx, "m1", put, nil); err != nil {
		t.Fatal(err)
	}
	if err := p2.PublishState(ctx, registry.UnitState{Unit: "u0.service", Machine: "m2", Active: "failed", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}
	if st, err := r.States(ctx); err != nil || len(st) != n+1 {
		t.Fatalf("%d states, want %d (err %v)", len(st), n+1, err)
	}
	// Rewrite one, delete the rest: m2's row of u0 stays.
	var del []string
	for _, s := range put[1:] {
		del = append(del, s.Unit)
	}
	put[0].Active = "inactive"
	if err := p1.PublishStates(ctx, "m1", put[:1], del); err != nil {
		t.Fatal(err)
	}
	st, err := r.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []registry.UnitState{
		{Unit: "u0.service", Machine: "m1", Active: "inactive", State: registry.StateLaunched},
		{Unit: "u0.service", Machine: "m2", Active: "failed", State: registry.StateLaunched},
	}
	if !slices.Equal(st, want) {
		t.Fatalf("states %+v, want %+v", st, want)
	}
}

// TestPresenceRefuse: the units an Agent refuses live in its machine's
// record, under its lease, with the rest of the record unchanged.
func TestPresenceRefuse(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	p, err := r.Register(ctx, registry.Machine{ID: "m1", IP: "127.0.0.2", Metadata: map[string]string{"zone": "a"}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{"cron.service": "/lib/systemd/system/cron.service"}
	if err := p.Refuse(ctx, refused); err != nil {
		t.Fatal(err)
	}
	ms, err := r.Machines(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("machines %+v, err %v", ms, err)
	}
	if m := ms[0]; !maps.Equal(m.Refused, refused) || m.IP != "127.0.0.2" || m.Metadata["zone"] != "a" {
		t.Fatalf("machine %+v, want its record with Refused %v", m, refused)
	}
	if err := p.Refuse(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if ms, err := r.Machines(ctx); err != nil || len(ms) != 1 || ms[0].Refused != nil {
		t.Fatalf("machines %+v (err %v), want no refusals", ms, err)
	}
}

func TestWatchPlacementsResumes(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	if _, err := r.Register(ctx, registry.Machine{ID: "m1"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	_, rev, err := r.MachinePlacements(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	a, l, c := leading(ctx, t, r)
	p := registry.Placement{Unit: "a.service", Machine: "m1", Hash: a.Hash, Desired: registry.StateLaunched}
	if _, err := r.Apply(ctx, l, c, []registry.Change{{Unit: "a.service", Put: []registry.Placement{p}}}); err != nil {
		t.Fatal(err)
	}
	// The write happened before the watch started: resuming from rev sees it.
	select {
	case ev := <-r.WatchPlacements(ctx, "m1", rev):
		if ev.Err != nil || ev.Removed || ev.Placement != p {
			t.Fatalf("event %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
}

// TestFence proves a deposed leader cannot write: once its session is gone
// and another engine leads, its Apply fails and writes nothing.
func TestFence(t *testing.T) {
	ctx := ctxT(t)
	eps := registrytest.Etcd(t)
	r1 := registrytest.Registry(t, eps)
	r2 := registrytest.Registry(t, eps)
	a := parse(t, "a.service", "[Service]\nExecStart=/bin/true\n")
	if err := r1.CreateUnits(ctx, []*unit.File{a}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.Register(ctx, registry.Machine{ID: "m1"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	l1, err := r1.Campaign(ctx, "e1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r1.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	registry.ExpireForTest(ctx, t, l1) // as if e1 was partitioned past its TTL
	l2, err := r2.Campaign(ctx, "e2", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := registry.Placement{Unit: "a.service", Machine: "m1", Hash: a.Hash, Desired: registry.StateLaunched}
	_, err = r1.Apply(ctx, l1, c, []registry.Change{{Unit: "a.service", Put: []registry.Placement{p}}})
	if !errors.Is(err, registry.ErrNotLeader) {
		t.Fatalf("deposed leader's write: err %v, want ErrNotLeader", err)
	}
	st, _ := r1.ReadStatus(ctx)
	if len(st.Placements) != 0 {
		t.Fatalf("deposed leader wrote %v", st.Placements)
	}
	if _, err := r2.Apply(ctx, l2, c, []registry.Change{{Unit: "a.service", Put: []registry.Placement{p}}}); err != nil {
		t.Fatalf("leader's write: %v", err)
	}
	if who, _ := r2.Leader(ctx); who != "e2" {
		t.Fatalf("leader %q", who)
	}
}

// TestPresenceRestoresItsRecord: Check writes a machine's record back,
// under its lease, after someone else deleted it or rewrote it without
// a lease, and leaves alone the record as written and one another lease
// holds.
func TestPresenceRestoresItsRecord(t *testing.T) {
	ctx := ctxT(t)
	endpoints := registrytest.Etcd(t)
	r := registrytest.Registry(t, endpoints)
	m := registry.Machine{ID: "m1", IP: "127.0.0.2", Metadata: map[string]string{"zone": "a"}}
	p, err := r.Register(ctx, m, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	key := r.Prefix() + "cluster/machines/m1"
	got, err := cli.Get(ctx, key)
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("the record: %v, %v", got, err)
	}
	want := got.Kvs[0]
	other, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		op       clientv3.Op
		restored bool
	}{
		{"as written", clientv3.OpGet(key), false},
		{"deleted", clientv3.OpDelete(key), true},
		{"rewritten without a lease", clientv3.OpPut(key, `{"ip":"10.6.6.6","metadata":{"zone":"evil"}}`), true},
		{"rewritten under its lease", clientv3.OpPut(key, `{"ip":"10.6.6.6"}`, clientv3.WithLease(clientv3.LeaseID(want.Lease))), true},
		{"held by another lease", clientv3.OpPut(key, `{"ip":"127.0.0.9"}`, clientv3.WithLease(other.ID)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cli.Do(ctx, tc.op); err != nil {
				t.Fatal(err)
			}
			restored, err := p.Check(ctx)
			if err != nil || restored != tc.restored {
				t.Fatalf("Check = %v, %v; want %v", restored, err, tc.restored)
			}
			if !tc.restored {
				return
			}
			got, err := cli.Get(ctx, key)
			if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != string(want.Value) || got.Kvs[0].Lease != want.Lease {
				t.Fatalf("after Check the record is %v (err %v), want %q under lease %x", got.Kvs, err, want.Value, want.Lease)
			}
		})
	}
}
