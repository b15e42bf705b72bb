package build

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Spec
	}{
		{"base", "image base:1\nfrom scratch\ndebootstrap bookworm minbase busybox,systemd-sysv   # comment\n",
			&Spec{Name: "base:1", FromLine: 2, Steps: []Step{{Line: 3, Op: "debootstrap", Args: []string{"bookworm", "minbase", "busybox,systemd-sysv"}}}}},
		{"site with comments and blanks", "# site\n\nimage site:1\n  from base:1  \ncopy files/motd /etc/motd\nrun echo site > /etc/flota-site # why\n",
			&Spec{Name: "site:1", From: "base:1", FromLine: 4, Steps: []Step{
				{Line: 5, Op: "copy", Args: []string{"files/motd", "/etc/motd"}},
				{Line: 6, Op: "run", Args: []string{"echo site > /etc/flota-site"}},
			}}},
		{"hash inside a word is not a comment", "image a:1\nfrom b:1\nrun echo a#b\n",
			&Spec{Name: "a:1", From: "b:1", FromLine: 2, Steps: []Step{{Line: 3, Op: "run", Args: []string{"echo a#b"}}}}},
		{"env applies to later run and packages, last wins", "image a:1\nfrom b:1\nrun true\nenv A=1\nenv B=2\nenv A=3\npackages curl\nrun env\n",
			&Spec{Name: "a:1", From: "b:1", FromLine: 2, Steps: []Step{
				{Line: 3, Op: "run", Args: []string{"true"}},
				{Line: 7, Op: "packages", Args: []string{"curl"}, Env: []string{"B=2", "A=3"}},
				{Line: 8, Op: "run", Args: []string{"env"}, Env: []string{"B=2", "A=3"}},
			}}},
		{"from only", "image a:2\nfrom a:1\n", &Spec{Name: "a:2", From: "a:1", FromLine: 2}},
		{"debootstrap default variant", "image a:1\nfrom scratch\ndebootstrap bookworm -\n",
			&Spec{Name: "a:1", FromLine: 2, Steps: []Step{{Line: 3, Op: "debootstrap", Args: []string{"bookworm", "-"}}}}},
		{"copy into a directory", "image a:1\nfrom scratch\ncopy files /srv/\n",
			&Spec{Name: "a:1", FromLine: 2, Steps: []Step{{Line: 3, Op: "copy", Args: []string{"files", "/srv/"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("dir/x.flota", strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.File, tt.want.Dir = "dir/x.flota", "dir"
			for i := range tt.want.Steps {
				if tt.want.Steps[i].Env == nil && got.Steps[i].Env != nil && len(got.Steps[i].Env) == 0 {
					got.Steps[i].Env = nil
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string // want: the error, after "x.flota:"
	}{
		{"empty", "", "x.flota: empty spec"},
		{"only comments", "# nothing\n", "x.flota: empty spec"},
		{"from before image", "from scratch\n", "x.flota:1: \"from\" before image"},
		{"image twice", "image a:1\nimage b:1\n", "x.flota:2: image given twice"},
		{"image without tag", "image a\n", "x.flota:1: image: \"a\" is not NAME:TAG"},
		{"image bad chars", "image a/b:1\n", "x.flota:1: image: \"a/b:1\": names and tags"},
		{"image two args", "image a:1 b:1\n", "x.flota:1: image takes one NAME:TAG"},
		{"step before from", "image a:1\ncopy a /a\n", "x.flota:2: \"copy\" before from"},
		{"no from", "image a:1\n", "x.flota:1: no from directive"},
		{"from twice", "image a:1\nfrom scratch\nfrom b:1\n", "x.flota:3: from given twice"},
		{"from bad ref", "image a:1\nfrom b\n", "x.flota:2: from: \"b\" is not NAME:TAG"},
		{"from itself", "image a:1\nfrom a:1\n", "x.flota:2: from: image a:1 cannot be built from itself"},
		{"scratch with nothing", "image a:1\nfrom scratch\n", "x.flota:2: from scratch with no steps"},
		{"debootstrap after from image", "image a:1\nfrom b:1\ndebootstrap bookworm minbase\n", "x.flota:3: debootstrap is only valid right after `from scratch`"},
		{"debootstrap not first step", "image a:1\nfrom scratch\ncopy a /a\ndebootstrap bookworm minbase\n", "x.flota:4: debootstrap is only valid"},
		{"debootstrap after env", "image a:1\nfrom scratch\nenv A=1\ndebootstrap bookworm minbase\n", "x.flota:4: debootstrap is only valid"},
		{"debootstrap args", "image a:1\nfrom scratch\ndebootstrap bookworm\n", "x.flota:3: debootstrap takes SUITE VARIANT"},
		{"debootstrap variant", "image a:1\nfrom scratch\ndebootstrap bookworm tiny\n", "x.flota:3: debootstrap: variant \"tiny\""},
		{"debootstrap bad include", "image a:1\nfrom scratch\ndebootstrap bookworm minbase a;b\n", "x.flota:3: debootstrap: bad argument \"a;b\""},
		{"packages none", "image a:1\nfrom b:1\npackages\n", "x.flota:3: packages takes at least one package"},
		{"packages option", "image a:1\nfrom b:1\npackages --yes\n", "x.flota:3: packages: bad package name \"--yes\""},
		{"copy one arg", "image a:1\nfrom b:1\ncopy a\n", "x.flota:3: copy takes SRC DEST"},
		{"copy absolute source", "image a:1\nfrom b:1\ncopy /etc/passwd /etc/passwd\n", "x.flota:3: copy: source \"/etc/passwd\" must be relative"},
		{"copy relative dest", "image a:1\nfrom b:1\ncopy a etc/a\n", "x.flota:3: copy: destination \"etc/a\" must be absolute"},
		{"copy to root", "image a:1\nfrom b:1\ncopy a /\n", "x.flota:3: copy: bad destination \"/\""},
		{"copy dotdot", "image a:1\nfrom b:1\ncopy a /etc/../../x\n", "x.flota:3: copy: bad destination"},
		{"run empty", "image a:1\nfrom b:1\nrun   # nothing\n", "x.flota:3: run takes a command"},
		{"env no value", "image a:1\nfrom b:1\nenv A\n", "x.flota:3: env: \"A\" is not K=V"},
		{"env bad key", "image a:1\nfrom b:1\nenv 1A=2\n", "x.flota:3: env: \"1A=2\" is not K=V"},
		{"env spaces", "image a:1\nfrom b:1\nenv A=1 B=2\n", "x.flota:3: env takes one K=V"},
		{"unknown", "image a:1\nfrom b:1\nadd a /a\n", "x.flota:3: unknown directive \"add\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.flota", strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start %q", err, tt.want)
			}
		})
	}
}

func TestParseRepoSpecs(t *testing.T) {
	var specs []*Spec
	for _, f := range []string{"web", "base", "site"} {
		s, err := ParseFile("../../../images/" + f + ".flota")
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	ordered, err := Order(specs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range ordered {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "base:1 site:1 web:1" {
		t.Errorf("order %s", got)
	}
	for _, s := range ordered {
		for _, st := range s.Steps {
			if st.Op == "packages" {
				t.Errorf("%s:%d: demo images must not need apt at build time", s.File, st.Line)
			}
		}
	}
}

func TestOrderErrors(t *testing.T) {
	parse := func(src string) *Spec {
		s, err := Parse("x.flota", strings.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("cycle", func(t *testing.T) {
		_, err := Order([]*Spec{parse("image a:1\nfrom b:1\n"), parse("image b:1\nfrom a:1\n")})
		if err == nil || !strings.Contains(err.Error(), "from cycle: a:1 -> b:1 -> a:1") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		_, err := Order([]*Spec{parse("image a:1\nfrom b:1\n"), parse("image a:1\nfrom c:1\n")})
		if err == nil || !strings.Contains(err.Error(), "image a:1 is also built by") {
			t.Errorf("err %v", err)
		}
	})
}
