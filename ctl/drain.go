package ctl

import (
	"context"
	"fmt"
	"time"

	"github.com/flota-dev/flota/registry"
)

func drainCommand() *command {
	cmd := newCommand("drain", "MACHINE", "Move every unit off a machine",
		`The machine takes no new unit, and the engine moves its units elsewhere,
--max-parallel at a time, in name order: a unit that may run twice (it does
not stop when cut off from etcd: OnDisconnect=keep, or auto without
Conflicts=) starts on its new machine first and leaves this one once it is
active, so it never stops; the others stop here first and start elsewhere
once stopped, never two copies at once. A unit no other machine takes keeps
running here and is named with why; at the --deadline (at once with
--force) every unit left is stopped and moved, with somewhere to go or not.
Global units stay, unless --include-global. Waits until the machine is
drained, saying what is left as it changes, unless --no-block. The drain
lasts, through restarts, until undrain. MACHINE is its ID or a prefix of it.
A deadline is measured by the engine's clock from the drain's start here.`)
	cmd.minArgs, cmd.maxArgs = 1, 1
	deadline := cmd.flags.Duration("deadline", 0, "stop and move what is left after this long (0: never)")
	force := cmd.flags.Bool("force", false, "stop and move every unit at once")
	includeGlobal := cmd.flags.Bool("include-global", false, "take global units off the machine too")
	parallel := cmd.flags.Int("max-parallel", 1, "units moving at once")
	noBlock := cmd.flags.Bool("no-block", false, "do not wait until the machine is drained")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		switch {
		case *parallel < 1:
			return usageErrorf(cmd, "--max-parallel %d: want 1 or more", *parallel)
		case *deadline < 0:
			return usageErrorf(cmd, "--deadline %s: want a duration of 0 or more", *deadline)
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		id, err := resolveMachine(args[0], st.Machines, nil)
		if err != nil {
			return err
		}
		d := registry.Drain{Machine: id, Since: time.Now(), IncludeGlobal: *includeGlobal, MaxParallel: *parallel}
		switch {
		case *force:
			d.Deadline = d.Since
		case *deadline > 0:
			d.Deadline = d.Since.Add(*deadline)
		}
		if err := do(ctx, c, "drain "+id, func(ctx context.Context) error { return c.reg.SetDrain(ctx, d) }); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "Draining machine %s\n", newView(st).legend(id, false))
		if *noBlock {
			return nil
		}
		var said string
		stuck := map[string]string{} // unit -> why, as last said
		return c.follow(ctx, 0, func(st *registry.Status) bool {
			p := drainProgress(st, id, *includeGlobal)
			if line := p.String(); line != said {
				said = line
				fmt.Fprintln(c.out, line)
			}
			for _, s := range p.Stuck {
				if why := s.Note.String(); stuck[s.Unit] != why {
					stuck[s.Unit] = why
					fmt.Fprintf(c.errOut, "Unit %s %s\n", s.Unit, why)
				}
			}
			return p.Done()
		}, nil)
	}
	return cmd
}

// progress is what is left of a drain, with the machine's legend.
type progress struct {
	legend string
	registry.DrainProgress
}

func (p progress) String() string {
	if p.Done() {
		return "Machine " + p.legend + " drained"
	}
	return fmt.Sprintf("%s: units to move %d, moving %d, stopping %d, with nowhere to go %d",
		p.legend, p.Left, p.Moving, p.Stopping, len(p.Stuck))
}

// drainProgress reads what is left of the drain of machine id in st.
func drainProgress(st *registry.Status, id string, includeGlobal bool) progress {
	return progress{legend: newView(st).legend(id, false), DrainProgress: st.DrainOf(id, includeGlobal)}
}
