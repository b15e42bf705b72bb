package ctl

import (
	"context"
	"errors"
	"fmt"

	"github.com/flota-dev/flota/registry"
)

func catCommand() *command {
	cmd := newCommand("cat", "UNIT", "Output the contents of a submitted unit",
		"Print the unit file stored in the cluster, as flota normalized it (the text its hash is computed from).")
	cmd.minArgs, cmd.maxArgs = 1, 1
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		name := us[0].name
		u, err := request(ctx, c, "read unit "+name, func(ctx context.Context) (registry.Unit, error) {
			return c.reg.Unit(ctx, name)
		})
		if errors.Is(err, registry.ErrNotFound) {
			return notFoundf("Unit %s not found", name)
		}
		if err != nil {
			return err
		}
		data, err := request(ctx, c, "read unit file of "+name, func(ctx context.Context) ([]byte, error) {
			return c.reg.File(ctx, u.Hash)
		})
		if err != nil {
			return fmt.Errorf("unit %s: %w", name, err)
		}
		_, err = c.out.Write(data)
		return err
	}
	return cmd
}
