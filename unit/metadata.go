package unit

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MetadataOp is how a MachineMetadata= expression compares a machine's
// value of its key.
type MetadataOp string

const (
	MetaEq      MetadataOp = "="  // fleet's: the value is one of those given for the key
	MetaNe      MetadataOp = "!=" // the value is not this one, or the key is absent
	MetaGt      MetadataOp = ">"  // numeric; an absent or non-numeric value fails
	MetaGe      MetadataOp = ">="
	MetaLt      MetadataOp = "<"
	MetaLe      MetadataOp = "<="
	MetaMatch   MetadataOp = "=~" // the value matches the regular expression (RE2, unanchored)
	MetaNoMatch MetadataOp = "!~" // the value does not match, or the key is absent
	MetaPresent MetadataOp = "=*" // the key is present, whatever its value
	MetaAbsent  MetadataOp = "!=*"
)

// MetadataExpr is one MachineMetadata= expression other than fleet's k=v,
// which stays in Requirements.MachineMetadata (OR among one key's values).
// Every expression must hold (AND), with Nomad's semantics where it has
// them: "!=" holds on a machine without the key, comparisons and matches
// fail there.
type MetadataExpr struct {
	Key   string
	Op    MetadataOp
	Value string // as written; "" for =* and !=*

	num float64        // for the comparisons
	re  *regexp.Regexp // for =~ and !~
}

// String is the expression as written, e.g. "cpus>=4".
func (e MetadataExpr) String() string {
	switch e.Op {
	case MetaPresent:
		return e.Key + "=*"
	case MetaAbsent:
		return e.Key + "!=*"
	}
	return e.Key + string(e.Op) + e.Value
}

// Matches says whether a machine with metadata md satisfies e.
func (e MetadataExpr) Matches(md map[string]string) bool {
	v, ok := md[e.Key]
	switch e.Op {
	case MetaPresent:
		return ok
	case MetaAbsent:
		return !ok
	case MetaEq:
		return ok && v == e.Value
	case MetaNe:
		return !ok || v != e.Value
	case MetaMatch:
		return ok && e.re.MatchString(v)
	case MetaNoMatch:
		return !ok || !e.re.MatchString(v)
	}
	if !ok {
		return false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return false
	}
	switch e.Op {
	case MetaGt:
		return n > e.num
	case MetaGe:
		return n >= e.num
	case MetaLt:
		return n < e.num
	case MetaLe:
		return n <= e.num
	}
	return false
}

// metadataOps are tried in this order at the first operator character, so
// that the longer forms win ("!=*" before "!=", ">=" before ">").
var metadataOps = []MetadataOp{MetaAbsent, MetaNe, MetaNoMatch, MetaMatch, MetaGe, MetaLe, MetaPresent, MetaGt, MetaLt, MetaEq}

// ParseMetadataExpr reads one MachineMetadata= value: the key, then an
// operator at its first '=', '!', '<' or '>'. The rest is the operand: a
// number for the comparisons, a regular expression for =~ and !~, nothing
// for =* and !=*. fleet's k=v reads as before, but for two values that now
// mean an operator: "=*" (the key is present) and a value starting with "~".
func ParseMetadataExpr(s string) (MetadataExpr, error) {
	i := strings.IndexAny(s, "=!<>")
	if i < 0 {
		return MetadataExpr{}, errors.New("want key=value")
	}
	e := MetadataExpr{Key: strings.TrimSpace(s[:i])}
	if e.Key == "" {
		return MetadataExpr{}, errors.New("empty key")
	}
	rest := s[i:]
	for _, op := range metadataOps {
		if !strings.HasPrefix(rest, string(op)) {
			continue
		}
		operand := strings.TrimSpace(rest[len(op):])
		if (op == MetaPresent || op == MetaAbsent) && operand != "" {
			continue // "k=*x" is fleet's k = "*x"
		}
		e.Op, e.Value = op, operand
		break
	}
	switch e.Op {
	case "":
		return MetadataExpr{}, fmt.Errorf("no operator after key %q: want =, !=, >, >=, <, <=, =~, !~, =* or !=*", e.Key)
	case MetaPresent, MetaAbsent:
		return e, nil
	case MetaGt, MetaGe, MetaLt, MetaLe:
		n, err := strconv.ParseFloat(e.Value, 64)
		if err != nil {
			return MetadataExpr{}, fmt.Errorf("%s wants a number, not %q", e.Op, e.Value)
		}
		e.num = n
		return e, nil
	case MetaMatch, MetaNoMatch:
		re, err := regexp.Compile(e.Value)
		if err != nil {
			return MetadataExpr{}, fmt.Errorf("bad regular expression: %w", err)
		}
		e.re = re
	}
	if e.Value == "" && e.Op != MetaMatch && e.Op != MetaNoMatch {
		return MetadataExpr{}, errors.New("empty value")
	}
	return e, nil
}
