package unit

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// expandSpecifiers resolves the unit-name specifiers fleet supported in
// [X-Fleet] values, for the unit called name:
//
//	%n  the full name        foo@bar.baz.service
//	%N  the name without type foo@bar.baz
//	%p  the prefix           foo
//	%i  the instance         bar.baz (empty for a template)
//	%%  a literal '%'
//
// fleet replaced them one after the other with strings.Replace, so "%%i" or
// a prefix containing "%i" came out wrong; a single left-to-right pass does
// not have that problem. Any other specifier is an error rather than text
// left in place, because a requirement such as MachineOf=db@%I.service would
// otherwise silently never match.
func expandSpecifiers(value, name string) (string, error) {
	if !strings.Contains(value, "%") {
		return value, nil
	}
	p := splitName(name)
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(value) {
			return "", fmt.Errorf("incomplete specifier %q at end of value", "%")
		}
		switch value[i+1] {
		case 'n':
			b.WriteString(name)
		case 'N':
			b.WriteString(p.stem)
		case 'p':
			b.WriteString(p.prefix)
		case 'i':
			b.WriteString(p.instance)
		case '%':
			b.WriteByte('%')
		default:
			_, size := utf8.DecodeRuneInString(value[i+1:])
			return "", fmt.Errorf("unknown specifier %q", value[i:i+1+size])
		}
		i++
	}
	return b.String(), nil
}

// usesInstance reports whether value has a %i specifier (a "%%i" is a
// literal '%' and an 'i').
func usesInstance(value string) bool {
	for i := 0; i+1 < len(value); i++ {
		if value[i] == '%' {
			if value[i+1] == 'i' {
				return true
			}
			i++ // skip the specifier's letter, so "%%i" is no %i
		}
	}
	return false
}
