// Package systemdtest holds the test doubles of agent.Systemd: Fake, a
// faithful in-memory model of systemd and the Agent's unit directory, and
// Run, the contract suite that the Fake and the real systemd.Conn must both
// pass, so that tests of the Agent against the Fake say something about
// the Agent against systemd.
package systemdtest
