package ctl

import (
	"io"

	"github.com/flota-dev/flota/manpage"
)

// WriteManPage writes flotactl(1): the top-level help's description and
// global options, then each command's usage, description and options, from
// the same definitions as flotactl help (date: of the source described).
func WriteManPage(w io.Writer, date string) error {
	var g globals
	c := &cli{version: Version, cmds: commands(), global: newGlobalFlags(&g)}
	var cmds []manpage.Section
	for _, cmd := range c.cmds {
		cmds = append(cmds, manpage.Section{Title: "flotactl " + cmd.usageLine(), Text: cmd.summary + ".\n\n" + cmd.desc, Flags: cmd.flags})
	}
	return manpage.Page{
		Name: "flotactl", Section: 1, Date: date, Version: Version,
		Summary:  "the command line of flota, a cluster-wide init system",
		Synopsis: "flotactl [global options] <command> [command options] [arguments...]",
		Sections: []manpage.Section{
			{Title: "Description", Text: globalDescription},
			{Title: "Global options", Flags: c.global},
			{Title: "Commands", Subs: cmds},
			{Title: "See also", Text: "flotad(8)"},
		},
	}.Write(w)
}
