package ctl

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func helpCommand() *command {
	cmd := newCommand("help", "[COMMAND]", "Show a list of commands or help for one command",
		"Without an argument, list the commands and the global options; with one, describe that command and its options.")
	cmd.maxArgs = 1
	cmd.offline = true
	cmd.run = func(_ context.Context, c *cli, args []string) error {
		if len(args) == 0 {
			return c.writeHelp(c.out)
		}
		target := c.lookup(args[0])
		if target == nil {
			return usageErrorf(cmd, "help: unknown command %q", args[0])
		}
		return c.writeCommandHelp(c.out, target)
	}
	return cmd
}

const globalDescription = `flotactl controls a flota cluster through its etcd: it submits systemd unit
files, sets the state each unit should be in (inactive, loaded, launched) and
shows where units run. Its commands, flags and output are those of fleetctl.

Every global option can also be set in the environment as FLOTACTL_<OPTION>
(upper case, '-' as '_'), or FLEETCTL_<OPTION> when that is unset; the command
line beats the environment, which beats the default. Exit status: 0 success,
1 failure, 2 usage error.`

// writeHelp writes the top-level help: NAME, USAGE, VERSION, COMMANDS,
// DESCRIPTION and GLOBAL OPTIONS.
func (c *cli) writeHelp(w io.Writer) error {
	var b strings.Builder
	section(&b, "NAME", "flotactl - the command line of flota, a cluster-wide init system")
	section(&b, "USAGE", "flotactl [global options] <command> [command options] [arguments...]")
	section(&b, "VERSION", c.version)
	var list strings.Builder
	tw := tabwriter.NewWriter(&list, 0, 8, 2, ' ', 0)
	for _, cmd := range c.cmds {
		fmt.Fprintf(tw, "%s\t%s\n", cmd.name, cmd.summary)
	}
	_ = tw.Flush()
	section(&b, "COMMANDS", strings.TrimSuffix(list.String(), "\n"))
	section(&b, "DESCRIPTION", globalDescription)
	b.WriteString("GLOBAL OPTIONS:\n" + c.global.FlagUsages() + "\n")
	b.WriteString("Run 'flotactl help <command>' for the options of a command.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCommandHelp writes one command's help: NAME, USAGE, DESCRIPTION,
// OPTIONS and GLOBAL OPTIONS.
func (c *cli) writeCommandHelp(w io.Writer, cmd *command) error {
	var b strings.Builder
	section(&b, "NAME", "flotactl "+cmd.name+" - "+cmd.summary)
	section(&b, "USAGE", "flotactl "+cmd.usageLine())
	section(&b, "DESCRIPTION", cmd.desc)
	if cmd.flags.HasFlags() {
		b.WriteString("OPTIONS:\n" + cmd.flags.FlagUsages() + "\n")
	}
	b.WriteString("GLOBAL OPTIONS:\n" + c.global.FlagUsages())
	_, err := io.WriteString(w, b.String())
	return err
}

// section writes "TITLE:" and the text indented by a tab, then a blank line.
func section(b *strings.Builder, title, text string) {
	b.WriteString(title + ":\n")
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			b.WriteString("\t" + line)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}
