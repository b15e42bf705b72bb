package volume

import (
	"fmt"
	"regexp"
)

// The rule of unit/container.go (volumeNameRE and maxRefLen there), which
// the unit package does not export; TestNamesAgreeWithUnit keeps the two
// in step.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

const maxNameLen = 128

// ValidateName checks a volume name: [a-z0-9][a-z0-9_-]*, at most 128
// characters. The error wraps ErrInvalid.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalid)
	case len(name) > maxNameLen:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalid, maxNameLen)
	case !nameRE.MatchString(name):
		return fmt.Errorf("%w %q: want lower-case letters, digits, '-' and '_', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}
