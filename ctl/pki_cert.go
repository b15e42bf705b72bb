package ctl

import (
	"context"
	"fmt"
	"time"

	"github.com/flota-dev/flota/pki"
)

func pkiCertCommand() *command {
	cmd := newCommand("pki-cert", "DIR NAME [HOST]...", "Make a certificate signed by a cluster's CA",
		`Make DIR/NAME.crt and DIR/NAME.key, signed by DIR's CA (flotactl pki-ca),
for NAME: the certificate's common name, which etcd takes as the client's
user name. Every certificate authenticates a client (flotactl, a machine's
flotad, an engine); one given HOSTs, IP addresses or DNS names, also serves
as them: an etcd member's (flotad --etcd-server-cert-file). An operator's
(--operator) is also the one the machines' agent APIs read units' status and
journals for: a machine's certificate fetches images from the others, and
reads none of their units. Existing files are never replaced.`)
	cmd.minArgs = 2
	cmd.offline = true
	valid := cmd.flags.Duration("valid", 365*24*time.Hour, "how long the certificate is valid")
	operator := cmd.flags.Bool("operator", false, "an operator's certificate, for flotactl: the agent APIs serve status and journal to it")
	cmd.run = func(_ context.Context, c *cli, args []string) error {
		ca, err := pki.LoadCA(args[0])
		if err != nil {
			return err
		}
		now := time.Now()
		cert, key, err := ca.Issue(pki.Request{Name: args[1], Hosts: args[2:], Valid: *valid, Operator: *operator}, now)
		if err != nil {
			return err
		}
		if err := pki.Write(args[0], args[1], cert, key); err != nil {
			return err
		}
		cf, kf := pki.Files(args[0], args[1])
		_, err = fmt.Fprintf(c.out, "Wrote %s and %s\n", cf, kf)
		return err
	}
	return cmd
}
