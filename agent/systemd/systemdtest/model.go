package systemdtest

import (
	"bytes"
	"path"
	"strings"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/unit"
)

// service is what the Fake reads of a unit file.
type service struct {
	typ       string   // Type=, "simple" by default
	exec      string   // base name of ExecStart='s program, "" without one
	remain    bool     // RemainAfterExit=yes
	wantedBy  []string // [Install] WantedBy= and RequiredBy=
	parseable bool
}

func parse(data []byte) service {
	opts, err := sdunit.DeserializeOptions(bytes.NewReader(data))
	s := service{typ: "simple", parseable: err == nil}
	for _, o := range opts {
		switch {
		case o.Section == "Service" && o.Name == "Type":
			s.typ = o.Value
		case o.Section == "Service" && o.Name == "ExecStart":
			if fields := strings.Fields(strings.TrimLeft(o.Value, "-@+!:")); len(fields) > 0 {
				s.exec = path.Base(fields[0])
			}
		case o.Section == "Service" && o.Name == "RemainAfterExit":
			s.remain = o.Value == "yes" || o.Value == "true" || o.Value == "1"
		case o.Section == "Install" && (o.Name == "WantedBy" || o.Name == "RequiredBy"):
			s.wantedBy = append(s.wantedBy, strings.Fields(o.Value)...)
		}
	}
	return s
}

// loadState is what systemd's load of a file gives: a service needs an
// ExecStart= to be loaded.
func loadState(name string, data []byte) string {
	s := parse(data)
	if !s.parseable || (unit.Suffix(name) == "service" && s.exec == "") {
		return "bad-setting"
	}
	return "loaded"
}

// behave is the state a started unit reaches and whether its start job
// succeeds, read from its file: ExecStart=/bin/false fails (the job too
// for Type=oneshot, whose job waits for the process), /bin/true exits at
// once, any other program keeps running. Units other than services
// (targets, ...) become active.
func behave(name string, def []byte) (agent.UnitStatus, bool) {
	if unit.Suffix(name) != "service" {
		return agent.UnitStatus{Load: "loaded", Active: "active", Sub: "active"}, true
	}
	s := parse(def)
	oneshot := s.typ == "oneshot"
	switch s.exec {
	case "false":
		return agent.UnitStatus{Load: "loaded", Active: "failed", Sub: "failed"}, !oneshot
	case "true":
		if oneshot && s.remain {
			return agent.UnitStatus{Load: "loaded", Active: "active", Sub: "exited"}, true
		}
		return agent.UnitStatus{Load: "loaded", Active: "inactive", Sub: "dead"}, true
	}
	return agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"}, true
}
