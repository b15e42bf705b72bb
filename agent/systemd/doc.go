// Package systemd is the Agent's port to this machine's systemd: Conn
// implements agent.Systemd over go-systemd's D-Bus client, and keeps the
// Agent's unit files in a directory of their own (/run/flota/units by
// default, as fleet kept /run/fleet/units), linked into systemd's search
// path for the runtime only, so that the files in that directory are
// exactly the Agent's units, also after a restart.
//
// State changes come from systemd's PropertiesChanged signals, never from
// polling ListUnits (go-systemd's SubscribeUnits polls): units that do
// nothing cost the Agent nothing.
//
// For a test machine, the bus and the directory can be another machine's:
// Connect to its bus address and set Config.Root to the host path of its
// root (/proc/PID/root), so files are written where its systemd sees them.
package systemd
