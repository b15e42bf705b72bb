package ctl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/term"

	"github.com/flota-dev/flota/machineapi"
	"github.com/flota-dev/flota/registry"
)

func execCommand() *command {
	cmd := newCommand("exec", "UNIT [--] COMMAND [ARG...]", "Run a command in a unit's container, or on its machine",
		`Run COMMAND, as root, in the container of UNIT (every namespace, the root and
the working directory of the container's PID 1: what the unit's program
sees), or on the machine UNIT is placed on for a unit without [X-Container],
through that machine's agent (flotad --exec). Its stdin, stdout and stderr
are flotactl's; with a terminal (-t, the default when flotactl's stdin and
stdout are terminals) it gets one of flotactl's terminal's size, resized
with it, and its output is the terminal's. The words after UNIT are the
command's, flags included; "--" before them is allowed. Exits with the
command's exit status (128+N when signal N ended it). A global unit needs
--machine.`)
	cmd.minArgs = 2
	cmd.operandEndsFlags = true
	tty := cmd.flags.BoolP("tty", "t", false, "give the command a terminal (default: when stdin and stdout are terminals)")
	machine := cmd.flags.String("machine", "", "the machine (ID or prefix) whose copy of a global unit to run in")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		argv := args[1:]
		if argv[0] == "--" {
			argv = argv[1:]
		}
		if len(argv) == 0 {
			return usageErrorf(cmd, "exec: missing COMMAND after %s", args[0])
		}
		withTTY := c.terminal()
		if cmd.flags.Changed("tty") {
			withTTY = *tty
		}
		return c.exec(ctx, args[0], *machine, argv, withTTY)
	}
	return cmd
}

// terminal says whether flotactl's stdin and stdout are both terminals.
func (c *cli) terminal() bool {
	in, ok1 := c.stdin.(*os.File)
	out, ok2 := c.out.(*os.File)
	return ok1 && ok2 && term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}

// exec runs argv in unit through its machine's agent and returns the
// command's exit status as flotactl's.
func (c *cli) exec(ctx context.Context, name, machine string, argv []string, tty bool) error {
	args, err := parseUnitArgs([]string{name})
	if err != nil {
		return err
	}
	name = args[0].name
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	m, err := execMachine(st, name, machine)
	if err != nil {
		return err
	}
	if m.API == "" {
		return fmt.Errorf("machine %s serves no agent API (is its flotad older, or started with --agent-api=off?)", machineID(m.ID, false))
	}
	q := url.Values{"cmd": argv}
	var raw *term.State
	var fd int
	if tty {
		q.Set("tty", "1")
		rows, cols := 24, 80
		if in, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
			fd = int(in.Fd())
			if w, h, err := term.GetSize(fd); err == nil {
				rows, cols = h, w
			}
			if raw, err = term.MakeRaw(fd); err != nil {
				return fmt.Errorf("exec: put the terminal in raw mode: %w", err)
			}
			defer term.Restore(fd, raw)
		}
		q.Set("rows", strconv.Itoa(rows))
		q.Set("cols", strconv.Itoa(cols))
	}
	who := fmt.Sprintf("agent of machine %s", machineID(m.ID, false))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+machineapi.ExecPath(name)+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", machineapi.ExecProtocol)
	client := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: c.timeout, TLSClientConfig: c.apiTLS}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s at %s: %w", who, m.API, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", who, trimNewline(string(msg)))
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		return fmt.Errorf("%s: the exec stream cannot be written to", who)
	}
	fw := machineapi.NewFrameWriter(conn)
	if raw != nil {
		// The terminal's size follows flotactl's terminal.
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if w, h, err := term.GetSize(fd); err == nil {
					_ = fw.Write(machineapi.FrameResize, machineapi.Size(uint16(h), uint16(w)))
				}
			}
		}()
	}
	go func() {
		if c.stdin != nil {
			_, _ = io.Copy(fw.Stream(machineapi.FrameStdin), c.stdin)
		}
		_ = fw.Write(machineapi.FrameCloseStdin, nil)
	}()
	r := bufio.NewReader(conn)
	for {
		f, err := machineapi.ReadFrame(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the stream ended without the command's exit status")
			}
			return fmt.Errorf("%s: exec in %s: %w", who, name, err)
		}
		switch f.Type {
		case machineapi.FrameStdout:
			_, _ = c.out.Write(f.Payload)
		case machineapi.FrameStderr:
			_, _ = c.errOut.Write(f.Payload)
		case machineapi.FrameError:
			return fmt.Errorf("%s: exec in %s: %s", who, name, f.Payload)
		case machineapi.FrameExit:
			status, err := machineapi.ParseExit(f.Payload)
			if err != nil {
				return fmt.Errorf("%s: %w", who, err)
			}
			if status != 0 {
				return &reportedError{code: status}
			}
			return nil
		}
	}
}

// execMachine is the machine exec runs unit's command on: the one it is
// placed on, or, for a unit on several, the one --machine names.
func execMachine(st *registry.Status, unit, machine string) (registry.Machine, error) {
	ms, err := machinesOf(st, unit)
	if err != nil {
		return registry.Machine{}, err
	}
	if machine == "" {
		if len(ms) > 1 {
			return registry.Machine{}, fmt.Errorf("unit %s runs on %d machines: name one with --machine", unit, len(ms))
		}
		return ms[0], nil
	}
	id, err := resolveMachine(machine, ms, nil)
	if err != nil {
		return registry.Machine{}, fmt.Errorf("unit %s: --machine %s: %w", unit, machine, err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m, nil
		}
	}
	return registry.Machine{}, fmt.Errorf("unit %s is not placed on machine %s", unit, machineID(id, false))
}
