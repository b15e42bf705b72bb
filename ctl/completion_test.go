package ctl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompletion: the bash script, run by bash, completes commands,
// global and per-command options, and operands from the cluster; zsh's
// wraps it; an unknown shell is a usage error.
func TestCompletion(t *testing.T) {
	c := newCluster(t)
	c.register(m1, "127.0.0.2", nil)
	dir := t.TempDir()
	c.must("submit", writeFile(t, dir, "web.service", "[Service]\nExecStart=/bin/web\n"), writeFile(t, dir, "worker.service", "[Service]\nExecStart=/bin/w\n"))
	script := c.must("completion", "bash").out
	if z := c.must("completion", "zsh").out; !strings.HasPrefix(z, "#compdef flotactl\nautoload -U +X bashcompinit && bashcompinit\n") || !strings.HasSuffix(z, script) {
		t.Errorf("the zsh script does not wrap the bash one")
	}
	if r := c.ctl("completion", "fish"); r.code != exitUsage || !strings.Contains(r.errOut, `completion: shell "fish": want bash or zsh`) {
		t.Errorf("completion fish: exit %d, %q", r.code, r.errOut)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the script with")
	}
	// A flotactl on PATH that reaches the test cluster, as the script asks it.
	bin := t.TempDir()
	real := filepath.Join(bin, "flotactl.real")
	if out, err := exec.Command("go", "build", "-o", real, "../cmd/flotactl").CombinedOutput(); err != nil {
		t.Fatalf("build flotactl: %v\n%s", err, out)
	}
	wrapper := "#!/bin/sh\nexec " + real + " --endpoint=" + c.endpoint + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "flotactl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // no unit files here: the operands come from the cluster
	complete := func(line string) string {
		t.Helper()
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		arr := ""
		for _, w := range words {
			arr += "'" + w + "' "
		}
		prog := script + "\nCOMP_WORDS=(" + arr + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n_flotactl\necho \"${COMPREPLY[*]}\"\n"
		cmd := exec.Command(bash, "--norc", "-c", prog)
		cmd.Dir = empty
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tt := range []struct{ line, want string }{
		{"flotactl lis", "list-machines list-unit-files list-units"},
		{"flotactl --endpoint http://x:1 st", "start status stop"},
		{"flotactl --req", "--request-timeout"},
		{"flotactl journal --f", "--follow"},
		{"flotactl list-units -o", "-o"},
		{"flotactl start w", "web.service worker.service"},
		{"flotactl drain ", m1},
		{"flotactl help sc", "scale"},
		{"flotactl completion z", "zsh"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			if got := complete(tt.line); got != tt.want {
				t.Errorf("%q completes to %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}
