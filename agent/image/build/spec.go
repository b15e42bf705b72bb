package build

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Spec is one parsed image spec file.
type Spec struct {
	File     string // the spec's path, as given; errors name it
	Dir      string // the directory copy sources are relative to
	Name     string // NAME:TAG of the image it builds
	From     string // NAME:TAG of the parent image, "" for scratch
	FromLine int
	Steps    []Step // in order; env directives are folded into later steps
}

// Step is one layer-producing directive.
type Step struct {
	Line int      // 1-based line in the spec
	Op   string   // debootstrap, packages, copy, run
	Args []string // debootstrap: SUITE VARIANT [INCLUDES]; packages: PKG...; copy: SRC DEST; run: CMD
	Env  []string // K=V in effect (from env directives before it), for run and packages
}

// Text is the directive as written, normalised: what STEP lines print and
// what the step's cache key hashes.
func (st Step) Text() string { return st.Op + " " + strings.Join(st.Args, " ") }

// ParseFile reads and parses a spec file.
func ParseFile(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse parses a spec read from r; file names it in errors and locates
// copy sources (relative to its directory).
func Parse(file string, r io.Reader) (*Spec, error) {
	s := &Spec{File: file, Dir: filepath.Dir(file)}
	var env []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, sawFrom := 0, false
	prevOp := "" // the previous directive, for debootstrap's placement
	errf := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", file, n, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		n++
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		op = strings.TrimSpace(op)
		rest = strings.TrimSpace(rest)
		fields := strings.Fields(rest)
		if s.Name == "" && op != "image" {
			return nil, errf("%q before image: the first directive must be `image NAME:TAG`", op)
		}
		if op != "image" && op != "from" && !sawFrom {
			return nil, errf("%q before from: the second directive must be `from NAME:TAG` or `from scratch`", op)
		}
		switch op {
		case "image":
			if s.Name != "" {
				return nil, errf("image given twice")
			}
			if len(fields) != 1 {
				return nil, errf("image takes one NAME:TAG")
			}
			if err := checkRef(fields[0]); err != nil {
				return nil, errf("image: %v", err)
			}
			s.Name = fields[0]
		case "from":
			if sawFrom {
				return nil, errf("from given twice")
			}
			if len(fields) != 1 {
				return nil, errf("from takes one NAME:TAG or scratch")
			}
			if fields[0] != "scratch" {
				if err := checkRef(fields[0]); err != nil {
					return nil, errf("from: %v", err)
				}
				if fields[0] == s.Name {
					return nil, errf("from: image %s cannot be built from itself", s.Name)
				}
				s.From = fields[0]
			}
			sawFrom, s.FromLine = true, n
		case "debootstrap":
			if prevOp != "from" || s.From != "" {
				return nil, errf("debootstrap is only valid right after `from scratch`")
			}
			if len(fields) < 2 || len(fields) > 3 {
				return nil, errf("debootstrap takes SUITE VARIANT [PKG,PKG...]")
			}
			for _, f := range fields {
				if !safeWord(f, ",") {
					return nil, errf("debootstrap: bad argument %q", f)
				}
			}
			if fields[1] != "minbase" && fields[1] != "buildd" && fields[1] != "fakechroot" && fields[1] != "-" {
				return nil, errf("debootstrap: variant %q is not minbase, buildd, fakechroot or - (the default)", fields[1])
			}
			s.Steps = append(s.Steps, Step{Line: n, Op: op, Args: fields})
		case "packages":
			if len(fields) == 0 {
				return nil, errf("packages takes at least one package")
			}
			for _, f := range fields {
				if !safeWord(f, "") || strings.HasPrefix(f, "-") {
					return nil, errf("packages: bad package name %q", f)
				}
			}
			s.Steps = append(s.Steps, Step{Line: n, Op: op, Args: fields, Env: clone(env)})
		case "copy":
			if len(fields) != 2 {
				return nil, errf("copy takes SRC DEST")
			}
			src, dst := fields[0], fields[1]
			if filepath.IsAbs(src) {
				return nil, errf("copy: source %q must be relative to the spec file", src)
			}
			if !strings.HasPrefix(dst, "/") {
				return nil, errf("copy: destination %q must be absolute", dst)
			}
			if c := filepath.Clean(dst); c == "/" || strings.Contains(dst, "/../") || strings.HasSuffix(dst, "/..") {
				return nil, errf("copy: bad destination %q", dst)
			}
			s.Steps = append(s.Steps, Step{Line: n, Op: op, Args: fields})
		case "run":
			if rest == "" {
				return nil, errf("run takes a command")
			}
			s.Steps = append(s.Steps, Step{Line: n, Op: op, Args: []string{rest}, Env: clone(env)})
		case "env":
			if len(fields) != 1 {
				return nil, errf("env takes one K=V (no spaces)")
			}
			k, _, ok := strings.Cut(fields[0], "=")
			if !ok || !envKey(k) {
				return nil, errf("env: %q is not K=V with K a shell variable name", fields[0])
			}
			env = setEnv(env, fields[0])
		default:
			return nil, errf("unknown directive %q (image, from, debootstrap, packages, copy, run, env)", op)
		}
		prevOp = op
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, n+1, err)
	}
	if s.Name == "" {
		return nil, fmt.Errorf("%s: empty spec: want `image NAME:TAG` and `from ...`", file)
	}
	if !sawFrom {
		return nil, fmt.Errorf("%s:%d: no from directive", file, n)
	}
	if s.From == "" && len(s.Steps) == 0 {
		return nil, fmt.Errorf("%s:%d: from scratch with no steps builds nothing", file, n)
	}
	return s, nil
}

// stripComment drops a comment, a # at the start of the line or after
// whitespace, and surrounding space.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
			break
		}
	}
	return strings.TrimSpace(strings.ReplaceAll(line, "\t", " "))
}

// checkRef accepts NAME:TAG, both parts made of letters, digits, - _ . +
// (what the store accepts as a tag name).
func checkRef(s string) error {
	name, tag, ok := strings.Cut(s, ":")
	if !ok || name == "" || tag == "" || strings.Contains(tag, ":") {
		return fmt.Errorf("%q is not NAME:TAG", s)
	}
	if !safeWord(name, "") || !safeWord(tag, "") || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("%q: names and tags are letters, digits and - _ . +", s)
	}
	return nil
}

func safeWord(s, extra string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.+"+extra, r):
		default:
			return false
		}
	}
	return true
}

func envKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	out := env[:0:0]
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek != k {
			out = append(out, e)
		}
	}
	return append(out, kv)
}

func clone(s []string) []string { return append([]string(nil), s...) }
