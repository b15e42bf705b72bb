package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flota-dev/flota/registry"
)

// Exit codes: 0 success, 1 a failure (an error from etcd, a bad unit file,
// an unknown unit, a timed-out wait), 2 a usage error (unknown command or
// flag, missing arguments, a bad flag value), 130 interrupted.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError is a mistake in the command line; cmd is the command it is
// about, nil for the global options.
type usageError struct {
	cmd *command
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usageErrorf(cmd *command, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// reportedError is a failure whose message was already written to stderr.
type reportedError struct{ code int }

func (e *reportedError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode writes err to stderr, unless it was already reported, and
// decides the exit code.
func (c *cli) exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var rep *reportedError
	var use *usageError
	switch {
	case errors.As(err, &rep):
		return rep.code
	case errors.As(err, &use):
		writeUsageError(c.errOut, use)
		return exitUsage
	case ctx.Err() != nil: // whatever failed, it failed because we were interrupted
		fmt.Fprintln(c.errOut, "Interrupted.")
		return exitInterrupted
	case errors.Is(err, registry.ErrUnavailable):
		fmt.Fprintf(c.errOut, "Error: etcd unreachable at %s (request timeout %s): %v\n", c.endpoints, c.timeout, err)
		return exitFailure
	}
	fmt.Fprintln(c.errOut, err)
	return exitFailure
}

func writeUsageError(w io.Writer, e *usageError) {
	fmt.Fprintf(w, "flotactl: %s\n", e.msg)
	if e.cmd != nil {
		fmt.Fprintf(w, "Usage: flotactl %s\nRun 'flotactl help %s' for details.\n", e.cmd.usageLine(), e.cmd.name)
		return
	}
	fmt.Fprintln(w, "Run 'flotactl help' for usage.")
}
