package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConditionsAndConventions, on the harness cluster: a container unit
// whose image no source has makes a blocking start say the pull failed
// and exit 4, and list-units shows the condition where systemd's SUB
// goes; list-units -o json is data; list-machines shows each machine's
// flotad version, the one this run built.
func TestConditionsAndConventions(t *testing.T) {
	c := up(t)
	dir := t.TempDir()
	writeUnit(t, dir, "noimage.service", "[Service]\nExecStart=/usr/bin/busybox sleep 1000\n\n[X-Container]\nImage=nosuch:1\n")
	c.destroyAtEnd(t, "noimage.service")
	r := c.ctl(t, 2*time.Minute, "start", filepath.Join(dir, "noimage.service"))
	if r.code != 4 || !strings.Contains(r.out+r.errOut, "image-pull-failed") {
		t.Errorf("start of a unit whose image no source has: exit %d\nstdout %q\nstderr %q\nwant exit 4 naming image-pull-failed", r.code, r.out, r.errOut)
	}
	eventually(t, 30*time.Second, "list-units showing the condition", func() (bool, string) {
		out := c.must(t, "list-units", "--no-legend", "--fields=unit,sub").out
		return strings.Contains(out, "noimage.service\timage-pull-failed"), out
	})
	var rows []map[string]any
	if out := c.must(t, "list-units", "-o", "json").out; json.Unmarshal([]byte(out), &rows) != nil || len(rows) == 0 || !strings.Contains(out, "noimage.service") {
		t.Errorf("list-units -o json: %q", out)
	}
	want, err := exec.Command(filepath.Join(c.bin, "flotad"), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimPrefix(strings.TrimSpace(string(want)), "flotad version ")
	lines := strings.Split(strings.TrimSpace(c.must(t, "list-machines", "--no-legend", "--fields=machine,version").out), "\n")
	if len(lines) != machines {
		t.Fatalf("list-machines: %q", lines)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "\t"+version) {
			t.Errorf("list-machines row %q: want its flotad's version %s", l, version)
		}
	}
}
