package unit

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// Requirements is the [X-Fleet] section with fleet's semantics, specifiers
// already expanded for the unit's name.
type Requirements struct {
	MachineID       string              // "" if unset; MachineID / X-ConditionMachineID
	MachineOf       []string            // exact unit names (MachineOf / X-ConditionMachineOf); fleet calls these Peers
	MachineMetadata map[string][]string // key -> allowed values (OR within key, AND across keys); nil if none
	MetadataExprs   []MetadataExpr      // MachineMetadata= expressions other than k=v, all of which must hold
	Conflicts       []string            // path.Match globs (Conflicts / X-Conflicts)
	Global          bool
	Replaces        []string   // globs
	OnDisconnect    Disconnect // what its machine does with it when cut off from etcd; "" for the cluster's default
	DistinctBy      []Distinct // at most Max of its group per value of Key
	Group           string     // glob of the units its group rules count with; "" for GroupOf's default
	SoftConflicts   []string   // globs of units it avoids sharing a machine with, while it can
	SpreadBy        []Spread   // keys to spread its group over, weighted
	Prefer          []Preference
	MaxSkew         []Skew   // at most Max more of its group on a value of Key than on the emptiest
	SpreadTargets   []Target // the share of its group each value of a SpreadBy= key should have
	// NoRebalance is Rebalance=false (flota's own; default true): once
	// placed, the unit never moves to a machine that serves its soft rules
	// better (engine/rebalance.go), for a unit whose restart costs more
	// than an uneven spread.
	NoRebalance bool
	// Ports are the ports the unit serves on (Ports=, flota's own): its
	// endpoints once it runs. They change no placement.
	Ports []Port
}

// MatchesMetadata reports whether a machine with metadata md may run the
// unit: for every key of fleet's k=v the machine has the key, with one of
// the allowed values, and every other expression holds.
func (r Requirements) MatchesMetadata(md map[string]string) bool {
	for k, allowed := range r.MachineMetadata {
		v, ok := md[k]
		if !ok || !slices.Contains(allowed, v) {
			return false
		}
	}
	for _, e := range r.MetadataExprs {
		if !e.Matches(md) {
			return false
		}
	}
	return true
}

// ConflictsWith reports whether one of the unit's Conflicts globs matches
// other. Conflicts are symmetric, so the engine asks both units; and a unit
// never conflicts with itself, so the engine does not ask about it.
func (r Requirements) ConflictsWith(other string) bool { return AnyMatch(r.Conflicts, other) }

// ReplacesUnit reports whether one of the unit's Replaces globs matches other.
func (r Requirements) ReplacesUnit(other string) bool { return AnyMatch(r.Replaces, other) }

// AnyMatch reports whether one of globs (path.Match patterns over unit
// names, as Conflicts= takes) matches name.
func AnyMatch(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

const fleetSection = "X-Fleet"

type reqKind int

const (
	reqMachineID reqKind = iota
	reqMachineOf
	reqMachineMetadata
	reqConflicts
	reqGlobal
	reqReplaces
	reqOnDisconnect
	reqDistinctBy
	reqGroup
	reqSoftConflicts
	reqSpreadBy
	reqPrefer
	reqMaxSkew
	reqSpreadTarget
	reqRebalance
	reqPorts
	numReqKinds
)

// reqKey is what an [X-Fleet] option name means.
type reqKey struct {
	kind    reqKind
	instead string // for a deprecated name, the name to use instead
}

var reqKeys = map[string]reqKey{
	"MachineID":                  {reqMachineID, ""},
	"X-ConditionMachineID":       {reqMachineID, "MachineID"},
	"MachineOf":                  {reqMachineOf, ""},
	"X-ConditionMachineOf":       {reqMachineOf, "MachineOf"},
	"MachineMetadata":            {reqMachineMetadata, ""},
	"X-ConditionMachineMetadata": {reqMachineMetadata, "MachineMetadata"},
	"Conflicts":                  {reqConflicts, ""},
	"X-Conflicts":                {reqConflicts, "Conflicts"},
	"Global":                     {reqGlobal, ""},
	"Replaces":                   {reqReplaces, ""},
	"OnDisconnect":               {reqOnDisconnect, ""},
	"DistinctBy":                 {reqDistinctBy, ""},
	"Group":                      {reqGroup, ""},
	"SoftConflicts":              {reqSoftConflicts, ""},
	"SpreadBy":                   {reqSpreadBy, ""},
	"PreferMachineMetadata":      {reqPrefer, ""},
	"MaxSkew":                    {reqMaxSkew, ""},
	"SpreadTarget":               {reqSpreadTarget, ""},
	"Rebalance":                  {reqRebalance, ""},
	"Ports":                      {reqPorts, ""},
}

// ParseOptions reads the [X-Fleet] options among opts for the unit called
// name. The engine calls it to resolve a template's cached options for each
// instance; errors carry no line, as there is no text.
func ParseOptions(name string, opts []*sdunit.UnitOption) (Requirements, []string, error) {
	if err := ValidateName(name); err != nil {
		return Requirements{}, nil, err
	}
	return parseFleet(name, opts, nil)
}

// reqBuilder accumulates Requirements option by option, remembering where
// each requirement came from so that errors about combinations can point
// at a line.
type reqBuilder struct {
	name      string
	req       Requirements
	warnings  []string
	first     [numReqKinds]int // line of the first value of each kind
	globalAt  int              // line of the Global value in force (the last)
	conflicts []int            // line of each of req.Conflicts
	targetAt  map[string]int   // line of the last SpreadTarget= of each key
}

// parseFleet reads the [X-Fleet] options among opts for the unit called
// name. A template has no instance, so %i is empty in it and a value that
// uses %i means something only for an instance ("MachineMetadata=rack=%i"
// is "rack=" in web@.service): such values are left out of a template's
// Requirements and checked by each instance, under its own name, when it
// is created (the registry stores the options as written and the Engine
// reads them per instance). A template is never placed, so nothing reads
// what they would be for it.
func parseFleet(name string, opts []*sdunit.UnitOption, lines []int) (Requirements, []string, error) {
	b := &reqBuilder{name: name}
	template := IsTemplate(name)
	for i, o := range opts {
		if o == nil || o.Section != fleetSection {
			continue
		}
		line := lineAt(lines, i)
		key, ok := reqKeys[o.Name]
		if !ok {
			b.warn(fmt.Sprintf("unrecognized requirement in [X-Fleet] section: %q", o.Name))
			continue
		}
		if key.instead != "" {
			b.warn(fmt.Sprintf("%s is deprecated, use %s", o.Name, key.instead))
		}
		for _, raw := range splitValues(key.kind, o.Value) {
			v, err := expandSpecifiers(raw, name)
			if err != nil {
				return Requirements{}, nil, unitError(name, line, "%v in %s value %q", err, o.Name, raw)
			}
			if template && usesInstance(raw) {
				continue
			}
			if err := b.add(key.kind, o.Name, value{v, raw}, line); err != nil {
				return Requirements{}, nil, err
			}
		}
	}
	if err := b.check(); err != nil {
		return Requirements{}, nil, err
	}
	return b.req, b.warnings, nil
}

func (b *reqBuilder) warn(w string) {
	if !slices.Contains(b.warnings, w) {
		b.warnings = append(b.warnings, w)
	}
}

// value is one [X-Fleet] value, with specifiers expanded, and as written.
type value struct{ v, raw string }

// String quotes the value for an error, and what it was written as when a
// specifier changed it: an instance's error then shows the template's text.
func (v value) String() string {
	if v.raw == v.v {
		return strconv.Quote(v.v)
	}
	return strconv.Quote(v.v) + " (from " + strconv.Quote(v.raw) + ")"
}

// add records one value of an option called key (as spelled in the file).
func (b *reqBuilder) add(kind reqKind, key string, in value, line int) error {
	r := &b.req
	v := in.v
	switch kind {
	case reqMachineID:
		if v == "" {
			return nil
		}
		// fleet silently used the first; a unit cannot be on two machines,
		// so two different IDs are a mistake worth reporting.
		if r.MachineID != "" && r.MachineID != v {
			return unitError(b.name, line, "%s %s conflicts with MachineID %q given before", key, in, r.MachineID)
		}
		r.MachineID = v
	case reqMachineOf:
		if v == "" {
			return nil
		}
		r.MachineOf = appendNew(r.MachineOf, v)
	case reqMachineMetadata:
		// fleet skipped malformed pairs, dropping the constraint without a
		// word and placing the unit anywhere.
		e, err := ParseMetadataExpr(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		if e.Op != MetaEq {
			r.MetadataExprs = append(r.MetadataExprs, e)
			break
		}
		if r.MachineMetadata == nil {
			r.MachineMetadata = make(map[string][]string)
		}
		r.MachineMetadata[e.Key] = appendNew(r.MachineMetadata[e.Key], e.Value)
	case reqConflicts, reqReplaces:
		if _, err := path.Match(v, ""); err != nil {
			return unitError(b.name, line, "invalid %s pattern %s: %v", key, in, err)
		}
		if kind == reqReplaces {
			if ok, _ := path.Match(v, b.name); ok {
				return unitError(b.name, line, "unit cannot replace itself")
			}
			r.Replaces = appendNew(r.Replaces, v)
		} else if !slices.Contains(r.Conflicts, v) {
			r.Conflicts = append(r.Conflicts, v)
			b.conflicts = append(b.conflicts, line)
		}
	case reqGlobal:
		switch strings.ToLower(v) {
		case "true", "yes", "1", "on", "t":
			r.Global = true
		case "false", "no", "0", "off", "f":
			r.Global = false
		default:
			return unitError(b.name, line, "invalid %s value %s: want true or false", key, in)
		}
		b.globalAt = line
	case reqDistinctBy:
		d, err := parseDistinct(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		if i := slices.IndexFunc(r.DistinctBy, func(o Distinct) bool { return o.Key == d.Key }); i >= 0 {
			r.DistinctBy[i] = d // the last one for a key counts, as in systemd
		} else {
			r.DistinctBy = append(r.DistinctBy, d)
		}
	case reqSoftConflicts:
		if err := checkGlob(v); err != nil {
			return unitError(b.name, line, "invalid %s pattern %s: %v", key, in, err)
		}
		r.SoftConflicts = appendNew(r.SoftConflicts, v)
	case reqSpreadBy:
		sp, err := parseSpread(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		if i := slices.IndexFunc(r.SpreadBy, func(o Spread) bool { return o.Key == sp.Key }); i >= 0 {
			r.SpreadBy[i] = sp
		} else {
			r.SpreadBy = append(r.SpreadBy, sp)
		}
	case reqPrefer:
		p, err := parsePreference(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		r.Prefer = append(r.Prefer, p)
	case reqMaxSkew:
		sk, err := parseSkew(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		if i := slices.IndexFunc(r.MaxSkew, func(o Skew) bool { return o.Key == sk.Key }); i >= 0 {
			r.MaxSkew[i] = sk
		} else {
			r.MaxSkew = append(r.MaxSkew, sk)
		}
	case reqSpreadTarget:
		t, err := parseTarget(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		if i := slices.IndexFunc(r.SpreadTargets, func(o Target) bool { return o.Key == t.Key && o.Value == t.Value }); i >= 0 {
			r.SpreadTargets[i] = t
		} else {
			r.SpreadTargets = append(r.SpreadTargets, t)
		}
		if b.targetAt == nil {
			b.targetAt = map[string]int{}
		}
		b.targetAt[t.Key] = line
	case reqGroup:
		if _, err := path.Match(v, ""); err != nil || v == "" {
			return unitError(b.name, line, "invalid %s pattern %s: want a glob over unit names, such as web-*", key, in)
		}
		r.Group = v
	case reqRebalance:
		on, ok := parseBool(v)
		if !ok {
			return unitError(b.name, line, "invalid %s value %s: want true or false", key, in)
		}
		r.NoRebalance = !on
	case reqPorts:
		p, err := parsePort(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %s: %v", key, in, err)
		}
		if slices.ContainsFunc(r.Ports, func(o Port) bool { return o.Number == p.Number && o.Proto == p.Proto }) {
			return unitError(b.name, line, "invalid %s %s: port %d/%s declared twice", key, in, p.Number, p.Proto)
		}
		if p.Name != "" && slices.ContainsFunc(r.Ports, func(o Port) bool { return o.Name == p.Name }) {
			return unitError(b.name, line, "invalid %s %s: name %q declared twice", key, in, p.Name)
		}
		r.Ports = append(r.Ports, p)
	case reqOnDisconnect:
		d, err := ParseDisconnect(v)
		if err != nil {
			return unitError(b.name, line, "invalid %s %q: %v", key, v, err)
		}
		r.OnDisconnect = d
	}
	if b.first[kind] == 0 {
		b.first[kind] = line
	}
	return nil
}

// check refuses the combinations fleet refused, with fleet's messages, in
// fleet's order; each error points at the option that makes the
// combination impossible.
func (b *reqBuilder) check() error {
	r := &b.req
	if r.MachineID != "" {
		for _, c := range []struct {
			set  bool
			what string
			line int
		}{
			{len(r.MachineOf) > 0, "Peers", b.first[reqMachineOf]},
			{len(r.Conflicts) > 0, "Conflicts", b.first[reqConflicts]},
			{r.Global, "Global", b.globalAt},
			{len(r.Replaces) > 0, "Replaces", b.first[reqReplaces]},
		} {
			if c.set {
				return unitError(b.name, c.line, "MachineID cannot be used with %s", c.what)
			}
		}
	}
	if r.Global {
		if len(r.DistinctBy) > 0 {
			return unitError(b.name, b.first[reqDistinctBy], "Global cannot be used with DistinctBy")
		}
		if len(r.MaxSkew) > 0 {
			return unitError(b.name, b.first[reqMaxSkew], "Global cannot be used with MaxSkew")
		}
		if len(r.MachineOf) > 0 {
			return unitError(b.name, b.first[reqMachineOf], "Global cannot be used with Peers")
		}
		if len(r.Replaces) > 0 {
			return unitError(b.name, b.first[reqReplaces], "Global cannot be used with Replaces")
		}
	}
	if err := b.checkTargets(); err != nil {
		return err
	}
	if len(r.Conflicts) > 0 && len(r.Replaces) > 0 {
		return unitError(b.name, b.first[reqReplaces], "Conflicts cannot be used with Replaces")
	}
	for _, p := range r.MachineOf {
		for i, c := range r.Conflicts {
			if ok, _ := path.Match(c, p); ok {
				return unitError(b.name, b.conflicts[i], "unresolvable requirements: peer %q matches conflict %q", p, c)
			}
		}
	}
	return nil
}

// splitValues turns one [X-Fleet] value into the values it holds, the way
// fleet did: a value is a list only when it starts and ends with '"'
// (MachineMetadata="region=us" "zone=a"); then it splits on blanks outside
// quotes and drops the quotes. Conflicts and Replaces are also split on
// blanks when unquoted, as fleet did for Conflicts.
//
// A continuation ("\" at the end of a line) reaches us as "\\\n" in the
// value; systemd reads it as a space, and so do we, where fleet kept both
// characters in the value.
func splitValues(kind reqKind, value string) []string {
	value = strings.TrimSpace(strings.ReplaceAll(value, "\\\n", " "))
	vals := []string{value}
	if len(value) > 0 && value[0] == '"' && value[len(value)-1] == '"' {
		vals = splitQuoted(value)
	}
	if kind == reqConflicts || kind == reqReplaces || kind == reqSoftConflicts || kind == reqSpreadBy ||
		kind == reqMaxSkew || kind == reqSpreadTarget || kind == reqPorts {
		var fields []string
		for _, v := range vals {
			fields = append(fields, strings.Fields(v)...)
		}
		return fields
	}
	return vals
}

// splitQuoted splits on blanks outside double quotes, removing the quotes.
// Quotes only toggle quoting, as in fleet, so unbalanced ones are no error;
// empty values (from repeated blanks or "") are dropped.
func splitQuoted(s string) []string {
	var vals []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case !quoted && isBlank(c):
			if cur.Len() > 0 {
				vals = append(vals, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		vals = append(vals, cur.String())
	}
	return vals
}

func isBlank(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
