package task

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/unit"
)

// PlanInput is what Plan needs to know about a Task.
type PlanInput struct {
	Unit      string               // the unit's name, e.g. "web@3.service" (not a template)
	Options   []*sdunit.UnitOption // the unit's options, as submitted
	Container *unit.Container      // its [X-Container] section, for this name
	Snapshot  string               // host path of the Task's writable snapshot: the container's root
	Volumes   map[string]string    // host path of each of Container.Volumes, by volume name
	Nspawn    string               // host path of this machine's systemd-nspawn
}

// Spec is what a Task needs, as data: the agent writes Options for
// systemd, and hands Mounts and DiskQuota to the volume and resource
// managers.
type Spec struct {
	Unit string
	// Machine is the container's name (systemd-nspawn --machine=, and its
	// hostname): see MachineName.
	Machine string
	// Options are the unit's options with [Service]'s ExecStart= replaced
	// by systemd-nspawn's command line and KillMode=mixed, Delegate=yes
	// after it; everything else is kept, in order. The slice and the
	// options are new: the input is not changed.
	Options []*sdunit.UnitOption
	// Mounts are the volumes bound into the container, in the order of the
	// unit file (the order systemd-nspawn mounts them in).
	Mounts []Mount
	// DiskQuota caps the snapshot, in bytes; 0 means no cap.
	DiskQuota uint64
}

// Mount is a volume bound into a container.
type Mount struct {
	Volume   string // the volume's name
	Source   string // its host path
	Target   string // the path in the container
	ReadOnly bool
}

// Plan translates a container unit into what systemd must run. The
// [Service] section's ExecStart= (the one in force) becomes
//
//	<nspawn> --quiet --keep-unit --register=yes --directory=<snapshot>
//	  --machine=<name> <mode> [--notify-ready=yes] [--private-network]
//	  [--private-users=pick --private-users-ownership=map]
//	  [--bind=<host>:<path>[:idmap] | --bind-ro=<host>:<path>[:idmap]]...
//	  [-- <command>]
//
// where <mode> is --boot for Boot=yes and --kill-signal=SIGTERM otherwise:
// the command runs as the container's PID 1, and stopping the unit sends
// it SIGTERM (without --kill-signal=, systemd-nspawn SIGKILLs a command
// that is not a booted init, leaving it no chance to shut down cleanly).
// --as-pid2 is not used: its stub init (systemd 252) does not pass SIGTERM
// on to the command, so every stop would wait for TimeoutStopSec= and end
// in SIGKILL. The price: as PID 1, the command gets SIGTERM only if it
// handles it, and reaps the orphans in its container; an image whose
// program cannot do that runs it under a small init (tini, dumb-init) or
// boots its own init with Boot=yes. --notify-ready=yes is added for
// Type=notify: the unit is then ready when the command, or the booted
// init, says READY=1, rather than when the container starts.
//
// --register=yes with --keep-unit registers the unit's own service with
// systemd-machined under the container's name (MachineName), so that
// machinectl list and status show it, and flotactl exec finds its leader
// there; the registration ends with the unit.
//
// The command's words are written back as they were written, so that
// systemd reads quotes, escapes, specifiers and $VARIABLES in them as it
// would have; the "-" and ":" prefixes move to the front of the line (so
// "-" ignores the exit status of systemd-nspawn, which is the command's).
// The words Plan adds are quoted for systemd, with '%' (and '$', unless
// the ":" prefix turns variables off) doubled so that systemd passes them
// on unchanged.
//
// KillMode= and Delegate= lines are dropped, and KillMode=mixed (the mode
// systemd-nspawn's documentation asks for) and Delegate=yes follow the new
// ExecStart=. Everything else is kept: the resource limits of [Service]
// limit the container, since systemd-nspawn runs in the unit's cgroup;
// (a container unit has no other Exec*=: unit.ValidateContainer refuses
// them); [X-Fleet] and [X-Container], which systemd ignores, stay for
// `systemctl cat` to show where the unit came from.
//
// PrivateUsers=yes gives the container a user namespace of its own:
// --private-users=pick takes a free range of 65,536 host UIDs for it, and
// --private-users-ownership=map mounts the task snapshot, and each volume
// (":idmap"), idmapped to that range, so nothing is chowned: the files stay
// owned by the host's root, and what the container's root writes in a
// volume is owned by the host's root too.
//
// Plan checks the unit by unit.ValidateContainer (so a Container made by
// hand obeys the rules Parse enforces), and that every path it is given is
// absolute and clean and every volume has a host path.
func Plan(in PlanInput) (Spec, error) {
	if err := unit.ValidateContainer(in.Unit, in.Container, in.Options); err != nil {
		return Spec{}, err
	}
	c := in.Container
	fail := func(format string, args ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("task: plan for %s: %s", in.Unit, fmt.Sprintf(format, args...))
	}
	if err := checkHostPath(in.Nspawn); err != nil {
		return fail("systemd-nspawn: %v", err)
	}
	if err := checkHostPath(in.Snapshot); err != nil {
		return fail("snapshot: %v", err)
	}
	if in.Snapshot == "/" {
		return fail("snapshot: the host's root cannot be a container's root")
	}

	mounts := make([]Mount, 0, len(c.Volumes))
	needed := map[string]bool{}
	for _, v := range c.Volumes {
		src, ok := in.Volumes[v.Name]
		if !ok {
			return fail("no host path for volume %q", v.Name)
		}
		if err := checkHostPath(src); err != nil {
			return fail("volume %q: %v", v.Name, err)
		}
		needed[v.Name] = true
		mounts = append(mounts, Mount{Volume: v.Name, Source: src, Target: v.Path, ReadOnly: v.ReadOnly})
	}
	for _, name := range slices.Sorted(maps.Keys(in.Volumes)) {
		if !needed[name] {
			return fail("host path given for volume %q, which the unit does not have", name)
		}
	}

	// The options in force, read as systemd reads them: the last Type=,
	// the ExecStart= after the last reset.
	exec, lastService := -1, -1
	notify := false
	for i, o := range in.Options {
		if o == nil || o.Section != "Service" {
			continue
		}
		lastService = i
		switch o.Name {
		case "ExecStart":
			exec = i
			if strings.TrimSpace(o.Value) == "" {
				exec = -1
			}
		case "Type":
			notify = strings.TrimSpace(o.Value) == "notify"
		}
	}

	var cmd unit.Command
	if !c.Boot {
		var err error
		if cmd, err = unit.ParseCommand(in.Options[exec].Value); err != nil {
			return fail("ExecStart=: %v", err) // ValidateContainer checked it
		}
	}
	noEnv := cmd.NoEnvExpand()
	machine := MachineName(in.Unit)
	args := []string{in.Nspawn, "--quiet", "--keep-unit", "--register=yes",
		"--directory=" + in.Snapshot, "--machine=" + machine}
	if c.Boot {
		args = append(args, "--boot")
	} else {
		args = append(args, "--kill-signal=SIGTERM")
	}
	if notify {
		args = append(args, "--notify-ready=yes")
	}
	if c.Network == unit.NetworkPrivate {
		args = append(args, "--private-network")
	}
	idmap := ""
	if c.PrivateUsers {
		args = append(args, "--private-users=pick", "--private-users-ownership=map")
		idmap = ":idmap"
	}
	for _, m := range mounts {
		flag := "--bind="
		if m.ReadOnly {
			flag = "--bind-ro="
		}
		args = append(args, flag+m.Source+":"+m.Target+idmap)
	}
	words := make([]string, 0, len(args)+1+len(cmd.Words))
	for _, a := range args {
		words = append(words, ExecWord(a, noEnv))
	}
	if !c.Boot {
		words = append(words, "--")
		words = append(words, cmd.Words...)
	}
	execStart := cmd.Prefix + strings.Join(words, " ")

	added := []*sdunit.UnitOption{
		sdunit.NewUnitOption("Service", "ExecStart", execStart),
		sdunit.NewUnitOption("Service", "KillMode", "mixed"),
		sdunit.NewUnitOption("Service", "Delegate", "yes"),
	}
	at := exec // insert in place of the ExecStart= in force...
	if c.Boot {
		at = lastService // ...or after [Service]'s last option, or at the end
	}
	opts := make([]*sdunit.UnitOption, 0, len(in.Options)+len(added))
	for i, o := range in.Options {
		if o == nil {
			continue
		}
		if o.Section == "Service" && (o.Name == "ExecStart" || o.Name == "KillMode" || o.Name == "Delegate") {
			if i == at {
				opts = append(opts, added...)
			}
			continue
		}
		opts = append(opts, sdunit.NewUnitOption(o.Section, o.Name, o.Value))
		if i == at {
			opts = append(opts, added...)
		}
	}
	if at < 0 {
		opts = append(opts, added...)
	}
	return Spec{Unit: in.Unit, Machine: machine, Options: opts, Mounts: mounts, DiskQuota: c.DiskQuota}, nil
}

// checkHostPath checks a path Plan puts on the command line: absolute,
// clean, and without what systemd-nspawn's --bind= reads specially (':'
// and '\') or control characters.
func checkHostPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case !path.IsAbs(p):
		return fmt.Errorf("path %q is not absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean", p)
	}
	for _, r := range p {
		if r == ':' || r == '\\' || r < ' ' || r == 0x7f {
			return fmt.Errorf("path %q contains %q", p, r)
		}
	}
	return nil
}

// maxMachineName is systemd's limit on a machine name (a hostname).
const maxMachineName = 64

// MachineName is the container's name for a unit: a valid hostname, as
// systemd-nspawn wants, made of the unit's name without ".service", with
// every character other than a letter, digit or '-' turned into '-'
// ("web@3.service" gives "web-3-…"). When that changes the name, or it is
// too long, "-" and 8 hex digits of the SHA-256 of the unit's name follow,
// so that two units never share a name ("web@3" and "web-3" do not).
func MachineName(unitName string) string {
	stem := strings.TrimSuffix(unitName, ".service")
	b := []byte(stem)
	changed := false
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			b[i] = '-'
			changed = true
		}
	}
	if !changed && len(b) <= maxMachineName {
		return string(b)
	}
	sum := sha256.Sum256([]byte(unitName))
	suffix := "-" + hex.EncodeToString(sum[:4])
	if len(b) > maxMachineName-len(suffix) {
		b = b[:maxMachineName-len(suffix)]
	}
	return string(b) + suffix
}

// ExecWord quotes s as one word of an ExecStart= line so that systemd
// passes exactly s to the program: '%' is doubled (systemd resolves
// specifiers first), and so is '$' unless noEnv (the line has the ":"
// prefix, which turns variable expansion off); a word with anything but
// letters, digits and "/._-+=:,@%$" is put in double quotes, with '\',
// '"' and control characters escaped.
func ExecWord(s string, noEnv bool) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if !noEnv {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%$") == "" {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < ' ' || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
