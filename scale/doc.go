// Package scale is flota-scale, the driver of `make scale` (issue 11): it
// starts one etcd (a flotad that runs only its embedded member), engines
// apart (flotads with --agent=false), and N simulated machines (package
// sim) in flota-sim processes of their own, a share each (fleet.go: in one
// process, the agents' goroutines delayed their own keep-alive answers past
// their fuses), submits a mix of M units, and measures what
// the issue asks, from outside the engine: submit → all placed → all
// active, engine passes (from the engine's own debug log), keys written
// per moved unit when machines die, etcd's DB size, the RSS of etcd and
// the engine, engine failover after a SIGKILL of the leader, and machine
// leases lost and fences raised while the machines were alive (must be
// 0), with how late their keep-alive answers came.
//
// Every process it starts is ended by its own PID, and its work directory
// is removed, when it returns.
package scale
