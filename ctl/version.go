package ctl

import (
	"context"
	"fmt"
)

func versionCommand() *command {
	cmd := newCommand("version", "", "Print the version and exit", "Print flotactl's version as \"flotactl version <version>\".")
	cmd.maxArgs = 0
	cmd.offline = true
	cmd.run = func(_ context.Context, c *cli, _ []string) error { return c.writeVersion() }
	return cmd
}

func (c *cli) writeVersion() error {
	_, err := fmt.Fprintf(c.out, "flotactl version %s\n", c.version)
	return err
}
