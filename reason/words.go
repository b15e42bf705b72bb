package reason

import (
	"fmt"
	"strconv"
	"strings"
)

// String words u for an operator, as flotactl shows it: "no eligible
// machine among 3: Conflicts "web@*" filtered 2 machines; ...".
func (u Unplaced) String() string {
	switch u.Code {
	case "":
		return ""
	case NoMachines:
		return "no machines registered"
	case NoEligible:
		return u.filtered()
	case OnGoneMachine:
		rest := "no machines registered"
		if len(u.Filters) > 0 {
			rest = u.filtered()
		}
		return "placed on " + arg(u.Args, 0) + ", which is gone; " + rest
	case Template:
		return "a template is never placed: start an instance such as " + arg(u.Args, 0)
	case Invalid, Text:
		return arg(u.Args, 0)
	case ReplacesCycle:
		return "Replaces cycle: " + strings.Join(u.Args, " -> ")
	case StoppingElsewhere:
		return "waiting for its copy on " + arg(u.Args, 0) + ", which is being drained, to stop"
	}
	return string(u.Code) + " " + strings.Join(u.Args, " ") // a code newer than this flotactl
}

func (u Unplaced) filtered() string {
	parts := make([]string, len(u.Filters))
	for i, f := range u.Filters {
		parts[i] = f.String()
	}
	if !u.Counted() {
		return "no eligible machine: " + strings.Join(parts, "; ")
	}
	return fmt.Sprintf("no eligible machine among %d: %s", u.Machines(), strings.Join(parts, "; "))
}

// String words f: the rule, then how many machines it filtered, when
// counted.
func (f Filter) String() string {
	if f.Machines == 0 {
		return Refusal{Code: f.Code, Args: f.Args}.String()
	}
	return Refusal{Code: f.Code, Args: f.Args}.String() + " filtered " + strconv.Itoa(f.Machines) + " " + plural(f.Machines, "machine")
}

// String words the rule that refused a machine: `Conflicts "web@*"`.
func (r Refusal) String() string {
	a := r.Args
	switch r.Code {
	case "":
		return ""
	case MachineID:
		return `MachineID "` + arg(a, 0) + `"`
	case MachineMetadata:
		return `MachineMetadata "` + arg(a, 0) + `"`
	case Draining:
		return "draining"
	case NameTaken:
		return "name taken by the machine's own unit"
	case MachineOf:
		return `MachineOf "` + arg(a, 0) + `"`
	case MachineOfUnplaced:
		return `MachineOf "` + arg(a, 0) + `" (not placed)`
	case ReplacedBy:
		return "replaced by " + arg(a, 0)
	case Insufficient, ExceedsCapacity:
		why := "insufficient " + arg(a, 0) + " (" + Amount(arg(a, 0), arg(a, 1)) + " asked"
		if r.Code == ExceedsCapacity {
			why += ", more than the machine has"
		}
		return why + ")"
	case DistinctBy:
		return `DistinctBy "` + arg(a, 0) + `"`
	case DistinctByNoKey:
		return `DistinctBy "` + arg(a, 0) + `" (no ` + arg(a, 1) + `)`
	case MaxSkew:
		return `MaxSkew "` + arg(a, 0) + `"`
	case MaxSkewNoKey:
		return `MaxSkew "` + arg(a, 0) + `" (no ` + arg(a, 1) + `)`
	case Conflicts:
		return `Conflicts "` + arg(a, 0) + `"`
	case ConflictsOf:
		return `Conflicts "` + arg(a, 0) + `" of ` + arg(a, 1)
	}
	return string(r.Code) + " " + strings.Join(a, " ")
}

// Amount words an amount of a resource dimension: bytes for memory and
// disk ("512 MiB"), thousandths of a CPU for CPU ("1.5 CPUs").
func Amount(dim, n string) string {
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return n
	}
	if dim == "CPU" {
		return FormatCPUs(v)
	}
	return FormatBytes(v)
}

// FormatBytes words a size in binary units, to one decimal: "512 MiB",
// "1.5 GiB".
func FormatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	i, div := 0, uint64(1024)
	for i+1 < len(units) && n/div >= 1024 {
		i, div = i+1, div*1024
	}
	return trimZero(strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64)) + " " + units[i:i+1] + "iB"
}

// FormatCPUs words thousandths of a CPU: "1.5 CPUs", "1 CPU".
func FormatCPUs(milli uint64) string {
	s := strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
	if milli == 1000 {
		return s + " CPU"
	}
	return s + " CPUs"
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// arg is a[i], or "?" for a record missing it.
func arg(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return "?"
}
