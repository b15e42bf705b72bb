// Package clusterapi is flota's own HTTP API, beside fleet's v1
// (fleetapi), for what fleet lacked: the whole cluster in one document
// with reasons and notes as codes, dry-run plans with every machine's
// score, the endpoints of running units, and a stream of changes to
// follow them. Its documents are the ones flotactl prints with -o json
// (plan, endpoints), built here once for both.
//
// Routes, under /v1/:
//
//	GET /v1/status              every unit, machine, placement and state at one revision
//	                            (?form=registry: the registry's own Status, for flotactl)
//	GET /v1/files/HASH          a unit file's text
//	GET /v1/plan?unit=U...      flotactl plan U... -o json, for units of the cluster
//	GET /v1/endpoints[?glob=G]  where running units answer (flotactl endpoints)
//	GET /v1/events[?after=REV]  application/x-ndjson: {"revision":N} after each change
//	                            (then read what changed); a heartbeat {} every 25 s
//
// and, when the server has a Writer (EnableWrites), the writes, each as
// one registry call (one etcd transaction, as flotactl's):
//
//	POST /v1/units                {"desiredState":S,"units":[{"name":N,"file":TEXT}...]}
//	POST /v1/units/desired-state  {"desiredState":S,"units":[N...]}
//	POST /v1/units/destroy        {"units":[N...]}
package clusterapi
