package ctl

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/flota-dev/flota/registry"
)

func labelCommand() *command {
	cmd := newCommand("label", "MACHINE [KEY=VALUE|-KEY]...", "Set or remove metadata of a machine, without restarting it",
		`Change a machine's metadata while it runs: KEY=VALUE sets KEY, -KEY removes
it, e.g. flotactl label 1a2b3c4d rack=r4 -zone. MACHINE is a machine's ID or
a prefix of exactly one (the 8 characters list-machines shows).

These labels are kept in etcd beside the metadata the machine's flags give
(flotad --metadata), not under the machine's lease: they survive flotad
restarts, and wait for a machine that is away. Where they meet the flags the
labels win, so -zone removes a zone the flags give too. list-machines shows
the result in METADATA, and the labels alone in LABELS
(--fields=machine,metadata,labels).

The Engine places by the result at once: units whose MachineMetadata= the
machine no longer satisfies move elsewhere (or wait, saying why), units that
still match stay where they run, and units that now match may come.

Keys and values follow the rules of flotad --metadata: a key is not empty,
neither holds ',' nor blanks at an end, and a key holds no '='. KEY= sets an
empty value, as --metadata=KEY= does (MachineMetadata="KEY=*" matches it);
a key given twice is refused. A key named like a flag (-h) is removed after
--: flotactl label MACHINE -- -h.

--reset drops every label of the machine first, so that only its flags
speak, and then applies the changes given. With no change and no --reset,
label prints the machine's labels. Either way the output is the labels the
machine has now, one a line sorted by key: KEY=VALUE for a key set, -KEY for
a key removed.`)
	cmd.minArgs = 1
	cmd.dashOperands = true
	reset := cmd.flags.Bool("reset", false, "drop every label of the machine first: back to the metadata its flags give")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		if args[0] == "" {
			return usageErrorf(cmd, "label: empty MACHINE")
		}
		ch, err := parseLabelArgs(cmd, args[1:])
		if err != nil {
			return err
		}
		ch.Reset = *reset
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		id, err := resolveMachine(args[0], st.Machines, st.Labels)
		if err != nil {
			return err
		}
		l := st.Labels[id]
		if ch.Reset || len(ch.Set) > 0 || len(ch.Remove) > 0 {
			l, err = request(ctx, c, "set labels of "+id, func(ctx context.Context) (registry.Labels, error) {
				return c.reg.SetLabels(ctx, id, ch)
			})
			if err != nil {
				return err
			}
		}
		for _, line := range labelLines(l) {
			fmt.Fprintln(c.out, line)
		}
		return nil
	}
	return cmd
}

// parseLabelArgs reads KEY=VALUE and -KEY words, each checked by the rule
// flotad's --metadata follows (registry.CheckMetadata), before anything is
// read or written.
func parseLabelArgs(cmd *command, words []string) (registry.LabelChange, error) {
	ch := registry.LabelChange{Set: map[string]string{}}
	seen := map[string]bool{}
	for _, w := range words {
		var key string
		var err error
		if k, ok := strings.CutPrefix(w, "-"); ok {
			key, err = k, registry.CheckMetadata(k, "")
			ch.Remove = append(ch.Remove, k)
		} else if k, v, ok := strings.Cut(w, "="); ok {
			key, err = k, registry.CheckMetadata(k, v)
			ch.Set[k] = v
		} else {
			return ch, usageErrorf(cmd, "label: %q: want KEY=VALUE to set a key or -KEY to remove it", w)
		}
		if err != nil {
			return ch, usageErrorf(cmd, "label: %q: %v", w, err)
		}
		if seen[key] {
			return ch, usageErrorf(cmd, "label: key %q given twice", key)
		}
		seen[key] = true
	}
	return ch, nil
}

// labelLines shows labels one a line sorted by key: KEY=VALUE, or -KEY.
func labelLines(l registry.Labels) []string {
	byKey := map[string]string{}
	for k, v := range l.Set {
		byKey[k] = k + "=" + v
	}
	for _, k := range l.Removed {
		byKey[k] = "-" + k
	}
	out := make([]string, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[k])
	}
	return out
}
