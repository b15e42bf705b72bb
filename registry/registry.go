package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultPrefix is where flota keeps its keys in etcd.
const DefaultPrefix = "/flota/"

// DefaultTxnOps bounds the operations (and, separately, the compares) of one
// transaction. etcd refuses more than --max-txn-ops (128 by default) in either
// list, and a real cluster keeps its default, so flota stays under it.
const DefaultTxnOps = 100

// How long the client waits without a frame from etcd before it pings, and
// how long it waits for the answer before it drops the connection and dials
// again. gRPC allows no less than 10 s between pings; requests that must
// not wait on a dead link have deadlines of their own (CallTimeout), and a
// lease that gets no answer ends the registration sooner.
const (
	KeepAliveTime    = 10 * time.Second
	KeepAliveTimeout = time.Second
)

// CallTimeout bounds one request that must not wait on a dead link, such as
// registering a machine: past it, the caller retries on a fresh connection.
const CallTimeout = 2 * time.Second

// Config says how to reach etcd.
type Config struct {
	Endpoints   []string
	Prefix      string        // default DefaultPrefix
	DialTimeout time.Duration // default 5s
	CertFile    string
	KeyFile     string
	CAFile      string
	TxnOps      int // default DefaultTxnOps
}

// Registry is the typed API over etcd.
type Registry struct {
	cli       *clientv3.Client
	k         keys
	endpoints string
	eps       []string    // the endpoints, one by one
	tls       *tls.Config // what the client presents to etcd (nil: no TLS files)
	txnOps    int
	requests  atomic.Int64
	txns      atomic.Int64
	kat       *keepAliveTimer
}

// Connect opens a client to etcd. It does not wait for etcd to answer: a dead
// etcd shows up on the first request, as ErrUnavailable naming the endpoints.
func Connect(cfg Config) (*Registry, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no etcd endpoints", ErrInvalid)
	}
	r := &Registry{
		k:         keys{prefix: cfg.Prefix},
		endpoints: strings.Join(cfg.Endpoints, ","),
		txnOps:    cfg.TxnOps,
		kat:       newKeepAliveTimer(),
	}
	if r.k.prefix == "" {
		r.k.prefix = DefaultPrefix
	}
	if !strings.HasSuffix(r.k.prefix, "/") {
		r.k.prefix += "/"
	}
	if r.txnOps <= 0 {
		r.txnOps = DefaultTxnOps
	}
	tlsCfg, err := TLSConfig(cfg)
	if err != nil {
		return nil, err
	}
	r.eps, r.tls = cfg.Endpoints, tlsCfg
	dial := cfg.DialTimeout
	if dial == 0 {
		dial = 5 * time.Second
	}
	// Count every RPC, unary and streaming, so benchmarks can report etcd
	// requests per placement from what really crossed the wire.
	count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		r.requests.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	countStream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		r.requests.Add(1)
		return streamer(ctx, desc, cc, method, opts...)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: dial,
		TLS:         tlsCfg,
		Logger:      nopLogger(),
		// A link that died silently (a partition, a crashed host) is
		// dropped by a ping within KeepAliveTime+KeepAliveTimeout, not by
		// TCP's retransmit timers, which reach minutes.
		DialKeepAliveTime:    KeepAliveTime,
		DialKeepAliveTimeout: KeepAliveTimeout,
		DialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(count),
			grpc.WithChainStreamInterceptor(countStream, r.kat.interceptor),
			// gRPC's own reconnect backoff grows to 120 s, and each
			// attempt waits 20 s for a connection: after a partition of a
			// minute the client tried again only tens of seconds after the
			// link came back. Capped, it retries every second at most.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
				MinConnectTimeout: 2 * time.Second,
			}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrUnavailable, r.endpoints, err)
	}
	r.cli = cli
	return r, nil
}

// TLSConfig is the client TLS configuration cfg's files make (nil when it
// names none): the one the Registry talks to etcd with, and the one
// flotactl and the agents present to the agent API.
func TLSConfig(cfg Config) (*tls.Config, error) {
	if cfg.CertFile == "" && cfg.KeyFile == "" && cfg.CAFile == "" {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, TrustedCAFile: cfg.CAFile}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: TLS files: %w", ErrInvalid, err)
	}
	return c, nil
}

// Close releases the client.
func (r *Registry) Close() error { return r.cli.Close() }

// Requests is the number of etcd RPCs this Registry has made.
func (r *Registry) Requests() int64 { return r.requests.Load() }

// Txns is the number of transactions this Registry has sent.
func (r *Registry) Txns() int64 { return r.txns.Load() }

// TxnOps is the most operations one transaction of this Registry carries.
func (r *Registry) TxnOps() int { return r.txnOps }

// Prefix is the key prefix in use.
func (r *Registry) Prefix() string { return r.k.prefix }

// wrap classifies an etcd client error: a timeout or a refused connection is
// ErrUnavailable, which callers must never read as "machine gone" or "unit
// missing".
func (r *Registry) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w at %s: no answer in time", op, ErrUnavailable, r.endpoints)
	}
	code := status.Code(err)
	// etcd's own errors ("leader changed", "no leader", "request timed
	// out") carry their gRPC code apart from the status.
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	}
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w at %s: %w", op, ErrUnavailable, r.endpoints, err)
	case codes.PermissionDenied, codes.Unauthenticated:
		return fmt.Errorf("%s: %w: etcd's roles do not let this client's certificate do it (%v)", op, ErrDenied, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (r *Registry) txn(ctx context.Context) clientv3.Txn {
	r.txns.Add(1)
	return r.cli.Txn(ctx)
}
