package ctl

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// scaleAttempts is how many times scale decides again when the cluster
// changed between its read and its write (another scale created an
// instance, a victim's record changed).
const scaleAttempts = 3

func scaleCommand() *command {
	cmd := newCommand("scale", "TEMPLATE N", "Create or destroy instances of a template until it has N",
		`Give a template (web@.service, or web@) N instances. Every instance of the
template in the cluster counts, whatever its state (scale starts no stopped
one), web@foo as much as web@3. Missing ones are created and started,
numbered from 1 and filling gaps first (with web@1, web@2 and web@5, scaling
to 5 adds web@3 and web@4), all in one transaction, each made as "start
DIR/web@3" would make it (DIR: the template's). The excess is destroyed in
one transaction, in this order (after Kubernetes' ReplicaSet ranking):
  1. unplaced instances first,
  2. then those systemd failed on their machine,
  3. then those with the most notes (soft rules their machine does not
     honour: the most doubled up),
  4. then those on the busiest machines (most units placed there),
  5. then the instances that are not numbers (web@foo, web@0, web@01), by
     name from the last, then the highest number.
Each rule decides only between instances the rules before it tie; the facts
are read once, before anything is destroyed. A TEMPLATE that is a local file
is submitted first, as start does. Waits as start does for the new instances
to be launched, or as destroy does for the victims to be gone, unless
--no-block. "flotactl plan --scale TEMPLATE N" shows what would be created,
or the victims in order with the rule that chose each, and changes nothing.`)
	cmd.minArgs, cmd.maxArgs = 2, 2
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		if err := b.check(cmd); err != nil {
			return err
		}
		a, want, err := scaleArgs(cmd, args[0], args[1])
		if err != nil {
			return err
		}
		if _, err := c.ensureUnits(ctx, []unitArg{a}, false); err != nil {
			return err // the template is nowhere, or its file is bad
		}
		d, global, err := c.scaleWrite(ctx, a, want)
		if err != nil {
			return err
		}
		return c.scaleWait(ctx, d, global, b)
	}
	return cmd
}

// scaleArgs checks scale's operands: a template, and a number of instances.
func scaleArgs(cmd *command, tmplArg, nArg string) (unitArg, int, error) {
	us, err := parseUnitArgs([]string{tmplArg})
	if err != nil {
		return unitArg{}, 0, err
	}
	a := us[0]
	if !unit.IsTemplate(a.name) {
		return unitArg{}, 0, usageErrorf(cmd, "%s: %s is not a template: give one such as %s", cmd.name, a.name, unit.Prefix(a.name)+"@."+unit.Suffix(a.name))
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 0 {
		return unitArg{}, 0, usageErrorf(cmd, "%s: invalid number of instances %q: want 0 or more", cmd.name, nArg)
	}
	return a, n, nil
}

// scaleDecision is what scale does to a template: the instances it creates
// (lowest free numbers first) or the victims it destroys (in the victim
// order), and those it keeps.
type scaleDecision struct {
	Template   string
	Have, Want int
	Create     []string
	Victims    []victim
	Kept       []instance
}

// decideScale is scale's decision, from the cluster's status alone.
func decideScale(st *registry.Status, tmpl string, want int) scaleDecision {
	ins := instancesOf(st, tmpl)
	d := scaleDecision{Template: tmpl, Have: len(ins), Want: want}
	if want > len(ins) {
		d.Create = missingInstances(tmpl, ins, want-len(ins))
	}
	d.Victims, d.Kept = rankVictims(ins, want)
	return d
}

// instancesOf gathers the instances of tmpl in the cluster with the facts
// the victim rules read.
func instancesOf(st *registry.Status, tmpl string) []instance {
	v := newView(st)
	load := map[string]int{}
	for _, p := range st.Placements {
		load[p.Machine]++
	}
	var out []instance
	for _, u := range st.Units {
		if t, ok := unit.TemplateOf(u.Name); !ok || t != tmpl {
			continue
		}
		in := instance{Name: u.Name, Notes: st.Notes[u.Name], Number: instanceNumber(unit.InstanceOf(u.Name))}
		for _, p := range v.placements[u.Name] { // sorted by machine: the lower ID wins a tie
			in.Placed = true
			if load[p.Machine] > in.Load {
				in.Machine, in.Load = p.Machine, load[p.Machine]
			}
			if s, ok := v.state(u.Name, p.Machine); ok && s.Active == "failed" && !in.Failed {
				in.Failed, in.Failure = true, p.Machine
			}
		}
		out = append(out, in)
	}
	return out
}

// missingInstances names n new instances of tmpl: the lowest numbers from 1
// that no instance has.
func missingInstances(tmpl string, have []instance, n int) []string {
	taken := map[int]bool{}
	for _, in := range have {
		taken[in.Number] = true
	}
	var out []string
	for i := 1; len(out) < n; i++ {
		if !taken[i] {
			out = append(out, unit.Prefix(tmpl)+"@"+strconv.Itoa(i)+"."+unit.Suffix(tmpl))
		}
	}
	return out
}

// scaleWrite decides and writes: the new instances created launched, or the
// victims destroyed, each in one transaction (up to the registry's limit).
// When the cluster changed under it, it decides again from a new read. It
// returns what it did and which new instances are global.
func (c *cli) scaleWrite(ctx context.Context, a unitArg, want int) (scaleDecision, map[string]bool, error) {
	for attempt := 1; ; attempt++ {
		st, err := c.status(ctx)
		if err != nil {
			return scaleDecision{}, nil, err
		}
		d := decideScale(st, a.name, want)
		global, err := c.scaleApply(ctx, a, st, d)
		if attempt < scaleAttempts && (errors.Is(err, registry.ErrExists) || errors.Is(err, registry.ErrStale) || errors.Is(err, registry.ErrNotFound)) {
			c.log.Debug("the cluster changed under scale, deciding again", "err", err)
			continue
		}
		if err == nil {
			c.sayScale(st, d)
		}
		return d, global, err
	}
}

// sayScale notes on stderr what scale did, and why each victim went.
func (c *cli) sayScale(st *registry.Status, d scaleDecision) {
	if d.Have == d.Want {
		fmt.Fprintf(c.errOut, "%s has %d %s already\n", d.Template, d.Have, plural(d.Have, "instance"))
		return
	}
	fmt.Fprintf(c.errOut, "Scaled %s from %d to %d instances\n", d.Template, d.Have, d.Want)
	v := newView(st)
	legend := func(m string) string { return v.legend(m, false) }
	for _, vi := range d.Victims {
		fmt.Fprintf(c.errOut, "Destroying %s (%s: %s)\n", vi.Name, vi.Rule, vi.why(legend))
	}
}

// scaleApply writes one decision.
func (c *cli) scaleApply(ctx context.Context, a unitArg, st *registry.Status, d scaleDecision) (map[string]bool, error) {
	switch {
	case len(d.Create) > 0:
		r := &resolver{c: c, units: map[string]registry.Unit{}, files: map[string]*unit.File{}, texts: map[string][]byte{}}
		for _, u := range st.Units {
			r.units[u.Name] = u
		}
		files := make([]*unit.File, 0, len(d.Create))
		global := map[string]bool{}
		for _, n := range d.Create {
			// As "start DIR/web@3" would: its own file beside the
			// template if it has one, else the template in the cluster.
			f, err := r.newFile(ctx, unitArg{arg: filepath.Join(filepath.Dir(a.arg), n), name: n})
			if err != nil {
				return nil, err
			}
			for _, w := range f.Warnings {
				fmt.Fprintf(c.errOut, "WARNING: unit %s: %s\n", f.Name, w)
			}
			files = append(files, f)
			global[n] = f.Fleet.Global
		}
		return global, do(ctx, c, "create units", func(ctx context.Context) error {
			return c.reg.CreateUnits(ctx, files, registry.StateLaunched)
		})
	case len(d.Victims) > 0:
		return nil, chunks(victimNames(d.Victims), c.reg.TxnOps()/2, func(part []string) error {
			return do(ctx, c, "destroy units", func(ctx context.Context) error { return c.reg.DestroyUnits(ctx, part) })
		})
	}
	return nil, nil
}

func victimNames(vs []victim) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

// scaleWait says what scale did and, unless --no-block, waits as start does
// for the new instances (global ones are not waited for) or as destroy does
// for the victims.
func (c *cli) scaleWait(ctx context.Context, d scaleDecision, global map[string]bool, b blockFlags) error {
	if len(d.Victims) > 0 {
		ns := victimNames(d.Victims)
		destroyed := func(_ *view, name, _ string) { fmt.Fprintf(c.out, "Destroyed %s\n", name) }
		if b.noBlock {
			for _, n := range ns {
				destroyed(nil, n, "")
			}
			return nil
		}
		return c.waitFor(ctx, waitItems(ns, nil), registry.StateInactive, b.attempts, destroyed)
	}
	var plain []string
	for _, n := range d.Create {
		if global[n] {
			fmt.Fprintf(c.out, "Triggered global unit %s start\n", n)
			continue
		}
		plain = append(plain, n)
	}
	if b.noBlock {
		for _, n := range plain {
			fmt.Fprintf(c.out, "Triggered unit %s start\n", n)
		}
		return nil
	}
	return c.waitFor(ctx, waitItems(plain, nil), registry.StateLaunched, b.attempts, c.reachedMessage(registry.StateLaunched))
}

// keptNames lists the instances a decision keeps, by name.
func keptNames(d scaleDecision) string {
	ns := make([]string, len(d.Kept))
	for i, in := range d.Kept {
		ns[i] = in.Name
	}
	slices.Sort(ns)
	return strings.Join(ns, " ")
}
