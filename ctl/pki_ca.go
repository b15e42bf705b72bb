package ctl

import (
	"context"
	"fmt"
	"time"

	"github.com/flota-dev/flota/pki"
)

func pkiCACommand() *command {
	cmd := newCommand("pki-ca", "DIR", "Make the certificate authority of a secured cluster",
		`Make a CA for a cluster whose etcd serves TLS with client certificates:
DIR/ca.crt, which every member and client trusts, and DIR/ca.key, which
signs their certificates (flotactl pki-cert) and should stay on the machine
that makes them. Existing files are never replaced.`)
	cmd.minArgs, cmd.maxArgs = 1, 1
	cmd.offline = true
	valid := cmd.flags.Duration("valid", 10*365*24*time.Hour, "how long the CA is valid")
	cmd.run = func(_ context.Context, c *cli, args []string) error {
		ca, err := pki.NewCA("flota-ca", *valid, time.Now())
		if err != nil {
			return err
		}
		if err := pki.Write(args[0], "ca", ca.Cert, ca.Key); err != nil {
			return err
		}
		cert, key := pki.Files(args[0], "ca")
		_, err = fmt.Fprintf(c.out, "Wrote %s and %s\n", cert, key)
		return err
	}
	return cmd
}
