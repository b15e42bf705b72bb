// Command flotad runs flota's engine and agent on one machine.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/flota-dev/flota/daemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := daemon.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
