// Package machineapi is the wire of a Machine's agent API, which flotad
// serves on every machine and flotactl calls: its paths, the trailer that
// carries a command's exit status, and the framing of an exec stream. Both
// sides import it, so the CLI never reaches into the Agent's code.
//
// An exec (flotactl exec, shell) is an HTTP/1.1 upgrade: the client asks
// GET ExecPath(unit)?cmd=..&cmd=..[&tty=1&rows=R&cols=C] with
// "Connection: Upgrade" and "Upgrade: ExecProtocol"; the agent answers 101
// Switching Protocols and both sides then speak Frames on the connection:
// the client sends stdin, resizes and the end of its stdin; the agent
// sends stdout, stderr and, last, the exit status, or an error.
package machineapi
