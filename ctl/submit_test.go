package ctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flota-dev/flota/registry"
)

const helloText = `# a comment, dropped from the stored text
[Unit]
Description=Hello   World

[Service]
ExecStart=/bin/sh -c "while true; do echo hi; sleep 1; done"
`

// TestSubmitCat submits a file and reads back its normalized text and
// hash.
func TestSubmitCat(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "hello.service", helloText)
	want := parse(t, "hello.service", helloText)

	t.Run("submit prints inactive", func(t *testing.T) {
		check(t, c.ctl("submit", path), 0, "Unit hello.service inactive\n", "")
	})
	t.Run("stored as submitted", func(t *testing.T) {
		u := c.unit("hello.service")
		if u.Hash != want.Hash || u.Desired != registry.StateInactive {
			t.Errorf("stored %s %s, want %s inactive", u.Hash, u.Desired, want.Hash)
		}
	})
	t.Run("cat prints the normalized text", func(t *testing.T) {
		check(t, c.ctl("cat", "hello"), 0, string(want.Bytes()), "")
		if strings.Contains(string(want.Bytes()), "# a comment") {
			t.Error("normalized text kept the comment")
		}
	})
	t.Run("hash in list-unit-files", func(t *testing.T) {
		check(t, c.ctl("list-unit-files", "--no-legend", "--fields=unit,hash"), 0, "hello.service\t"+want.Hash.Short()+"\n", "")
		check(t, c.ctl("list-unit-files", "--no-legend", "--full", "--fields=hash"), 0, want.Hash.String()+"\n", "")
	})
	t.Run("submit again is quiet", func(t *testing.T) {
		check(t, c.ctl("submit", path), 0, "", "")
	})
	t.Run("by name from the current directory", func(t *testing.T) {
		writeFile(t, dir, "bye.service", "[Service]\nExecStart=/bin/true\n")
		t.Chdir(dir)
		check(t, c.ctl("submit", "bye"), 0, "Unit bye.service inactive\n", "")
	})
	t.Run("cat unknown unit", func(t *testing.T) {
		check(t, c.ctl("cat", "nope"), 1, "", "Unit nope.service not found\n")
	})
	t.Run("missing file", func(t *testing.T) {
		check(t, c.ctl("submit", filepath.Join(dir, "gone.service")), 1, "", "unable to find Unit(gone.service) in Registry or on filesystem\n")
	})
}

// TestLocalFileDiffers checks the WARNING and --replace, which keeps the
// desired state (fleet reset it to inactive).
func TestLocalFileDiffers(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "hello.service", helloText)
	c.must("submit", path)
	old := c.unit("hello.service")
	check(t, c.ctl("load", "--no-block", path), 0, "Triggered unit hello.service load\n", "")

	changed := strings.Replace(helloText, "echo hi", "echo hello", 1)
	writeFile(t, dir, "hello.service", changed)
	newHash := parse(t, "hello.service", changed).Hash
	warning := "WARNING: Unit hello.service in registry differs from local unit file " + path + ". Add --replace to override.\n"

	t.Run("warning, registry kept", func(t *testing.T) {
		check(t, c.ctl("submit", path), 0, "", warning)
		check(t, c.ctl("start", "--no-block", path), 0, "Triggered unit hello.service start\n", warning)
		if u := c.unit("hello.service"); u.Hash != old.Hash {
			t.Errorf("hash changed to %s without --replace", u.Hash)
		}
	})
	t.Run("replace keeps the desired state", func(t *testing.T) {
		check(t, c.ctl("submit", "--replace", path), 0, "", "")
		u := c.unit("hello.service")
		if u.Hash != newHash || u.Desired != registry.StateLaunched {
			t.Errorf("after --replace: %s %s, want %s launched", u.Hash, u.Desired, newHash)
		}
	})
	t.Run("replace with load", func(t *testing.T) {
		writeFile(t, dir, "hello.service", helloText)
		check(t, c.ctl("load", "--replace", "--no-block", path), 0, "Triggered unit hello.service load\n", "")
		if u := c.unit("hello.service"); u.Hash != old.Hash || u.Desired != registry.StateLoaded {
			t.Errorf("after load --replace: %s %s", u.Hash, u.Desired)
		}
	})
	t.Run("replace with a bad file fails", func(t *testing.T) {
		writeFile(t, dir, "hello.service", "[Service\n")
		r := c.ctl("submit", "--replace", path)
		if r.code != 1 || !strings.HasPrefix(r.errOut, "unit hello.service, line 1: ") {
			t.Errorf("exit %d stderr %q", r.code, r.errOut)
		}
		if u := c.unit("hello.service"); u.Hash != old.Hash {
			t.Error("a bad file replaced the stored one")
		}
	})
}

// TestTemplates checks how an instance finds its file.
func TestTemplates(t *testing.T) {
	c := newCluster(t)
	tmplDir, empty := t.TempDir(), t.TempDir()
	const webText = "[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/web %i\n\n[X-Fleet]\nConflicts=web@*.service\n"
	web := parse(t, "web@.service", webText)
	c.must("submit", writeFile(t, tmplDir, "web@.service", webText))

	t.Run("instance from the registry's template", func(t *testing.T) {
		check(t, c.ctl("submit", filepath.Join(empty, "web@1.service")), 0, "Unit web@1.service inactive\n", "")
		if u := c.unit("web@1.service"); u.Hash != web.Hash {
			t.Errorf("instance hash %s, want the template's %s", u.Hash, web.Hash)
		}
	})
	t.Run("two instances in one command", func(t *testing.T) {
		t.Chdir(empty)
		check(t, c.ctl("start", "--no-block", "web@2", "web@3"), 0,
			"Unit web@2.service inactive\nUnit web@3.service inactive\nTriggered unit web@2.service start\nTriggered unit web@3.service start\n", "")
	})
	t.Run("instance from a local template", func(t *testing.T) {
		const apiText = "[Service]\nExecStart=/bin/api\n"
		writeFile(t, tmplDir, "api@.service", apiText)
		check(t, c.ctl("submit", filepath.Join(tmplDir, "api@2.service")), 0, "Unit api@2.service inactive\n", "")
		if u := c.unit("api@2.service"); u.Hash != parse(t, "api@.service", apiText).Hash {
			t.Error("instance does not have the local template's content")
		}
		if _, err := c.reg.Unit(context.Background(), "api@.service"); err == nil {
			t.Error("the local template was submitted too")
		}
	})
	t.Run("template and instance in one command", func(t *testing.T) {
		other := t.TempDir()
		p := writeFile(t, other, "db@.service", "[Service]\nExecStart=/bin/db\n")
		check(t, c.ctl("submit", p, filepath.Join(empty, "db@1.service")), 0, "Unit db@.service inactive\nUnit db@1.service inactive\n", "")
	})
	t.Run("an instance's own file wins", func(t *testing.T) {
		own := "[Service]\nExecStart=/bin/own\n"
		p := writeFile(t, t.TempDir(), "web@9.service", own)
		c.must("submit", p)
		if u := c.unit("web@9.service"); u.Hash != parse(t, "web@9.service", own).Hash {
			t.Error("the template was used although the instance has a file")
		}
	})
	t.Run("no template anywhere", func(t *testing.T) {
		check(t, c.ctl("submit", filepath.Join(empty, "nope@1.service")), 1, "", "unable to find template Unit(nope@.service) in Registry or on filesystem\n")
	})
	t.Run("instance warns about a differing local template", func(t *testing.T) {
		p := writeFile(t, empty, "web@.service", strings.Replace(webText, "/bin/web", "/bin/web2", 1))
		want := "WARNING: Unit web@1.service in registry differs from local template unit file " + p + ". Add --replace to override.\n"
		check(t, c.ctl("submit", filepath.Join(empty, "web@1.service")), 0, "", want)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("starting the template fails", func(t *testing.T) {
		r := c.ctl("start", filepath.Join(tmplDir, "web@.service"))
		if r.code != 1 || !strings.Contains(r.errOut, "is a template, which is never scheduled") {
			t.Errorf("exit %d stderr %q", r.code, r.errOut)
		}
		if u := c.unit("web@.service"); u.Desired != registry.StateInactive {
			t.Errorf("template desired %s", u.Desired)
		}
	})
	t.Run("stopping the template fails", func(t *testing.T) {
		if r := c.ctl("stop", "web@.service"); r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
	})
}

// TestBadUnitFile checks that a bad file stops the whole command before
// anything is written, with a message naming unit and line.
func TestBadUnitFile(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	good := writeFile(t, dir, "good.service", "[Service]\nExecStart=/bin/true\n")
	bad := writeFile(t, dir, "bad.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineID=abc\nGlobal=true\n")
	r := c.ctl("start", good, bad)
	if r.code != 1 || r.out != "" || !strings.HasPrefix(r.errOut, "unit bad.service") || !strings.Contains(r.errOut, "MachineID cannot be used with Global") {
		t.Errorf("exit %d stdout %q stderr %q", r.code, r.out, r.errOut)
	}
	check(t, c.ctl("list-unit-files", "--no-legend"), 0, "", "")
}

// TestWarnings checks that a unit's warnings reach stderr.
func TestWarnings(t *testing.T) {
	c := newCluster(t)
	p := writeFile(t, t.TempDir(), "w.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nFrobnicate=yes\n")
	f := parse(t, "w.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nFrobnicate=yes\n")
	if len(f.Warnings) == 0 {
		t.Skip("unit package gives no warning for an unknown [X-Fleet] key")
	}
	check(t, c.ctl("submit", p), 0, "Unit w.service inactive\n", "WARNING: unit w.service: "+f.Warnings[0]+"\n")
}

// TestNoBlock checks the --no-block messages, printed once each, and the
// errors of commands on units that are not there or not loaded.
func TestNoBlock(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	hello := writeFile(t, dir, "hello.service", helloText)
	glob := writeFile(t, dir, "g.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nGlobal=true\n")
	steps := []struct {
		name     string
		args     []string
		code     int
		out, err string
		desired  registry.State
	}{
		{"stop an unknown unit", []string{"stop", "--no-block", "nope"}, 1, "", "Unit nope.service not found\n", ""},
		{"start", []string{"start", "--no-block", hello}, 0, "Unit hello.service inactive\nTriggered unit hello.service start\n", "", registry.StateLaunched},
		{"start again", []string{"start", "--no-block", "hello"}, 0, "Triggered unit hello.service start\n", "", registry.StateLaunched},
		{"stop", []string{"stop", "--no-block", "hello"}, 0, "Triggered unit hello.service stop\n", "Successfully stopped units [hello.service].\n", registry.StateLoaded},
		{"load", []string{"load", "--no-block", "hello.service"}, 0, "Triggered unit hello.service load\n", "", registry.StateLoaded},
		{"unload", []string{"unload", "--no-block", "hello"}, 0, "Triggered unit hello.service unload\n", "Successfully unloaded units [hello.service].\n", registry.StateInactive},
		{"stop an inactive unit", []string{"stop", "--no-block", "hello"}, 1, "", "Unable to stop unit hello.service in state inactive\n", registry.StateInactive},
		{"start a global unit", []string{"start", "--no-block", glob}, 0, "Unit g.service inactive\nTriggered global unit g.service start\n", "", ""},
		{"start a global unit, blocking", []string{"start", "g"}, 0, "Triggered global unit g.service start\n", "", ""},
		{"stop a global unit", []string{"stop", "g"}, 0, "Triggered global unit g.service stop\n", "Successfully stopped units [].\n", ""},
		{"destroy destroys those that exist", []string{"destroy", "--no-block", "hello", "nope", "g"}, 1, "Destroyed hello.service\nDestroyed g.service\n", "Unit nope.service not found\n", ""},
		{"destroy again", []string{"destroy", "hello"}, 1, "", "Unit hello.service not found\n", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			check(t, c.ctl(s.args...), s.code, s.out, s.err)
			if s.desired != "" {
				if u := c.unit("hello.service"); u.Desired != s.desired {
					t.Errorf("desired %s, want %s", u.Desired, s.desired)
				}
			}
		})
	}
}

// TestFileNames checks that a local file's name is its unit's name: a file
// that is not named after a unit is refused, naming the rule, where it was
// stored under a name flotactl made up (nodot.service); and that a bare
// name still names a unit in the cluster, or the file NAME.service beside
// it, as in fleetctl.
func TestFileNames(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	const text = "[Service]\nExecStart=/bin/true\n"
	const rule = ": a unit file is named NAME.TYPE, with TYPE one of automount busname device mount path scope service slice snapshot socket swap target timer\n"
	good := writeFile(t, dir, "good.service", text)
	refused := []struct {
		name, file, why string
	}{
		{"no dot", "nodot", `unit name must contain "."`},
		{"trailing dot", "trail.", `unit name cannot end in "."`},
		{"unknown type", "x.foo", `invalid unit type: "foo"`},
		{"a number for a type", "web.1", `invalid unit type: "1"`},
		{"an instance without a type", "web@1", `unit name must contain "."`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.file, text)
			for _, cmd := range [][]string{{"submit"}, {"start", "--no-block"}, {"load", "--no-block"}} {
				// The good file is not submitted either: nothing is written.
				args := append(append([]string{}, cmd...), good, p)
				check(t, c.ctl(args...), 1, "", "file "+p+" is not named after a unit ("+tt.why+")"+rule)
			}
			check(t, c.ctl("list-unit-files", "--no-legend", "--fields=unit"), 0, "", "")
		})
	}
	t.Run("every unit type names a file", func(t *testing.T) {
		p := writeFile(t, dir, "x.target", "[Unit]\nDescription=a target\n")
		check(t, c.ctl("submit", p), 0, "Unit x.target inactive\n", "")
		check(t, c.ctl("cat", "x.target"), 0, "[Unit]\nDescription=a target\n", "")
	})
	t.Run("bare name of a unit in the cluster", func(t *testing.T) {
		writeFile(t, dir, "web.service", text)
		t.Chdir(dir)
		check(t, c.ctl("submit", "web"), 0, "Unit web.service inactive\n", "")
		// A file called "web" is not web.service's file: it is neither
		// read nor refused.
		writeFile(t, dir, "web", "not a unit at all\n")
		check(t, c.ctl("start", "--no-block", "web"), 0, "Triggered unit web.service start\n", "")
		check(t, c.ctl("submit", "--replace", "web"), 0, "", "")
		if u := c.unit("web.service"); u.Hash != parse(t, "web.service", text).Hash {
			t.Errorf("web.service replaced by the file called web")
		}
	})
	t.Run("bare name of a file beside", func(t *testing.T) {
		writeFile(t, dir, "db.service", text)
		writeFile(t, dir, "db", "not a unit at all\n")
		check(t, c.ctl("submit", filepath.Join(dir, "db")), 0, "Unit db.service inactive\n", "")
	})
	t.Run("bare name with nothing beside", func(t *testing.T) {
		check(t, c.ctl("submit", filepath.Join(t.TempDir(), "nothing")), 1, "", "unable to find Unit(nothing.service) in Registry or on filesystem\n")
	})
}

// TestBadText checks that a unit file flota would misread is refused with
// its unit and line, at submit and at --replace (which used to replace the
// stored unit silently).
func TestBadText(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "hello.service", helloText)
	c.must("submit", path)
	stored := c.unit("hello.service").Hash
	tests := []struct {
		name, text, err string
	}{
		{"invalid UTF-8", "[Unit]\nDescription=caf\xe9\n", "unit hello.service, line 2: invalid UTF-8: byte 0xe9 at column 16 (a unit file must be UTF-8 text)\n"},
		{"Latin-1 after good lines", "[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/echo \xa9 2024\n", "unit hello.service, line 5: invalid UTF-8: byte 0xa9 at column 21 (a unit file must be UTF-8 text)\n"},
		{"property outside any section", "ExecStart=/bin/true\n", "unit hello.service, line 1: text outside any section: options go under a section header such as [Service]\n"},
		{"unclosed section header", "[Unit\nDescription=x\n[Service]\nExecStart=/bin/true\n", "unit hello.service, line 1: section header is not closed on its line: want [Name]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, dir, "hello.service", tt.text)
			check(t, c.ctl("submit", "--replace", path), 1, "", tt.err)
			check(t, c.ctl("load", "--replace", "--no-block", path), 1, "", tt.err)
			if u := c.unit("hello.service"); u.Hash != stored || u.Desired != registry.StateInactive {
				t.Errorf("stored unit changed: %s %s", u.Hash, u.Desired)
			}
			fresh := writeFile(t, t.TempDir(), "fresh.service", tt.text)
			check(t, c.ctl("submit", fresh), 1, "", strings.Replace(tt.err, "hello.service", "fresh.service", 1))
		})
	}
}

// TestTemplateSpecifiersInMetadata is fleet's functional test of the same
// name: a template whose MachineMetadata uses %i is accepted, and each
// instance goes to the machine its own name selects, the Engine reading the
// options the registry copied from the template for each instance.
func TestTemplateSpecifiersInMetadata(t *testing.T) {
	c := newCluster(t)
	c.startEngine()
	machines := []string{"0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "2ccccccccccccccccccccccccccccccc"}
	for i, m := range machines {
		c.register(m, "", map[string]string{"hostname": "smoke" + m[:1], "rack": string(rune('a' + i))})
	}
	dir := t.TempDir()
	// fleet's fixtures/units/metadata@.service
	tmpl := writeFile(t, dir, "metadata@.service", "[Service]\nExecStart=/bin/bash -c \"while true; do echo Hello, World %i!; sleep 1; done\"\n\n[X-Fleet]\nMachineMetadata=hostname=%i\n")
	t.Run("the template is accepted", func(t *testing.T) {
		check(t, c.ctl("submit", tmpl), 0, "Unit metadata@.service inactive\n", "")
	})
	t.Run("each instance on its own machine", func(t *testing.T) {
		// In backward order, as fleet's test does.
		for i := len(machines) - 1; i >= 0; i-- {
			n := "metadata@smoke" + machines[i][:1]
			check(t, c.ctl("start", "--no-block", filepath.Join(dir, n+".service")), 0,
				"Unit "+n+".service inactive\nTriggered unit "+n+".service start\n", "")
		}
		want := "metadata@smoke0.service\t0aaaaaaa...\nmetadata@smoke1.service\t1bbbbbbb...\nmetadata@smoke2.service\t2ccccccc...\n"
		eventually(t, "the instances placed", func() bool {
			return c.ctl("list-unit-files", "--no-legend", "--fields=unit,target").out == "metadata@.service\t-\n"+want
		})
	})
	t.Run("an instance no machine matches waits", func(t *testing.T) {
		check(t, c.ctl("start", "--no-block", "metadata@invalid"), 0, "Unit metadata@invalid.service inactive\nTriggered unit metadata@invalid.service start\n", "")
		eventually(t, "the reason", func() bool {
			r := c.ctl("list-unit-files", "--no-legend", "--fields=unit,reason")
			return strings.Contains(r.out, "metadata@invalid.service\tno eligible machine among 3: MachineMetadata \"hostname=invalid\" filtered 3 machines\n")
		})
	})
	t.Run("an instance whose value is bad is refused, naming it", func(t *testing.T) {
		p := writeFile(t, dir, "bad@.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineMetadata=rack=%i\nMachineMetadata=%i\n")
		check(t, c.ctl("submit", p), 0, "Unit bad@.service inactive\n", "")
		check(t, c.ctl("start", "--no-block", "bad@a", "metadata@smoke0"), 1, "",
			`unit bad@a.service, line 6: invalid MachineMetadata "a" (from "%i"): want key=value`+"\n")
		if _, err := c.reg.Unit(context.Background(), "bad@a.service"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("bad@a.service: %v, want not created", err)
		}
	})
}
