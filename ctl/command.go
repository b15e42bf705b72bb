package ctl

import (
	"context"

	"github.com/spf13/pflag"
)

// command is one flotactl command: its help texts, its own flags and what
// it does. Each command builds its own in its file, with its options in
// variables its run function closes over, so one invocation shares nothing
// with another.
type command struct {
	name    string
	args    string // argument synopsis for help, e.g. "UNIT..."
	summary string // one line, in the COMMANDS list
	desc    string // the DESCRIPTION section
	minArgs int
	maxArgs int  // -1: any number
	offline bool // needs no etcd (help, version)
	// dashOperands makes single-dash words such as "-zone" operands rather
	// than shorthand flags (label's removals); a word that is exactly a
	// known shorthand ("-h") stays a flag, and "--" ends the flags as ever.
	dashOperands bool
	// operandEndsFlags makes the first operand end the flags: the words
	// after it are operands, as a command line's (exec UNIT ls -l).
	operandEndsFlags bool
	flags            *pflag.FlagSet
	run              func(ctx context.Context, c *cli, args []string) error
}

func newCommand(name, args, summary, desc string) *command {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	return &command{name: name, args: args, summary: summary, desc: desc, maxArgs: -1, flags: fs}
}

// usageLine is the synopsis after "flotactl ".
func (cmd *command) usageLine() string {
	s := cmd.name
	if cmd.flags.HasFlags() {
		s += " [command options]"
	}
	if cmd.args != "" {
		s += " " + cmd.args
	}
	return s
}

// commands is the command table, in the order help lists it.
func commands() []*command {
	return []*command{
		authEnableCommand(),
		authGrantCommand(),
		catCommand(),
		completionCommand(),
		destroyCommand(),
		drainCommand(),
		endpointsCommand(),
		execCommand(),
		helpCommand(),
		journalCommand(),
		labelCommand(),
		listMachinesCommand(),
		listUnitFilesCommand(),
		listUnitsCommand(),
		loadCommand(),
		pkiCACommand(),
		pkiCertCommand(),
		planCommand(),
		restartCommand(),
		scaleCommand(),
		shellCommand(),
		startCommand(),
		statusCommand(),
		stopCommand(),
		submitCommand(),
		undrainCommand(),
		unloadCommand(),
		versionCommand(),
	}
}

func (c *cli) lookup(name string) *command {
	for _, cmd := range c.cmds {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

// blockFlags are the waiting options of the commands that change state.
type blockFlags struct {
	noBlock  bool
	attempts int
}

func (b *blockFlags) register(fs *pflag.FlagSet, noBlock bool) {
	fs.IntVar(&b.attempts, "block-attempts", 0, "wait at most this many attempts of 2 seconds each for the units to reach their state; 0 waits forever")
	if noBlock {
		fs.BoolVar(&b.noBlock, "no-block", false, "do not wait for the units to reach their state")
	}
}

func (b *blockFlags) check(cmd *command) error {
	if b.attempts < 0 {
		return usageErrorf(cmd, "%s: invalid --block-attempts %d: want 0 (wait forever) or more", cmd.name, b.attempts)
	}
	return nil
}
