package ctl

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

func completionCommand() *command {
	cmd := newCommand("completion", "bash|zsh", "Print a shell completion script",
		`Print a script that completes flotactl's commands, their options, and their
operands: the units in the cluster and unit files here for the commands that
take units (cat, destroy, journal, load, plan, restart, scale, start, status,
stop, submit, unload), the machines for drain, undrain and label, the
commands for help. Units and machines are asked of the cluster as flotactl
finds it (FLOTACTL_ENDPOINT and the rest of the environment). Load it with

    source <(flotactl completion bash)     # in ~/.bashrc
    source <(flotactl completion zsh)      # in ~/.zshrc

The zsh script runs the bash one under zsh's bashcompinit.`)
	cmd.minArgs, cmd.maxArgs = 1, 1
	cmd.offline = true
	cmd.run = func(_ context.Context, c *cli, args []string) error {
		switch args[0] {
		case "bash":
			return c.writeCompletion(c.out, false)
		case "zsh":
			return c.writeCompletion(c.out, true)
		}
		return usageErrorf(cmd, "completion: shell %q: want bash or zsh", args[0])
	}
	return cmd
}

// operandKind is what a command's operands are, from its synopsis.
func operandKind(cmd *command) string {
	switch {
	case cmd.name == "help":
		return "commands"
	case cmd.name == "completion":
		return "shells"
	case strings.HasPrefix(cmd.args, "UNIT") || strings.HasPrefix(cmd.args, "TEMPLATE"):
		return "units"
	case strings.HasPrefix(cmd.args, "MACHINE"):
		return "machines"
	}
	return ""
}

// flagWords are a flag set's options as typed: --name, and -x for a
// shorthand; valued are those that take a value.
func flagWords(fs *pflag.FlagSet) (words, valued []string) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		names := []string{"--" + f.Name}
		if f.Shorthand != "" {
			names = append(names, "-"+f.Shorthand)
		}
		words = append(words, names...)
		if f.NoOptDefVal == "" {
			valued = append(valued, names...)
		}
	})
	return words, valued
}

// writeCompletion writes the bash completion function, from the command
// table (so it never offers what flotactl does not take), wrapped for zsh
// when zsh.
func (c *cli) writeCompletion(w io.Writer, zsh bool) error {
	var b strings.Builder
	if zsh {
		b.WriteString("#compdef flotactl\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	globals, valued := flagWords(c.global)
	var names []string
	for _, cmd := range c.cmds {
		names = append(names, cmd.name)
	}
	b.WriteString("# flotactl completion, written by flotactl completion.\n_flotactl() {\n")
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd= i\n")
	fmt.Fprintf(&b, "\tlocal commands=%q globals=%q\n", strings.Join(names, " "), strings.Join(globals, " "))
	// The command is the first word that is neither an option nor the value
	// of a global option that takes one.
	b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tcase ${COMP_WORDS[i]} in\n")
	if len(valued) > 0 {
		fmt.Fprintf(&b, "\t\t%s) ((i++)) ;;\n", strings.Join(valued, "|"))
	}
	b.WriteString("\t\t-*) ;;\n\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n\t\tesac\n\tdone\n")
	b.WriteString("\tif [[ -z $cmd ]]; then\n\t\tif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$globals\" -- \"$cur\")); else COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\")); fi\n\t\treturn\n\tfi\n")
	b.WriteString("\tlocal flags= operands=\n\tcase $cmd in\n")
	for _, cmd := range c.cmds {
		words, _ := flagWords(cmd.flags)
		fmt.Fprintf(&b, "\t%s) flags=%q operands=%s ;;\n", cmd.name, strings.Join(words, " "), operandKind(cmd))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\")); return; fi\n")
	b.WriteString("\tcase $operands in\n")
	b.WriteString("\tcommands) COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\")) ;;\n")
	b.WriteString("\tshells) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n")
	b.WriteString("\tunits) COMPREPLY=($(compgen -W \"$(flotactl list-unit-files --no-legend --fields=unit 2>/dev/null)\" -- \"$cur\") $(compgen -f -X '!*.*' -- \"$cur\")) ;;\n")
	b.WriteString("\tmachines) COMPREPLY=($(compgen -W \"$(flotactl list-machines --no-legend --full --fields=machine 2>/dev/null)\" -- \"$cur\")) ;;\n")
	b.WriteString("\tesac\n}\ncomplete -F _flotactl flotactl\n")
	_, err := io.WriteString(w, b.String())
	return err
}
