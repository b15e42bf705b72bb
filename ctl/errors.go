package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flota-dev/flota/registry"
)

// Exit codes: 0 success, 1 a failure (an error from etcd, a bad unit file,
// an unknown unit, even when the command acted on the others, a timed-out
// wait), 2 a usage error (unknown command or flag, missing arguments, a bad
// flag value), 130 interrupted.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitUnplaceable: a unit cannot be placed (plan), or not until the
	// machines change (a blocking start, scale or load): apart from 1, a
	// failure, so that a script can tell "not now" from "broken". Nomad
	// exits 2 for its placement failures, which here is the usage error's.
	exitUnplaceable = 3
	// exitUnitFailed: a unit failed on its machine in a way waiting does
	// not mend (reason.Condition.Failed).
	exitUnitFailed  = 4
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

// errNotFound classifies the errors about a unit that is not there: not in
// the cluster nor, for the commands that read files, on disk. A command on
// several units acts on the others (see leftOut).
var errNotFound = errors.New("not found")

// notFoundError says, in fleetctl's words, that a unit is not there.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return errNotFound }

func notFoundf(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

// leftOut collects the units a command on several units does not act on
// (not there, or in a state the command cannot apply to) while it acts on
// the others. Each is said on stderr as soon as it is known, so that a long
// wait for the others does not hide it.
type leftOut struct {
	w    io.Writer
	errs []error
}

func (l *leftOut) add(err error) {
	fmt.Fprintln(l.w, err)
	l.errs = append(l.errs, err)
}

// err is the command's outcome once it has acted on the others: nil when
// nothing was left out, else a partialError.
func (l *leftOut) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return &partialError{left: l.errs}
}

// partialError ends a command that acted on some of its units and left the
// others out: those were said on stderr already, and the exit is non-zero.
type partialError struct{ left []error }

func (e *partialError) Error() string   { return errors.Join(e.left...).Error() }
func (e *partialError) Unwrap() []error { return e.left }

// exitCode writes err to stderr, unless it was already reported, and
// decides the exit code.
func (c *cli) exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var rep *reportedError
	var part *partialError
	var use *usageError
	switch {
	case errors.As(err, &rep):
		return rep.code
	case errors.As(err, &part):
		return exitFailure
	case errors.As(err, &use):
		writeUsageError(c.errOut, use)
		return exitUsage
	case ctx.Err() != nil: // whatever failed, it failed because we were interrupted
		fmt.Fprintln(c.errOut, "Interrupted.")
		return exitInterrupted
	case errors.Is(err, registry.ErrUnavailable):
		if why := c.tlsRefusal(ctx); why != nil {
			fmt.Fprintf(c.errOut, "Error: %v (flotactl --ca-file, --cert-file, --key-file)\n", why)
			return exitFailure
		}
		if c.api != "" {
			fmt.Fprintf(c.errOut, "Error: flotad's API unreachable at %s: %v\n", c.api, err)
			return exitFailure
		}
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

// tlsRefusal says whether etcd was unavailable because its TLS refused
// flotactl, which etcd's client reports only as a timeout.
func (c *cli) tlsRefusal(ctx context.Context) error {
	if c.reg == nil {
		return nil
	}
	return c.reg.TLSRefusal(ctx)
}
