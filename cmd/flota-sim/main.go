// Command flota-sim runs simulated flota machines (package sim): the real
// agent on a fake systemd, thousands in one process, against a cluster's
// etcd.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/flota-dev/flota/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := sim.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
