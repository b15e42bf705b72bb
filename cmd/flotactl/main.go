// Command flotactl is the command line of flota; see package ctl.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/flota-dev/flota/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Main(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
