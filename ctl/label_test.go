package ctl

import (
	"context"
	"strings"
	"testing"

	"github.com/flota-dev/flota/registry"
)

// TestLabel sets and removes labels of a machine named by a prefix of its
// ID, and list-machines shows the metadata they make.
func TestLabel(t *testing.T) {
	c := newCluster(t)
	c.register("1a2b3c4d5e6f", "10.0.0.1", map[string]string{"zone": "dmz", "rack": "r1"})
	c.register("77aa0000", "10.0.0.2", nil)
	steps := []struct {
		name    string
		args    []string
		out     string // label's output
		machine string // its row of list-machines --fields=machine,metadata,labels
	}{
		{name: "set and remove, by short ID", args: []string{"label", "1a2b3c4d", "rack=r4", "-zone"},
			out: "rack=r4\n-zone\n", machine: "1a2b3c4d...\track=r4\track=r4,-zone"},
		{name: "no change prints the labels", args: []string{"label", "1a2b"},
			out: "rack=r4\n-zone\n", machine: "1a2b3c4d...\track=r4\track=r4,-zone"},
		{name: "set a removed key again", args: []string{"label", "1a2b3c4d5e6f", "zone=lan", "disk=ssd"},
			out: "disk=ssd\nrack=r4\nzone=lan\n", machine: "1a2b3c4d...\tdisk=ssd,rack=r4,zone=lan\tdisk=ssd,rack=r4,zone=lan"},
		{name: "reset: back to the flags", args: []string{"label", "--reset", "1a"},
			out: "", machine: "1a2b3c4d...\track=r1,zone=dmz\t-"},
		{name: "reset then set", args: []string{"label", "1a", "--reset", "pod=a"},
			out: "pod=a\n", machine: "1a2b3c4d...\tpod=a,rack=r1,zone=dmz\tpod=a"},
		{name: "a key named like a flag, after --", args: []string{"label", "1a", "--", "-h", "-rack"},
			out: "-h\npod=a\n-rack\n", machine: "1a2b3c4d...\tpod=a,zone=dmz\t-h,pod=a,-rack"},
		{name: "an empty value, as --metadata=k= gives", args: []string{"label", "77", "spare="},
			out: "spare=\n", machine: "77aa0000...\tspare=\tspare="},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			check(t, c.ctl(s.args...), 0, s.out, "")
			rows := c.must("list-machines", "--no-legend", "--fields=machine,metadata,labels").out
			// Columns are padded with tabs, as many as the widest cell needs.
			if id, _, _ := strings.Cut(s.machine, "\t"); strings.Join(strings.Fields(lineOf(rows, id)), "\t") != s.machine {
				t.Errorf("list-machines:\n%s\nwant the row %q", rows, s.machine)
			}
		})
	}
}

// TestLabelMistakes checks that bad input is named, exits non-zero and
// writes nothing.
func TestLabelMistakes(t *testing.T) {
	c := newCluster(t)
	c.register("1a2b3c4d5e6f", "10.0.0.1", map[string]string{"zone": "dmz"})
	c.register("1a2b9999", "10.0.0.2", nil)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // substring
	}{
		{name: "unknown machine", args: []string{"label", "nosuch", "a=b"}, code: 1, stderr: "Machine nosuch not found\n"},
		{name: "ambiguous prefix", args: []string{"label", "1a2b", "a=b"}, code: 1, stderr: `machine "1a2b": it begins the IDs of 2 machines (1a2b3c4d5e6f, 1a2b9999)`},
		{name: "empty key", args: []string{"label", "1a2b3c", "=v"}, code: 2, stderr: `label: "=v": invalid metadata: empty key`},
		{name: "no '='", args: []string{"label", "1a2b3c", "rack"}, code: 2, stderr: `label: "rack": want KEY=VALUE to set a key or -KEY to remove it`},
		{name: "comma in a value", args: []string{"label", "1a2b3c", "a=x,y"}, code: 2, stderr: `label: "a=x,y": invalid metadata a=x,y: it holds ','`},
		{name: "removal with a value", args: []string{"label", "1a2b3c", "-a=1"}, code: 2, stderr: `label: "-a=1": invalid metadata key "a=1"`},
		{name: "a dash alone", args: []string{"label", "1a2b3c", "-"}, code: 2, stderr: `label: "-": invalid metadata: empty key`},
		{name: "a key twice", args: []string{"label", "1a2b3c", "a=1", "-a"}, code: 2, stderr: `label: key "a" given twice`},
		{name: "unknown flag", args: []string{"label", "1a2b3c", "a=1", "--frob"}, code: 2, stderr: "label: unknown flag: --frob\nUsage: flotactl label [command options] MACHINE [KEY=VALUE|-KEY]..."},
		{name: "no machine", args: []string{"label"}, code: 2, stderr: "label: missing MACHINE"},
		{name: "empty machine", args: []string{"label", "", "a=1"}, code: 2, stderr: "label: empty MACHINE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.ctl(tt.args...)
			if r.code != tt.code || !strings.Contains(r.errOut, tt.stderr) || r.out != "" {
				t.Errorf("exit %d, want %d\nstdout: %q\nstderr: %q (want %q)", r.code, tt.code, r.out, r.errOut, tt.stderr)
			}
			st, err := c.reg.ReadStatus(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Labels) != 0 {
				t.Errorf("a refused label wrote %v", st.Labels)
			}
		})
	}
}

// TestLabelAbsentMachine: a machine that is away but has labels is known
// by them, so its labels can be read and reset; one without is unknown.
func TestLabelAbsentMachine(t *testing.T) {
	c := newCluster(t)
	if _, err := c.reg.SetLabels(context.Background(), "9f9f0000", registry.LabelChange{Set: map[string]string{"rack": "r2"}}); err != nil {
		t.Fatal(err)
	}
	check(t, c.ctl("label", "9f9f"), 0, "rack=r2\n", "")
	check(t, c.ctl("label", "9f9f", "--reset"), 0, "", "")
	check(t, c.ctl("label", "9f9f", "rack=r3"), 1, "", "Machine 9f9f not found\n")
}

// TestLabelOffline checks that argument mistakes are refused before etcd
// is asked anything, and that the help explains the command.
func TestLabelOffline(t *testing.T) {
	dead := deadEndpoint(t)
	r := runCtl(context.Background(), nil, "--endpoint", dead, "label", "1a2b3c4d", "=v")
	check(t, r, 2, "", "flotactl: label: \"=v\": invalid metadata: empty key\nUsage: flotactl label [command options] MACHINE [KEY=VALUE|-KEY]...\nRun 'flotactl help label' for details.\n")
	for _, args := range [][]string{{"label", "--help"}, {"label", "-h"}, {"help", "label"}, {"label", "1a2b3c4d", "-h"}} {
		r := runCtl(context.Background(), nil, append([]string{"--endpoint", dead}, args...)...)
		for _, want := range []string{"flotactl label - Set or remove metadata", "-KEY removes", "survive flotad", "--reset"} {
			if r.code != 0 || !strings.Contains(r.out, want) {
				t.Errorf("%q: exit %d, help lacks %q:\n%s%s", args, r.code, want, r.out, r.errOut)
			}
		}
	}
}

// lineOf is the line of out that starts with prefix, or "".
func lineOf(out, prefix string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}
