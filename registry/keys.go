package registry

import (
	"strings"

	"github.com/flota-dev/flota/unit"
)

// The key schema. Everything flota stores lives under one prefix (default
// "/flota/"), split so that each reader watches only what it needs:
//
//	<p>cluster/units/<unit>                  Unit record (JSON: hash, desired state, global, [X-Fleet] options, resources)
//	<p>files/<sha1>                          normalized unit file text, stored once per content hash
//	<p>cluster/machines/<machine>            Machine presence (JSON: ip, metadata), under the machine's lease
//	<p>cluster/labels/<machine>              an operator's labels of a Machine (JSON: set, removed), no lease: they outlive restarts and wait for an absent machine
//	<p>cluster/placements/<machine>/<unit>   Placement (JSON: hash, desired state), written by the leading Engine
//	<p>cluster/unplaced/<unit>               why the Engine could not place a Unit (a reason.Unplaced, JSON), written by the leading Engine
//	<p>cluster/notes/<unit>                  the soft rules a placed Unit's machine does not honour ([]reason.Note, JSON), written by the leading Engine
//	<p>cluster/drains/<machine>              an operator's drain of a Machine (JSON: since, deadline, include_global, max_parallel), no lease: it outlives restarts
//	<p>cluster/moves/<unit>                  the last rebalancing move of a Unit (JSON: from, to, since, reason), written by the leading Engine with the placement it moves to; removed with the unit
//	<p>states/<machine>/<unit>               UnitState published by that Machine's Agent, under its lease
//	<p>leader/                               Engine election (client/v3/concurrency)
//
// A Machine's metadata is its presence's, with its labels applied
// (EffectiveMetadata): labels win where both name a key. Labels sit under
// <p>cluster/ so that a relabelled machine wakes the Engine like any other
// change of the machines.
//
// The Engine watches <p>cluster/ only, so the churn of published states never
// wakes it, and it never reads unit files: the [X-Fleet] options it places
// by are copied into the unit record, in the transaction that stores the
// file, so an Engine taking over a large cluster parses no files. An Agent
// watches <p>cluster/placements/<its machine>/ only, so a
// change for one machine wakes one Agent (fleet woke all of them).
type keys struct{ prefix string }

const (
	dirCluster    = "cluster/"
	dirUnits      = "cluster/units/"
	dirFiles      = "files/"
	dirMachines   = "cluster/machines/"
	dirLabels     = "cluster/labels/"
	dirPlacements = "cluster/placements/"
	dirUnplaced   = "cluster/unplaced/"
	dirNotes      = "cluster/notes/"
	dirDrains     = "cluster/drains/"
	dirMoves      = "cluster/moves/"
	dirStates     = "states/"
	dirLeader     = "leader/"
)

func (k keys) cluster() string                   { return k.prefix + dirCluster }
func (k keys) units() string                     { return k.prefix + dirUnits }
func (k keys) unit(name string) string           { return k.prefix + dirUnits + name }
func (k keys) files() string                     { return k.prefix + dirFiles }
func (k keys) file(h unit.Hash) string           { return k.prefix + dirFiles + h.String() }
func (k keys) machines() string                  { return k.prefix + dirMachines }
func (k keys) machine(id string) string          { return k.prefix + dirMachines + id }
func (k keys) labels() string                    { return k.prefix + dirLabels }
func (k keys) labelsOf(id string) string         { return k.prefix + dirLabels + id }
func (k keys) placements() string                { return k.prefix + dirPlacements }
func (k keys) machinePlacements(m string) string { return k.prefix + dirPlacements + m + "/" }
func (k keys) placement(m, u string) string      { return k.prefix + dirPlacements + m + "/" + u }
func (k keys) unplaced() string                  { return k.prefix + dirUnplaced }
func (k keys) unplacedUnit(u string) string      { return k.prefix + dirUnplaced + u }
func (k keys) notes() string                     { return k.prefix + dirNotes }
func (k keys) notesOf(u string) string           { return k.prefix + dirNotes + u }
func (k keys) drains() string                    { return k.prefix + dirDrains }
func (k keys) drain(m string) string             { return k.prefix + dirDrains + m }
func (k keys) moves() string                     { return k.prefix + dirMoves }
func (k keys) moveOf(u string) string            { return k.prefix + dirMoves + u }
func (k keys) states() string                    { return k.prefix + dirStates }
func (k keys) machineStates(m string) string     { return k.prefix + dirStates + m + "/" }
func (k keys) state(m, u string) string          { return k.prefix + dirStates + m + "/" + u }
func (k keys) leader() string                    { return k.prefix + dirLeader }

// kind classifies a key under <p>cluster/ and returns its name parts.
type keyKind int

const (
	kindOther keyKind = iota
	kindUnit
	kindMachine
	kindPlacement
	kindUnplaced
	kindNotes
	kindDrain
	kindLabels
	kindMove
)

// parse splits a cluster key into its kind and the names it carries: the unit
// or machine name, or for a placement the machine then the unit.
func (k keys) parse(key string) (keyKind, string, string) {
	rest, ok := strings.CutPrefix(key, k.prefix)
	if !ok {
		return kindOther, "", ""
	}
	switch {
	case strings.HasPrefix(rest, dirUnits):
		return kindUnit, rest[len(dirUnits):], ""
	case strings.HasPrefix(rest, dirMachines):
		return kindMachine, rest[len(dirMachines):], ""
	case strings.HasPrefix(rest, dirPlacements):
		m, u, ok := strings.Cut(rest[len(dirPlacements):], "/")
		if !ok {
			return kindOther, "", ""
		}
		return kindPlacement, m, u
	case strings.HasPrefix(rest, dirUnplaced):
		return kindUnplaced, rest[len(dirUnplaced):], ""
	case strings.HasPrefix(rest, dirNotes):
		return kindNotes, rest[len(dirNotes):], ""
	case strings.HasPrefix(rest, dirDrains):
		return kindDrain, rest[len(dirDrains):], ""
	case strings.HasPrefix(rest, dirLabels):
		return kindLabels, rest[len(dirLabels):], ""
	case strings.HasPrefix(rest, dirMoves):
		return kindMove, rest[len(dirMoves):], ""
	}
	return kindOther, "", ""
}
