// Package ctl is flotactl, the command line of flota: fleetctl's commands,
// flags and output, over flota's registry (etcd) and without fleet's bugs.
//
// Commands: submit, load, start, stop, restart, unload and destroy change
// units; list-units, list-unit-files, list-machines and cat show the
// cluster; help and version need no cluster. FLEETCTL.md (in the project's
// shared documents) is the compatibility reference; what flotactl does
// differently is said in each command's help.
//
// Conventions:
//   - Main is the whole program: it parses the global options (a pflag
//     FlagSet; FLOTACTL_<NAME>, then FLEETCTL_<NAME>, fill what the command
//     line did not set), then the command's own FlagSet (which accepts the
//     global options too), and returns the exit code: 0 success, 1 failure,
//     2 usage error, 130 interrupted. Nothing is global: each invocation
//     builds its command table and writes only to the writers it is given.
//   - One command per file, each building its *command with its options in
//     variables its run function closes over.
//   - Every etcd request goes through request, under --request-timeout,
//     and is logged with --debug. Commands that wait read the status once and
//     then again only when registry.WatchStatus reports a change: nothing
//     polls.
//   - Unit arguments are normalized with unit.Normalize and validated before
//     anything is written; unit files are parsed before anything is written.
//     A command on several units acts on those that are there and names
//     each of the others on stderr as it finds it (leftOut), exiting 1; a
//     bad name, a template where none can be, or a bad file stops it first.
//   - stdout carries fleetctl's results ("Unit X launched on ..."), stderr
//     warnings, progress notes and errors.
package ctl
