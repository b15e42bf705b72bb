package ctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/flota-dev/flota/registry"
)

func authGrantCommand() *command {
	cmd := newCommand("auth-grant", "USER ROLE...", "Let a certificate's user do what flota roles grant",
		`Make USER, the common name of a certificate of the cluster's CA (flotactl
pki-cert), an etcd user authenticated by that certificate, and give it each
ROLE, made with its permissions if it is new:

  operator     read and write everything flota keeps (flotactl)
  engine       read the cluster and states; write placements, reasons, notes,
               moves, the election and the unit files it collects
  machine=ID   write machine ID's presence and states; read its placements
               and the unit files

A flotad runs its agent as machine=ID (its machine ID) and, unless
--engine=false, its engine: give its certificate's user both. Before
flotactl auth-enable anyone may grant; after, only root's certificate.`)
	cmd.minArgs = 2
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		var roles []string
		for _, a := range args[1:] {
			switch id, ok := strings.CutPrefix(a, "machine="); {
			case a == "operator":
				roles = append(roles, registry.RoleOperator)
			case a == "engine":
				roles = append(roles, registry.RoleEngine)
			case ok && id != "":
				roles = append(roles, registry.RoleMachine(id))
			default:
				return usageErrorf(cmd, "auth-grant: role %q: want operator, engine or machine=ID", a)
			}
		}
		if _, err := request(ctx, c, "grant", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.reg.Grant(ctx, args[0], roles...)
		}); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.out, "Granted %s to %s\n", strings.Join(args[1:], " "), args[0])
		return err
	}
	return cmd
}
