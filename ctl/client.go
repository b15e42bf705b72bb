package ctl

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/registry"
)

// cli is one invocation of flotactl: its streams, its options and, for
// commands that need it, the registry.
type cli struct {
	version   string
	stdin     io.Reader
	out       io.Writer
	errOut    io.Writer
	log       *slog.Logger
	cmds      []*command
	global    *pflag.FlagSet
	reg       clusterStore
	endpoints string
	api       string // flotad's API, with --driver=API
	timeout   time.Duration
	// apiTLS is what flotactl presents to agent APIs served over https:
	// the same CA and certificate as to etcd (nil: none given).
	apiTLS *tls.Config
}

// request runs one etcd request under the per-request timeout
// (--request-timeout) and logs it at debug level.
func request[T any](ctx context.Context, c *cli, op string, f func(context.Context) (T, error)) (T, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	v, err := f(rctx)
	c.log.Debug("etcd request", "op", op, "took", time.Since(start).Round(time.Microsecond), "err", err)
	return v, err
}

// do is request for calls that return only an error.
func do(ctx context.Context, c *cli, op string, f func(context.Context) error) error {
	_, err := request(ctx, c, op, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// status reads the whole cluster status in one request.
func (c *cli) status(ctx context.Context) (*registry.Status, error) {
	return request(ctx, c, "read status", c.reg.ReadStatus)
}

// chunks calls f on successive slices of names of at most n names: the
// registry refuses transactions over its size limit.
func chunks(names []string, n int, f func([]string) error) error {
	n = max(n, 1)
	for start := 0; start < len(names); start += n {
		if err := f(names[start:min(start+n, len(names))]); err != nil {
			return err
		}
	}
	return nil
}

// setDesired sets the desired state of names, in as few transactions as the
// registry allows.
func (c *cli) setDesired(ctx context.Context, names []string, state registry.State) error {
	return chunks(names, c.reg.TxnOps(), func(part []string) error {
		return do(ctx, c, "set desired state "+string(state), func(ctx context.Context) error {
			return c.reg.SetDesiredState(ctx, part, state)
		})
	})
}
