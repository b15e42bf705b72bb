package ctl

import (
	"context"
	"fmt"
)

func authEnableCommand() *command {
	cmd := newCommand("auth-enable", "", "Turn on etcd's authentication: each certificate may do what its roles grant",
		`Turn etcd's authentication on. The user root (a certificate whose common
name is root, from flotactl pki-cert) is made etcd's root and alone manages
users and roles from then on; every other client may do only what its roles
grant (flotactl auth-grant), and a certificate of the CA with no user is
refused. Grant the engine's, the machines' and the operators' users first.`)
	cmd.maxArgs = 0
	cmd.run = func(ctx context.Context, c *cli, _ []string) error {
		if _, err := request(ctx, c, "enable auth", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, c.reg.EnableAuth(ctx)
		}); err != nil {
			return err
		}
		_, err := fmt.Fprintln(c.out, "etcd's authentication is on")
		return err
	}
	return cmd
}
