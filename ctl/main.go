package ctl

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/registry"
)

// Version is flotactl's version. It is set at link time
// (-ldflags "-X github.com/flota-dev/flota/ctl.Version=1.2.3") and never
// changed at run time.
var Version = "0.1.0-dev"

// Main runs flotactl with args (without the program name) and returns the
// exit code. env looks up environment variables (os.Getenv); everything is
// written to stdout and stderr, nothing to the process's own streams.
func Main(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var g globals
	c := &cli{
		version: Version,
		stdin:   stdin,
		out:     stdout,
		errOut:  stderr,
		log:     slog.New(slog.DiscardHandler),
		global:  newGlobalFlags(&g),
	}
	c.cmds = commands()
	return c.exitCode(ctx, c.main(ctx, &g, args, env))
}

func (c *cli) main(ctx context.Context, g *globals, args []string, env func(string) string) error {
	c.global.SetInterspersed(false)
	if err := c.global.Parse(args); err != nil {
		return flagError(nil, err)
	}
	rest := c.global.Args()
	if len(rest) == 0 {
		switch {
		case g.help:
			return c.writeHelp(c.out)
		case g.version:
			return c.writeVersion()
		}
		_ = c.writeHelp(c.errOut)
		return &reportedError{code: exitUsage}
	}
	cmd := c.lookup(rest[0])
	if cmd == nil {
		switch {
		case rest[0] == "ssh":
			// fleetctl ssh opened a shell on a unit's machine over ssh;
			// flota's goes through the agent, into the unit's container.
			return usageErrorf(nil, `command "ssh" is not implemented by flotactl: flotactl shell UNIT opens a shell in the unit's container (on its machine for a plain unit), flotactl exec UNIT CMD runs a command there`)
		case notYet(rest[0]):
			return usageErrorf(nil, "command %q is not implemented by flotactl yet", rest[0])
		}
		return usageErrorf(nil, "unknown command %q", rest[0])
	}
	fs := pflag.NewFlagSet("flotactl "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.AddFlagSet(cmd.flags)
	fs.AddFlagSet(c.global) // global options may follow the command too
	args, shielded := rest[1:], map[string]string(nil)
	if cmd.dashOperands {
		args, shielded = shieldDashOperands(args, fs)
	}
	fs.SetInterspersed(!cmd.operandEndsFlags)
	if err := fs.Parse(args); err != nil {
		return flagError(cmd, err)
	}
	switch {
	case g.help:
		return c.writeCommandHelp(c.out, cmd)
	case g.version:
		return c.writeVersion()
	}
	operands := fs.Args()
	for i, o := range operands {
		if w, ok := shielded[o]; ok {
			operands[i] = w
		}
	}
	if len(operands) < cmd.minArgs {
		return usageErrorf(cmd, "%s: missing %s", cmd.name, cmd.args)
	}
	if cmd.maxArgs >= 0 && len(operands) > cmd.maxArgs {
		return usageErrorf(cmd, "%s: too many arguments: %q", cmd.name, operands[cmd.maxArgs:])
	}
	if cmd.offline {
		return cmd.run(ctx, c, operands)
	}
	g.driverSet = c.global.Changed("driver") || env("FLOTACTL_DRIVER") != ""
	g.endpointSet = c.global.Changed("endpoint") || env("FLOTACTL_ENDPOINT") != "" || env("FLEETCTL_ENDPOINT") != ""
	if err := applyEnv(c.global, env); err != nil {
		return err
	}
	s, err := g.check()
	if err != nil {
		return err
	}
	c.endpoints, c.timeout = strings.Join(s.endpoints, ","), s.timeout
	if g.debug {
		c.log = slog.New(slog.NewTextHandler(c.errOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c.log.Debug("flotactl", "command", cmd.name, "settings", s.String())
	if c.apiTLS, err = registry.TLSConfig(s.reg); err != nil {
		return err
	}
	if s.api != "" {
		c.api = s.api
		api, err := clusterapi.NewClient(s.api, c.apiTLS)
		if err != nil {
			return usageErrorf(nil, "--endpoint %v (--driver=API)", err)
		}
		defer api.Close()
		c.reg = api
		return cmd.run(ctx, c, operands)
	}
	reg, err := registry.Connect(s.reg)
	if err != nil {
		return err
	}
	defer reg.Close()
	c.reg = reg
	return cmd.run(ctx, c, operands)
}

// flagError turns a pflag parse error into a usage error.
func flagError(cmd *command, err error) error {
	if cmd != nil {
		return usageErrorf(cmd, "%s: %v", cmd.name, err)
	}
	return usageErrorf(nil, "%v", err)
}

// notYet reports the fleetctl commands flotactl does not have yet: they get
// a clearer answer than "unknown command".
func notYet(name string) bool {
	switch name {
	case "fd-forward":
		return true
	}
	return false
}

// shieldDashOperands replaces each single-dash word of args that is not a
// flag of fs ("-zone", but not "-h") by a token pflag takes for an operand,
// and returns the tokens' words, to be put back among the operands in the
// order given. Words after "--" are operands already.
func shieldDashOperands(args []string, fs *pflag.FlagSet) ([]string, map[string]string) {
	out := slices.Clone(args)
	words := map[string]string{}
	for i, a := range args {
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' || (len(a) == 2 && fs.ShorthandLookup(a[1:]) != nil) {
			continue
		}
		// NUL cannot be in a command-line argument, so no real word is a token.
		tok := "\x00" + strconv.Itoa(i)
		words[tok] = a
		out[i] = tok
	}
	return out, words
}
