// Package e2e holds the end-to-end tests: flota on a real cluster of
// systemd-nspawn machines (harness/cluster), each with its own systemd,
// D-Bus, machine ID and network namespace on the harness bridge, and a
// flotad on the host running the embedded etcd and an engine. Tests talk to
// loopback and to the harness's machines only.
//
// They need root, systemd-nspawn, btrfs and loop devices. Without them they
// skip and say why, except under CI=true, where a skip is a failure: CI must
// run them.
package e2e
