package unit

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// maxNameLen is fleet's (and systemd's) limit on a unit name, in bytes.
const maxNameLen = 256

// unitTypes are the suffixes fleet accepted in a unit name.
var unitTypes = map[string]bool{
	"automount": true, "busname": true, "device": true, "mount": true,
	"path": true, "scope": true, "service": true, "slice": true,
	"snapshot": true, "socket": true, "swap": true, "target": true,
	"timer": true,
}

// templateTypes are the types systemd can instantiate from a template; a
// name with an '@' and another type could never be started by systemd.
var templateTypes = map[string]bool{
	"path": true, "service": true, "socket": true, "target": true, "timer": true,
}

// ValidateName checks name against fleet's rules, in fleet's order, so that
// a name fleet refused is refused here with the same message; then it
// refuses the names reserved to the machine itself (reserved.go), which
// fleet let a unit take.
func ValidateName(name string) error {
	if name == "" {
		return nameError(name, "unit name cannot be empty")
	}
	if len(name) > maxNameLen {
		return nameError(name, "unit name exceeds maximum length (%d)", maxNameLen)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return nameError(name, `unit name must contain "."`)
	}
	if dot == len(name)-1 {
		return nameError(name, `unit name cannot end in "."`)
	}
	stem, suffix := name[:dot], name[dot+1:]
	if !unitTypes[suffix] {
		return nameError(name, "invalid unit type: %q", suffix)
	}
	if strings.Contains(stem, "@") && !templateTypes[suffix] {
		return nameError(name, "invalid unit type for template: %q", suffix)
	}
	for _, c := range stem {
		if !validNameChar(c) {
			return nameError(name, "invalid character %q in unit name", c)
		}
	}
	if name[0] == '@' {
		return nameError(name, `unit name cannot start in "@"`)
	}
	// After fleet's rules, so what fleet refused is refused with its words.
	if why := reserved(name); why != "" {
		return nameError(name, "unit name is reserved: %s", why)
	}
	return nil
}

func validNameChar(c rune) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.ContainsRune(":_.@-\\", c)
}

// nameParts splits a name the way fleet did: the type after the last '.',
// the instance between the first '@' and that dot. A name without a dot
// has no type, template or instance, whatever it contains.
type nameParts struct {
	stem     string // the name without ".type"
	prefix   string // the stem up to the first '@'
	instance string // the stem after the first '@'
	suffix   string // the type
	at       bool   // the stem has an '@'
}

func splitName(name string) nameParts {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return nameParts{stem: name, prefix: name}
	}
	p := nameParts{stem: name[:dot], prefix: name[:dot], suffix: name[dot+1:]}
	if at := strings.IndexByte(p.stem, '@'); at >= 0 {
		p.prefix, p.instance, p.at = p.stem[:at], p.stem[at+1:], true
	}
	return p
}

// IsTemplate reports whether name is a template such as "foo@.service".
func IsTemplate(name string) bool {
	p := splitName(name)
	return p.at && p.instance == ""
}

// IsInstance reports whether name is a template instance such as
// "foo@3.service".
func IsInstance(name string) bool {
	p := splitName(name)
	return p.at && p.instance != ""
}

// TemplateOf returns the template an instance is made from:
// "foo@bar.baz.service" gives "foo@.service", true. Names that are not
// instances give "", false.
func TemplateOf(name string) (string, bool) {
	p := splitName(name)
	if !p.at || p.instance == "" {
		return "", false
	}
	return p.prefix + "@." + p.suffix, true
}

// Prefix returns the name up to the first '@', or without its type if it
// has no '@': "foo@bar.baz.service" and "foo.service" both give "foo".
func Prefix(name string) string { return splitName(name).prefix }

// InstanceOf returns the instance of name ("bar.baz" for
// "foo@bar.baz.service"), "" if it has none.
func InstanceOf(name string) string { return splitName(name).instance }

// Suffix returns the unit type, the text after the last '.' ("" if none).
func Suffix(name string) string { return splitName(name).suffix }

// Normalize turns a fleetctl command-line argument into a unit name the way
// fleetctl did: a path names the unit after its file, and an argument
// without a unit type is a service ("web" means "web.service"). fleetctl
// knew only seven of the types its name rules accepted, so "x.target" and
// "x.slice" named "x.target.service" and "x.slice.service": no .target or
// .slice unit could be named. Every type ValidateName accepts counts here.
func Normalize(arg string) string {
	base := path.Base(arg)
	if dot := strings.LastIndexByte(base, '.'); dot >= 0 && unitTypes[base[dot+1:]] {
		return base
	}
	return base + ".service"
}

// FileName returns the name of the unit a local file holds: the file's base
// name, which must be a unit name as it is. Normalize's ".service" is for
// naming units; a file called "web", "web." or "web.conf" holds no unit
// flota could name after it without making a name up, so it is refused
// with the rule.
func FileName(file string) (string, error) {
	base := path.Base(file)
	err := ValidateName(base)
	if err == nil {
		return base, nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return "", err
	}
	return "", &Error{Kind: ErrInvalidName,
		Msg: fmt.Sprintf("file %s is not named after a unit (%s): a unit file is named NAME.TYPE, with TYPE one of %s",
			file, e.Msg, strings.Join(slices.Sorted(maps.Keys(unitTypes)), " "))}
}
