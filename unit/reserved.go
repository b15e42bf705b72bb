package unit

import "strings"

// reserved says why a name belongs to the machine rather than to the
// cluster, "" when it does not. A unit so named, written and linked by an
// Agent, would replace (runtime links beat vendor files) or, destroyed,
// stop what every machine runs flota on: its own Agent, systemd's own
// units, the bus the Agent reaches systemd over, and the units systemd
// gives fixed meanings (systemd.special(7)). fleet accepted all of them.
// Names a machine merely has on disk are refused there by its Agent, not
// here: they differ from machine to machine.
func reserved(name string) string {
	p := splitName(name)
	switch {
	case p.prefix == "flotad":
		return "flota's own agent on every machine"
	case strings.HasPrefix(p.prefix, "systemd-"):
		return "systemd's own units are named systemd-*"
	case p.prefix == "dbus" || p.prefix == "dbus-broker":
		return "the system bus, which flota reaches systemd over"
	case specialUnits[name]:
		return "one of systemd's special units (systemd.special(7))"
	}
	return ""
}

// specialUnits are the system manager's units of systemd.special(7) (of
// systemd 252, Debian's) that a unit file could be named.
var specialUnits = map[string]bool{
	"-.mount": true, "-.slice": true, "init.scope": true, "system.slice": true, "user.slice": true, "machine.slice": true,
	"basic.target": true, "blockdev@.target": true, "bluetooth.target": true, "boot-complete.target": true,
	"cryptsetup-pre.target": true, "cryptsetup.target": true, "ctrl-alt-del.target": true, "default.target": true,
	"emergency.target": true, "exit.target": true, "factory-reset.target": true, "final.target": true,
	"first-boot-complete.target": true, "getty.target": true, "getty-pre.target": true, "graphical.target": true,
	"halt.target": true, "hibernate.target": true, "hybrid-sleep.target": true, "initrd.target": true,
	"initrd-fs.target": true, "initrd-root-device.target": true, "initrd-root-fs.target": true,
	"initrd-usr-fs.target": true, "integritysetup-pre.target": true, "integritysetup.target": true,
	"kbrequest.target": true, "kexec.target": true, "local-fs-pre.target": true, "local-fs.target": true,
	"multi-user.target": true, "network.target": true, "network-online.target": true, "network-pre.target": true,
	"nss-lookup.target": true, "nss-user-lookup.target": true, "paths.target": true, "poweroff.target": true,
	"printer.target": true, "reboot.target": true, "remote-cryptsetup.target": true, "remote-fs-pre.target": true,
	"remote-fs.target": true, "remote-veritysetup.target": true, "rescue.target": true, "rpcbind.target": true,
	"shutdown.target": true, "sigpwr.target": true, "sleep.target": true, "slices.target": true,
	"smartcard.target": true, "sockets.target": true, "soft-reboot.target": true, "sound.target": true,
	"suspend.target": true, "suspend-then-hibernate.target": true, "swap.target": true, "sysinit.target": true,
	"syslog.socket": true, "system-update.target": true, "system-update-pre.target": true, "time-set.target": true,
	"time-sync.target": true, "timers.target": true, "umount.target": true, "usb-gadget.target": true,
	"veritysetup-pre.target": true, "veritysetup.target": true, "display-manager.service": true,
}
