// Package sim runs simulated machines: thousands of flota machines in one
// process, for the scale runs of issue 11 and for trying flotactl against
// a cluster larger than the box.
//
// A simulated machine is the real agent (package agent: registration under
// its own lease, its own watch on its own placements prefix, reconcile,
// apply, state publishing, the fence) driving systemdtest.Fake instead of
// systemd over D-Bus; the Fake's Options give its units a start delay and
// make the ones a glob names fail. So what a scale run measures is flota,
// not a mock: only systemd is simulated.
//
// The machines share a few registry clients (one gRPC connection each):
// etcd's client multiplexes every lease's keep-alives onto one stream, and
// every watch onto another, so 5,000 machines cost a few connections.
package sim
