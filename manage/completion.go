package manage

import (
	"errors"
	"fmt"
	"strings"
)

// words are what docker-credential-regcred completes.
var (
	verbs           = "store get erase list version configure import doctor ls completion"
	completionFlags = map[string]string{
		"configure":  "--tools --registries --undo",
		"import":     "--from-config --from-helper --keep",
		"doctor":     "--fix",
		"completion": "bash zsh fish",
	}
)

// completion prints a completion script for a shell.
func (r *runner) completion(args []string) error {
	fs := flags("completion")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 1 {
		return errors.New("give one shell: bash, zsh or fish")
	}
	var b strings.Builder
	switch args[0] {
	case "bash", "zsh":
		if args[0] == "zsh" {
			b.WriteString("autoload -U +X bashcompinit && bashcompinit\n")
		}
		b.WriteString("_docker_credential_regcred() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n")
		b.WriteString("\tif [ \"$COMP_CWORD\" -eq 1 ]; then COMPREPLY=($(compgen -W \"" + verbs + "\" -- \"$cur\")); return; fi\n")
		b.WriteString("\tcase ${COMP_WORDS[1]} in\n")
		for _, cmd := range sortedKeys(completionFlags) {
			fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", cmd, completionFlags[cmd])
		}
		b.WriteString("\tesac\n}\ncomplete -o default -F _docker_credential_regcred docker-credential-regcred\n")
	case "fish":
		fmt.Fprintf(&b, "complete -c docker-credential-regcred -f -n __fish_use_subcommand -a '%s'\n", verbs)
		for _, cmd := range sortedKeys(completionFlags) {
			for _, f := range strings.Fields(completionFlags[cmd]) {
				if opt, ok := strings.CutPrefix(f, "--"); ok {
					fmt.Fprintf(&b, "complete -c docker-credential-regcred -n '__fish_seen_subcommand_from %s' -l %s\n", cmd, opt)
				} else {
					fmt.Fprintf(&b, "complete -c docker-credential-regcred -f -n '__fish_seen_subcommand_from %s' -a %s\n", cmd, f)
				}
			}
		}
	default:
		return fmt.Errorf("unknown shell %q: give bash, zsh or fish", args[0])
	}
	_, err := fmt.Fprint(r.stdout, b.String())
	return err
}
