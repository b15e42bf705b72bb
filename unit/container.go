package unit

import (
	"fmt"
	"maps"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// A unit opts in to run as a container with an [X-Container] section:
//
//	[Service]
//	ExecStart=/usr/bin/web --port 8080
//	MemoryMax=2G
//
//	[X-Container]
//	Image=app-web:3
//	Volume=web-data-%i:/var/lib/web
//	Volume=certs:/etc/ssl/private:ro
//	DiskQuota=10G
//	Network=host
//
// The agent then runs [Service]'s ExecStart= inside systemd-nspawn, on a
// writable BTRFS snapshot of the image, in the unit's own cgroup (so the
// unit's MemoryMax=, CPUQuota= and the like limit the container).
//
// Unlike [X-Fleet], where fleet ignored what it did not know, every key and
// value here must be understood: a machine cannot run a container it does
// not understand, and a unit that is accepted only to fail on a machine
// later is worse than a refusal at submit time. The rules, each an *Error
// naming the line at fault:
//
//   - Image=NAME:TAG, required, once. NAME is [a-z0-9][a-z0-9._-]*, TAG is
//     [A-Za-z0-9_][A-Za-z0-9._-]* (no implicit "latest": what runs is what
//     was written). Each at most 128 characters.
//   - Volume=NAME:/path/in/container[:ro|:rw], repeatable, in order. NAME is
//     [a-z0-9][a-z0-9_-]* (at most 128 characters); the path is absolute and
//     clean (no "..", ".", "//" or trailing "/"), is not "/" nor under
//     /proc, /sys or /dev, contains no ':', '\', blank or control character,
//     and is the mount point of one volume only. Specifiers %n %N %p %i %%
//     are resolved for the unit's name in NAME and path (see Volume).
//   - DiskQuota=SIZE, at most once: bytes, with an optional K, M, G or T
//     suffix (powers of 1024, as systemd's MemoryMax=), greater than 0.
//   - Boot=yes|no, at most once, default no (systemd's booleans). no: the
//     container runs [Service]'s one ExecStart=. yes: it boots the image's
//     own init, and ExecStart= must be absent.
//   - Network=host|private, at most once, default host. private: the
//     container has its own network namespace with only a loopback device.
//   - PrivateUsers=yes|no, at most once, default no. yes: the container
//     runs in a user namespace of its own (systemd-nspawn
//     --private-users=pick), its root an unprivileged UID range of the
//     host's; the image and volumes are mapped to it, not rewritten
//     (idmapped mounts).
//   - Any other key is an error naming it.
//
// And for the unit as a whole:
//
//   - it is a .service;
//   - Type= is unset, simple, exec or notify (notify: the unit is ready
//     when the container says so);
//   - with Boot=no there is exactly one ExecStart= in force (an empty
//     ExecStart= resets the list, as in systemd); it is one command (no ";"
//     separator) and its prefixes are at most "-" and ":" (see Command);
//   - every Exec*= but ExecStart= is refused (ExecStartPre=,
//     ExecStartPost=, ExecCondition=, ExecReload=, ExecStop=,
//     ExecStopPost=): systemd would run it on the host, as root, outside
//     the container, where a unit that names an image means the
//     container; stopping the container is systemd-nspawn's job. One rule
//     for all of them, so no hook of a container unit touches its machine
//     (they were allowed before, and ran on the host);
//   - User=, Group=, DynamicUser=yes, RootDirectory= and RootImage= are
//     refused: they would apply to systemd-nspawn itself, which must run as
//     root on the host's root;
//   - KillMode=, if set, is mixed and Delegate=, if set, is true: that is
//     what the agent writes anyway (see agent/task).

const (
	containerSection = "X-Container"
	serviceSection   = "Service"
	maxRefLen        = 128
)

// Container is a unit's [X-Container] section, checked. File.Container is
// nil when a unit has no such section.
type Container struct {
	Image     Image
	Volumes   []Volume // in the order of the file
	DiskQuota uint64   // bytes; 0 when unset (no quota)
	Boot      bool     // boot the image's init instead of running ExecStart=
	Network   Network  // NetworkHost unless set
	// PrivateUsers runs the container in a user namespace of its own.
	PrivateUsers bool
}

// Image names an image by name and tag, as in "app-web:3".
type Image struct {
	Name string
	Tag  string
}

func (i Image) String() string { return i.Name + ":" + i.Tag }

// Volume is a named volume mounted in the container. For a unit that runs
// (a plain unit or an instance), specifiers are resolved for the unit's
// name. For a template, Name and Path are kept as written, specifiers
// included: a template never runs, each instance resolves them for its own
// name (File.ForName, ParseContainer); they are checked as they would be
// for an instance.
type Volume struct {
	Name     string // e.g. "web-data-3"
	Path     string // absolute path in the container, e.g. "/var/lib/web"
	ReadOnly bool
}

// Network is the container's network.
type Network string

const (
	NetworkHost    Network = "host"    // the host's network namespace
	NetworkPrivate Network = "private" // its own namespace, with only loopback
)

var (
	imageNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	imageTagRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)
	volumeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// containerKeys are the keys of [X-Container], in the order the error
// about an unknown key lists them.
var containerKeys = []string{"Image", "Volume", "DiskQuota", "Boot", "Network", "PrivateUsers"}

// ParseContainer reads the [X-Container] section among opts for the unit
// called name and checks the unit can run as a container: the agent calls
// it on the options it gets from the registry. It returns nil, nil when
// there is no such section. Errors carry no line, as there is no text.
func ParseContainer(name string, opts []*sdunit.UnitOption) (*Container, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return parseContainer(name, opts, nil)
}

// ValidateContainer checks c, however it was made, for the unit called
// name with options opts, by the rules above; opts are those of the unit
// (its [X-Container] section, if any, is not read again). name is a unit
// that runs: a template's Container keeps its specifiers and is checked by
// Parse only.
func ValidateContainer(name string, c *Container, opts []*sdunit.UnitOption) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if IsTemplate(name) {
		return unitError(name, 0, "a template does not run; its instances do")
	}
	if c == nil {
		return unitError(name, 0, "no [X-Container] section")
	}
	if err := checkImage(c.Image.String()); err != nil {
		return unitError(name, 0, "invalid Image %q: %v", c.Image.String(), err)
	}
	if c.Network != NetworkHost && c.Network != NetworkPrivate {
		return unitError(name, 0, "invalid Network %q: want host or private", c.Network)
	}
	targets := map[string]string{}
	for _, v := range c.Volumes {
		if err := checkVolume(name, v, targets); err != nil {
			return unitError(name, 0, "invalid Volume %q: %v", volumeString(v), err)
		}
	}
	return checkService(name, c, opts, nil, 0)
}

func volumeString(v Volume) string {
	s := v.Name + ":" + v.Path
	if v.ReadOnly {
		s += ":ro"
	}
	return s
}

// containerBuilder accumulates the section option by option.
type containerBuilder struct {
	name    string
	c       Container
	seen    map[string]int    // line of each single-valued key already given
	targets map[string]string // mount point -> the Volume value that has it
}

func parseContainer(name string, opts []*sdunit.UnitOption, lines []int) (*Container, error) {
	b := &containerBuilder{
		name:    name,
		c:       Container{Network: NetworkHost},
		seen:    map[string]int{},
		targets: map[string]string{},
	}
	first, found := 0, false
	for i, o := range opts {
		if o == nil || o.Section != containerSection {
			continue
		}
		line := lineAt(lines, i)
		if !found {
			first, found = line, true
		}
		if err := b.add(o.Name, o.Value, line); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, nil
	}
	if _, ok := b.seen["Image"]; !ok {
		return nil, unitError(name, first, "Image= is required in [%s]", containerSection)
	}
	if err := checkService(name, &b.c, opts, lines, first); err != nil {
		return nil, err
	}
	return &b.c, nil
}

func (b *containerBuilder) add(key, value string, line int) error {
	value = strings.TrimSpace(strings.ReplaceAll(value, "\\\n", " "))
	switch key {
	case "Image", "DiskQuota", "Boot", "Network", "PrivateUsers":
		if at, ok := b.seen[key]; ok {
			if at > 0 {
				return unitError(b.name, line, "%s= given twice in [%s] (first on line %d)", key, containerSection, at)
			}
			return unitError(b.name, line, "%s= given twice in [%s]", key, containerSection)
		}
		b.seen[key] = line
	}
	switch key {
	case "Image":
		if err := checkImage(value); err != nil {
			return unitError(b.name, line, "invalid Image %q: %v", value, err)
		}
		n, t, _ := strings.Cut(value, ":")
		b.c.Image = Image{Name: n, Tag: t}
	case "Volume":
		v, err := b.volume(value)
		if err != nil {
			return unitError(b.name, line, "invalid Volume %q: %v", value, err)
		}
		b.c.Volumes = append(b.c.Volumes, v)
	case "DiskQuota":
		n, err := parseSize(value)
		if err != nil {
			return unitError(b.name, line, "invalid DiskQuota %q: %v", value, err)
		}
		b.c.DiskQuota = n
	case "Boot":
		v, ok := parseBool(value)
		if !ok {
			return unitError(b.name, line, "invalid Boot %q: want yes or no", value)
		}
		b.c.Boot = v
	case "PrivateUsers":
		v, ok := parseBool(value)
		if !ok {
			return unitError(b.name, line, "invalid PrivateUsers %q: want yes or no", value)
		}
		b.c.PrivateUsers = v
	case "Network":
		switch Network(value) {
		case NetworkHost, NetworkPrivate:
			b.c.Network = Network(value)
		default:
			return unitError(b.name, line, "invalid Network %q: want host or private", value)
		}
	default:
		return unitError(b.name, line, "unknown key %q in [%s] (known: %s)", key, containerSection, strings.Join(containerKeys, ", "))
	}
	return nil
}

// volume reads NAME:/path[:ro|:rw]. The value is split before specifiers
// are resolved, so that a ':' a specifier brings in is part of a name or
// path (and refused there), never a separator.
func (b *containerBuilder) volume(value string) (Volume, error) {
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Volume{}, fmt.Errorf("want NAME:/path/in/container[:ro]")
	}
	v := Volume{Name: parts[0], Path: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return Volume{}, fmt.Errorf("unknown mode %q: want ro or rw", parts[2])
		}
	}
	// A template keeps its values as written but is checked as an instance
	// would be, with a stand-in instance.
	resolveAs := b.name
	if IsTemplate(b.name) {
		p := splitName(b.name)
		resolveAs = p.prefix + "@0." + p.suffix
	}
	resolved := v
	var err error
	if resolved.Name, err = expandSpecifiers(v.Name, resolveAs); err != nil {
		return Volume{}, err
	}
	if resolved.Path, err = expandSpecifiers(v.Path, resolveAs); err != nil {
		return Volume{}, err
	}
	if err := checkVolume(b.name, resolved, b.targets); err != nil {
		return Volume{}, err
	}
	if IsTemplate(b.name) {
		return v, nil
	}
	return resolved, nil
}

// checkVolume checks one resolved volume, and that its mount point is not
// one already in targets (which it then joins).
func checkVolume(unitName string, v Volume, targets map[string]string) error {
	switch {
	case v.Name == "":
		return fmt.Errorf("empty volume name")
	case len(v.Name) > maxRefLen:
		return fmt.Errorf("volume name longer than %d characters", maxRefLen)
	case !volumeNameRE.MatchString(v.Name):
		return fmt.Errorf("volume name %q: want lower-case letters, digits, '-' and '_', starting with a letter or digit", v.Name)
	}
	if err := CheckContainerPath(v.Path); err != nil {
		return err
	}
	if other, ok := targets[v.Path]; ok {
		return fmt.Errorf("%s is already the mount point of Volume %q", v.Path, other)
	}
	targets[v.Path] = volumeString(v)
	return nil
}

// CheckContainerPath checks a mount point in a container: absolute, clean,
// not "/" nor under /proc, /sys or /dev (systemd-nspawn mounts those), and
// free of what systemd-nspawn's --bind= and a unit file's command line
// would read specially (':', '\', blanks, control characters).
func CheckContainerPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if !path.IsAbs(p) {
		return fmt.Errorf("path %q is not absolute", p)
	}
	if path.Clean(p) != p {
		return fmt.Errorf("path %q is not clean (no \"..\", \".\", \"//\" or trailing \"/\")", p)
	}
	if p == "/" {
		return fmt.Errorf("cannot mount a volume on /")
	}
	for _, sys := range []string{"/proc", "/sys", "/dev"} {
		if p == sys || strings.HasPrefix(p, sys+"/") {
			return fmt.Errorf("cannot mount a volume on %s: systemd-nspawn manages %s", p, sys)
		}
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("path %q is not valid UTF-8", p)
	}
	for _, r := range p {
		if r == ':' || r == '\\' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("path %q contains %q", p, r)
		}
	}
	return nil
}

func checkImage(s string) error {
	n, t, ok := strings.Cut(s, ":")
	switch {
	case s == "":
		return fmt.Errorf("empty image")
	case !ok:
		return fmt.Errorf("want NAME:TAG")
	case len(n) > maxRefLen || len(t) > maxRefLen:
		return fmt.Errorf("name and tag are at most %d characters each", maxRefLen)
	case !imageNameRE.MatchString(n):
		return fmt.Errorf("name %q: want lower-case letters, digits, '.', '-' and '_', starting with a letter or digit", n)
	case !imageTagRE.MatchString(t):
		return fmt.Errorf("tag %q: want letters, digits, '.', '-' and '_', not starting with '.' or '-'", t)
	}
	return nil
}

// parseSize reads a positive number of bytes with an optional K, M, G or T
// suffix (powers of 1024).
func parseSize(s string) (uint64, error) {
	mult := uint64(1)
	digits := s
	if s != "" {
		if i := strings.IndexByte("KMGT", s[len(s)-1]); i >= 0 {
			mult = 1 << (10 * (i + 1))
			digits = s[:len(s)-1]
		}
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("want a number of bytes with an optional K, M, G or T suffix")
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > math.MaxUint64/mult {
		return 0, fmt.Errorf("too large")
	}
	if n == 0 {
		return 0, fmt.Errorf("must be greater than 0")
	}
	return n * mult, nil
}

// parseBool reads systemd's booleans.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on", "y", "t":
		return true, true
	case "no", "false", "0", "off", "n", "f":
		return false, true
	}
	return false, false
}

// refusedServiceKeys are [Service] options a container unit cannot have,
// and why.
var refusedServiceKeys = map[string]string{
	"ExecStop":      "it would run on the host, outside the container; stopping the container is systemd-nspawn's job",
	"ExecReload":    "it would run on the host, outside the container",
	"ExecStartPre":  "it would run on the host, outside the container; a container unit's one command is its ExecStart=, run inside it",
	"ExecStartPost": "it would run on the host, outside the container; a container unit's one command is its ExecStart=, run inside it",
	"ExecCondition": "it would run on the host, outside the container; a container unit's one command is its ExecStart=, run inside it",
	"ExecStopPost":  "it would run on the host, outside the container; stopping the container is systemd-nspawn's job",
	"User":          "it would apply to systemd-nspawn, which runs as root",
	"Group":         "it would apply to systemd-nspawn, which runs as root",
	"DynamicUser":   "it would apply to systemd-nspawn, which runs as root",
	"RootDirectory": "the container's root is its image",
	"RootImage":     "the container's root is its image",
}

// checkService applies the rules on the rest of the unit. first is the
// line to blame for what is missing (the section's first line).
func checkService(name string, c *Container, opts []*sdunit.UnitOption, lines []int, first int) error {
	if s := Suffix(name); s != "service" {
		return unitError(name, first, "[%s] is only for .service units, not .%s", containerSection, s)
	}
	// systemd reads the options in order, the last value of a key winning
	// and an empty one resetting it: only what is in force at the end
	// counts, and the first offending line is the one blamed.
	var execs []int          // indexes of the ExecStart= lines in force
	last := map[string]int{} // key -> index of its value in force
	for i, o := range opts {
		if o == nil || o.Section != serviceSection {
			continue
		}
		switch _, refused := refusedServiceKeys[o.Name]; {
		case o.Name == "ExecStart":
			if execValue(o) == "" {
				execs = execs[:0]
			} else {
				execs = append(execs, i)
			}
		case refused || o.Name == "Type" || o.Name == "KillMode" || o.Name == "Delegate":
			last[o.Name] = i
			if execValue(o) == "" {
				delete(last, o.Name)
			}
		}
	}
	inForce := slices.Sorted(maps.Values(last))
	for _, i := range inForce {
		o, line := opts[i], lineAt(lines, i)
		v := execValue(o)
		if why, ok := refusedServiceKeys[o.Name]; ok {
			if b, ok := parseBool(v); o.Name == "DynamicUser" && ok && !b {
				continue
			}
			return unitError(name, line, "%s= cannot be used in a container unit: %s", o.Name, why)
		}
		switch o.Name {
		case "Type":
			switch v {
			case "simple", "exec", "notify":
			default:
				return unitError(name, line, "Type=%s cannot be used in a container unit: want simple, exec or notify", v)
			}
		case "KillMode":
			if v != "mixed" {
				return unitError(name, line, "KillMode=%s cannot be used in a container unit: it runs with KillMode=mixed", v)
			}
		case "Delegate":
			if b, ok := parseBool(v); !ok || !b {
				return unitError(name, line, "Delegate=%s cannot be used in a container unit: it runs with Delegate=yes", v)
			}
		}
	}
	if c.Boot {
		if len(execs) > 0 {
			return unitError(name, lineAt(lines, execs[0]), "ExecStart= cannot be used with Boot=yes: the container runs its image's init")
		}
		return nil
	}
	switch len(execs) {
	case 0:
		return unitError(name, first, "a container unit needs one ExecStart= in [Service], or Boot=yes")
	case 1:
	default:
		return unitError(name, lineAt(lines, execs[1]), "a container unit runs one command: only one ExecStart= is allowed")
	}
	if _, err := ParseCommand(opts[execs[0]].Value); err != nil {
		return unitError(name, lineAt(lines, execs[0]), "invalid ExecStart=: %v", err)
	}
	return nil
}

// execValue is an option's value with continuations read as blanks.
func execValue(o *sdunit.UnitOption) string {
	return strings.TrimSpace(strings.ReplaceAll(o.Value, "\\\n", " "))
}

// Command is one ExecStart= command line split into words the way systemd
// splits it (quotes, C escapes, a lone ";" between commands), without
// resolving specifiers or environment variables, which systemd does when
// it reads and runs the line.
type Command struct {
	// Prefix is the executable's prefix as written: any of "-" (the exit
	// status is ignored) and ":" (no environment variable expansion).
	Prefix string
	// Words are the words as written, quotes, escapes, specifiers and
	// variables kept, the first without Prefix: written back after other
	// words on an ExecStart= line they mean to systemd what they meant.
	Words []string
	// Argv are the words after systemd's unquoting, the first without
	// Prefix; specifiers and variables are left as they are.
	Argv []string
}

// IgnoreFailure reports the "-" prefix.
func (c Command) IgnoreFailure() bool { return strings.Contains(c.Prefix, "-") }

// NoEnvExpand reports the ":" prefix.
func (c Command) NoEnvExpand() bool { return strings.Contains(c.Prefix, ":") }

// ParseCommand splits an ExecStart= value. It refuses what cannot run in a
// container or that systemd would refuse: more than one command, prefixes
// other than "-" and ":" ("@" needs argv[0] apart, "+", "!" and "|" change
// how the command is run on the host), a prefix inside quotes, unbalanced
// quotes and invalid escapes.
func ParseCommand(value string) (Command, error) {
	s := strings.ReplaceAll(value, "\\\n", " ") // a continuation is a blank
	var c Command
	for i := 0; ; {
		for i < len(s) && isExecBlank(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		rest := s[i:]
		if rest[0] == ';' && (len(rest) == 1 || isExecBlank(rest[1])) {
			return Command{}, fmt.Errorf("more than one command (separated by \";\"); a container runs one")
		}
		if strings.HasPrefix(rest, `\;`) && (len(rest) == 2 || isExecBlank(rest[2])) {
			c.Words = append(c.Words, `\;`)
			c.Argv = append(c.Argv, ";")
			i += 2
			continue
		}
		word, n, err := unquoteWord(rest)
		if err != nil {
			return Command{}, err
		}
		c.Words = append(c.Words, rest[:n])
		c.Argv = append(c.Argv, word)
		i += n
	}
	if len(c.Argv) == 0 {
		return Command{}, fmt.Errorf("empty command")
	}
	// Prefixes, read from the unquoted first word as systemd does.
	first := c.Argv[0]
	n := 0
	for ; n < len(first); n++ {
		p := first[n]
		if !strings.ContainsRune("-@:+!|", rune(p)) {
			break
		}
		if p != '-' && p != ':' {
			return Command{}, fmt.Errorf("prefix %q cannot be used in a container unit", string(p))
		}
		if strings.ContainsRune(first[:n], rune(p)) {
			break // systemd takes each prefix once; the rest is the path
		}
	}
	c.Prefix = first[:n]
	if n > 0 {
		if !strings.HasPrefix(c.Words[0], c.Prefix) {
			return Command{}, fmt.Errorf("prefix %q must come before any quote or escape", c.Prefix)
		}
		c.Words[0] = c.Words[0][n:]
		c.Argv[0] = first[n:]
		if c.Argv[0] == "" {
			return Command{}, fmt.Errorf("no command after prefix %q", c.Prefix)
		}
	}
	return c, nil
}

func isExecBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unquoteWord reads the word s starts with, as systemd's extract_first_word
// with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE: quotes open and close anywhere
// in a word, and a backslash starts a C escape inside quotes or not.
func unquoteWord(s string) (word string, n int, err error) {
	var b strings.Builder
	var quote byte
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
			i++
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
			i++
		case c == '\\':
			dec, m, err := unescape(s[i+1:])
			if err != nil {
				return "", 0, err
			}
			b.WriteString(dec)
			i += 1 + m
		case quote == 0 && isExecBlank(c):
			return b.String(), i, nil
		default:
			b.WriteByte(c)
			i++
		}
	}
	if quote != 0 {
		return "", 0, fmt.Errorf("unbalanced quote %q", string(quote))
	}
	return b.String(), i, nil
}

// unescape decodes the C escape s starts with (after its backslash), as
// systemd's cunescape_one, returning the text and the bytes it took.
func unescape(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("command ends in a backslash")
	}
	simple := map[byte]string{'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v",
		'\\': "\\", '"': "\"", '\'': "'", 's': " "}
	if d, ok := simple[s[0]]; ok {
		return d, 1, nil
	}
	number := func(digits, base int) (uint64, error) {
		if len(s) < 1+digits {
			return 0, fmt.Errorf("invalid escape %q", `\`+s)
		}
		v, err := strconv.ParseUint(s[1:1+digits], base, 32)
		if err != nil || v == 0 {
			return 0, fmt.Errorf("invalid escape %q", `\`+s[:1+digits])
		}
		return v, nil
	}
	switch s[0] {
	case 'x':
		v, err := number(2, 16)
		return string([]byte{byte(v)}), 3, err
	case 'u', 'U':
		digits := 4
		if s[0] == 'U' {
			digits = 8
		}
		v, err := number(digits, 16)
		if err == nil && (v > utf8.MaxRune || (v >= 0xd800 && v <= 0xdfff)) {
			err = fmt.Errorf("invalid escape %q", `\`+s[:1+digits])
		}
		return string(rune(v)), 1 + digits, err
	case '0', '1', '2', '3', '4', '5', '6', '7':
		if len(s) < 3 {
			return "", 0, fmt.Errorf("invalid escape %q", `\`+s)
		}
		v, err := strconv.ParseUint(s[:3], 8, 32)
		if err != nil || v == 0 || v > 255 {
			return "", 0, fmt.Errorf("invalid escape %q", `\`+s[:3])
		}
		return string([]byte{byte(v)}), 3, nil
	}
	_, size := utf8.DecodeRuneInString(s)
	return "", 0, fmt.Errorf("invalid escape %q", `\`+s[:size])
}
