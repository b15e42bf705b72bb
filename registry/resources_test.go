package registry_test

import (
	"log/slog"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// TestUnitResources checks that a unit's reservations are copied from its
// file into its record at submit, survive a change of desired state, follow
// a replaced file, and that a record written before they were copied reads
// as reserving nothing.
func TestUnitResources(t *testing.T) {
	ctx := ctxT(t)
	eps := registrytest.Etcd(t)
	r := registrytest.Registry(t, eps)
	big := parse(t, "big.service", "[Service]\nExecStart=/bin/true\nMemoryMax=512M\nCPUQuota=150%\n"+
		"[X-Container]\nImage=app:1\nDiskQuota=2G\n")
	want := unit.Resources{MemoryBytes: 512 << 20, MilliCPUs: 1500, DiskBytes: 2 << 30}
	check := func(t *testing.T, name string, want unit.Resources) {
		t.Helper()
		u, err := r.Unit(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if u.Resources != want {
			t.Fatalf("%s reserves %+v, want %+v", name, u.Resources, want)
		}
		st, err := r.LoadCluster(ctx, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Units[name].Resources; got != want {
			t.Fatalf("cluster view: %s reserves %+v, want %+v", name, got, want)
		}
	}

	t.Run("submit copies them", func(t *testing.T) {
		if err := r.CreateUnits(ctx, []*unit.File{big}, registry.StateInactive); err != nil {
			t.Fatal(err)
		}
		check(t, "big.service", want)
	})
	t.Run("a change of desired state keeps them", func(t *testing.T) {
		if err := r.SetDesiredState(ctx, []string{"big.service"}, registry.StateLaunched); err != nil {
			t.Fatal(err)
		}
		check(t, "big.service", want)
	})
	t.Run("replace takes the new file's", func(t *testing.T) {
		if err := r.ReplaceUnit(ctx, parse(t, "big.service", "[Service]\nExecStart=/bin/true\nMemoryMax=1G\n")); err != nil {
			t.Fatal(err)
		}
		check(t, "big.service", unit.Resources{MemoryBytes: 1 << 30})
	})
	t.Run("a unit without reservations stores none", func(t *testing.T) {
		if err := r.CreateUnits(ctx, []*unit.File{parse(t, "small.service", "[Service]\nExecStart=/bin/true\n")}, registry.StateInactive); err != nil {
			t.Fatal(err)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		resp, err := cli.Get(ctx, r.Prefix()+"cluster/units/small.service")
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("get: %v", err)
		}
		if got := string(resp.Kvs[0].Value); got != `{"hash":"`+parse(t, "small.service", "[Service]\nExecStart=/bin/true\n").Hash.String()+`","desired":"inactive"}` {
			t.Fatalf("record %s", got)
		}
	})
	t.Run("an older record reserves nothing", func(t *testing.T) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		old := `{"hash":"` + big.Hash.String() + `","desired":"launched","fleet":[["Global","false"]]}`
		if _, err := cli.Put(ctx, r.Prefix()+"cluster/units/old.service", old); err != nil {
			t.Fatal(err)
		}
		check(t, "old.service", unit.Resources{})
	})
}
