package ctl

import (
	"context"
	"log/slog"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// clusterStore is what flotactl asks of the cluster: the registry over
// etcd (--driver=etcd, the default), or flotad's API (--driver=API).
type clusterStore interface {
	ReadStatus(ctx context.Context) (*registry.Status, error)
	WatchStatus(ctx context.Context, after int64) <-chan registry.StatusChange
	LoadCluster(ctx context.Context, log *slog.Logger) (*registry.Cluster, error)
	Unit(ctx context.Context, name string) (registry.Unit, error)
	Machines(ctx context.Context) ([]registry.Machine, error)
	File(ctx context.Context, h unit.Hash) ([]byte, error)
	TxnOps() int

	CreateUnits(ctx context.Context, files []*unit.File, desired registry.State) error
	ReplaceUnit(ctx context.Context, f *unit.File) error
	SetDesiredState(ctx context.Context, names []string, state registry.State) error
	DestroyUnits(ctx context.Context, names []string) error

	SetLabels(ctx context.Context, machine string, ch registry.LabelChange) (registry.Labels, error)
	SetDrain(ctx context.Context, d registry.Drain) error
	Undrain(ctx context.Context, machine string) (bool, error)
	Grant(ctx context.Context, user string, roles ...string) error
	EnableAuth(ctx context.Context) error
	TLSRefusal(ctx context.Context) error
	Close() error
}

var (
	_ clusterStore = (*registry.Registry)(nil)
	_ clusterStore = (*clusterapi.Client)(nil)
)
