package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// joinCallTimeout bounds each request a joining member makes to the
// cluster it joins.
const joinCallTimeout = 10 * time.Second

// hasMember says whether dir already holds an etcd member's data: such a
// member rejoins its cluster as it is, and --etcd-join adds nothing.
func hasMember(dir string) bool {
	return wal.Exist(filepath.Join(dir, "member", "wal"))
}

// joinCluster adds the member c describes to the running cluster whose
// members' client URLs are c.Join, as a learner (it votes only once it has
// caught up: a new voter that lags, or never starts, would count against
// the quorum), and returns c with the cluster's membership as its initial
// cluster and state existing. A member that an earlier try added but that
// never started is found by its peer URLs and not added twice.
//
// It tries again, until ctx ends, while the cluster cannot take a member
// yet: etcd refuses one until its leader has heard from every member for
// 5 s, and while another learner is catching up.
func joinCluster(ctx context.Context, c EmbedConfig) (EmbedConfig, error) {
	cli, err := joinClient(c)
	if err != nil {
		return c, err
	}
	defer cli.Close()
	for {
		joined, err := tryJoin(ctx, cli, c)
		if err == nil || !joinRetries(err) {
			return joined, err
		}
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// joinRetries says whether a join that failed with err may succeed later.
func joinRetries(err error) bool {
	if errors.Is(err, ErrInvalid) {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, rpctypes.ErrTooManyLearners) || errors.Is(err, rpctypes.ErrMemberNotEnoughStarted) {
		return true
	}
	var ee rpctypes.EtcdError
	return (errors.As(err, &ee) && ee.Code() == codes.Unavailable) || status.Code(err) == codes.Unavailable
}

func tryJoin(ctx context.Context, cli *clientv3.Client, c EmbedConfig) (EmbedConfig, error) {
	cctx, cancel := context.WithTimeout(ctx, joinCallTimeout)
	list, err := cli.MemberList(cctx)
	cancel()
	if err != nil {
		return c, fmt.Errorf("--etcd-join %s: list members: %w: %w", strings.Join(c.Join, ","), ErrUnavailable, err)
	}
	var self uint64
	members := list.Members
	for _, m := range members {
		if !sameURLs(m.PeerURLs, c.AdvertisePeerURLs) {
			continue
		}
		if m.Name != "" && m.Name != c.Name {
			return c, fmt.Errorf("%w --etcd-join: the cluster has member %q at %s already (--initial-advertise-peer-urls)", ErrInvalid, m.Name, strings.Join(m.PeerURLs, ","))
		}
		self = m.ID
	}
	if self == 0 {
		cctx, cancel := context.WithTimeout(ctx, joinCallTimeout)
		add, err := cli.MemberAddAsLearner(cctx, c.AdvertisePeerURLs)
		cancel()
		if err != nil {
			return c, fmt.Errorf("--etcd-join %s: add member %s at %s: %w", strings.Join(c.Join, ","), c.Name, strings.Join(c.AdvertisePeerURLs, ","), err)
		}
		self, members = add.Member.ID, add.Members
	}
	var initial []string
	for _, m := range members {
		name := m.Name
		if m.ID == self {
			name = c.Name
		} else if name == "" {
			// etcd needs every member named in the initial cluster, and an
			// added member has no name until it starts.
			return c, fmt.Errorf("%w --etcd-join: member %x at %s was added but has not started yet: join one member at a time", ErrUnavailable, m.ID, strings.Join(m.PeerURLs, ","))
		}
		for _, u := range m.PeerURLs {
			initial = append(initial, name+"="+u)
		}
	}
	c.InitialCluster = strings.Join(initial, ",")
	c.ClusterState = ClusterStateExisting
	return c, nil
}

// promote makes this member, a learner, a voting member as soon as the
// leader finds it caught up, and waits until it is one.
func (e *Embedded) promote(ctx context.Context) error {
	if !e.e.Server.IsLearner() {
		return nil
	}
	cli, err := joinClient(e.cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	id := uint64(e.e.Server.MemberID())
	for {
		cctx, cancel := context.WithTimeout(ctx, joinCallTimeout)
		_, err := cli.MemberPromote(cctx, id)
		cancel()
		if !e.e.Server.IsLearner() {
			return nil
		}
		// Refused while the learner lags behind the leader: try again.
		// Granted, the promotion is the cluster's once committed, this
		// member's once it applied it, which may come a little later: a
		// learner serves no request, so it is waited for (etcd tells of it
		// by no event), in short steps.
		wait := 500 * time.Millisecond
		if err == nil {
			wait = 20 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded etcd member %s: waiting to be promoted from learner (%v): %w", e.cfg.Name, err, ctx.Err())
		case err := <-e.e.Err():
			return fmt.Errorf("embedded etcd: %w", err)
		case <-time.After(wait):
		}
	}
}

// joinClient is a client of c's --etcd-join members, for membership
// requests.
func joinClient(c EmbedConfig) (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: c.Join, DialTimeout: 5 * time.Second, Logger: nopLogger()}
	if c.CertFile != "" {
		// The member asks the cluster as a client, with its own certificate.
		tc, err := TLSConfig(Config{CAFile: c.TrustedCAFile, CertFile: c.CertFile, KeyFile: c.KeyFile})
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("--etcd-join %s: %w: %w", strings.Join(c.Join, ","), ErrUnavailable, err)
	}
	return cli, nil
}
