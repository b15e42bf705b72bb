package ctl

import "context"

func shellCommand() *command {
	cmd := newCommand("shell", "UNIT", "Open a shell in a unit's container, or on its machine",
		`Run a shell (--shell, /bin/sh by default) in the container of UNIT, or on
its machine for a unit without [X-Container], with a terminal: flotactl exec
-t UNIT /bin/sh. A global unit needs --machine.`)
	cmd.minArgs, cmd.maxArgs = 1, 1
	sh := cmd.flags.String("shell", "/bin/sh", "the shell to run")
	machine := cmd.flags.String("machine", "", "the machine (ID or prefix) whose copy of a global unit to run in")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		return c.exec(ctx, args[0], *machine, []string{*sh}, true)
	}
	return cmd
}
