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
//
// One process holds a thousand machines well on a loaded 2-core box; at
// 5,000 the agents' own goroutines kept its gRPC transport waiting to run
// for seconds, and keep-alive answers etcd had sent in time reached the
// fuses too late. flota-scale therefore runs several flota-sim processes,
// each a share of one fleet (Config.First), driven through Control.
package sim
