// Command flota-scale is the driver of `make scale` (package scale): one
// etcd, engines apart, simulated machines, a mix of units, and the figures
// of issue 11.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/flota-dev/flota/scale"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := scale.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
