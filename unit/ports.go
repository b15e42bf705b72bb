package unit

import (
	"fmt"
	"strconv"
	"strings"
)

// Port is one port a unit declares it serves on (Ports= in [X-Fleet], of
// flota's own): where its endpoints are, once it runs (flotactl
// endpoints). Declaring one reserves nothing and changes no placement.
type Port struct {
	Name   string // "" when unnamed
	Number int    // 1..65535
	Proto  string // tcp or udp
}

// String is the port as written: [NAME=]NUMBER[/udp].
func (p Port) String() string {
	s := strconv.Itoa(p.Number)
	if p.Proto == "udp" {
		s += "/udp"
	}
	if p.Name != "" {
		s = p.Name + "=" + s
	}
	return s
}

// parsePort reads one Ports= value: [NAME=]NUMBER[/tcp|/udp], e.g. 8080,
// http=8080, dns=53/udp.
func parsePort(v string) (Port, error) {
	const want = "want [NAME=]PORT[/tcp|/udp], such as 8080, http=8080 or dns=53/udp"
	p := Port{Proto: "tcp"}
	if name, rest, ok := strings.Cut(v, "="); ok {
		if !validPortName(name) {
			return Port{}, fmt.Errorf("name %q: want 1 to 15 lower-case letters, digits or '-'; %s", name, want)
		}
		p.Name, v = name, rest
	}
	if num, proto, ok := strings.Cut(v, "/"); ok {
		if proto != "tcp" && proto != "udp" {
			return Port{}, fmt.Errorf("protocol %q: %s", proto, want)
		}
		p.Proto, v = proto, num
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return Port{}, fmt.Errorf("port %q: want 1..65535; %s", v, want)
	}
	p.Number = n
	return p, nil
}

// validPortName is a port's name as DNS SRV labels take it (RFC 6335:
// up to 15 characters).
func validPortName(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
