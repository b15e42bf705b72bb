// Package manpage writes man pages in roff (man(7)) from what the
// commands define: their descriptions and their pflag flag sets, so that a
// page never says other than --help does. ctl and daemon describe
// flotactl and flotad with it; cmd/flota-man writes the files.
package manpage
