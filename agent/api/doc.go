// Package api is the Agent's small HTTP API, through which flotactl reads
// what only the Machine knows: `systemctl status` of a Unit placed there and
// its journal. It runs systemctl and journalctl on the Machine, for Units
// placed on it only, with names checked by unit.ValidateName, and streams
// their output; the command's exit status travels in the X-Flota-Exit
// trailer so flotactl can exit with it.
//
//	GET /v1/units/{unit}/status
//	GET /v1/units/{unit}/journal?lines=10&output=short&follow=1
package api
