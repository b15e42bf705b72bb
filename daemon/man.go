package daemon

import (
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/manpage"
)

// WriteManPage writes flotad(8) from flotad's flags (date: of the source
// described).
func WriteManPage(w io.Writer, date string) error {
	fs := pflag.NewFlagSet("flotad", pflag.ContinueOnError)
	fs.SortFlags = false
	flags(fs, &Config{})
	return manpage.Page{
		Name: "flotad", Section: 8, Date: date, Version: Version,
		Summary:  "flota's engine, agent and embedded etcd on one machine",
		Synopsis: "flotad [flags]",
		Sections: []manpage.Section{
			{Title: "Description", Text: strings.TrimSpace(`
flotad runs on every machine of a flota cluster. Its agent registers the
machine in etcd under a lease and runs the units placed on it through the
machine's systemd, over D-Bus, as systemd-nspawn containers on BTRFS image
layers when a unit names an image. Its engine campaigns for leadership and,
while it leads, places units on machines. Without --etcd-endpoints it runs
an embedded etcd member.

Every flag can also be given as the environment variable FLOTA_<FLAG>
(upper case, '-' as '_'), or as a flag=value line of the --config file; the
command line beats the environment, which beats the file, which beats the
default.

It serves its agent API, /metrics and /health on --agent-api, and tells
systemd when it is ready (Type=notify).`)},
			{Title: "Options", Flags: fs},
			{Title: "Files", Text: "/etc/flota/flotad.conf: the packaged --config file.\n\n/lib/systemd/system/flotad.service: its unit."},
			{Title: "See also", Text: "flotactl(1), systemd-nspawn(1)"},
		},
	}.Write(w)
}
